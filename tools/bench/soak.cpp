// soak: K connections over T topics, a publisher at a steady rate, and continuous churn of
// the non-stable part: each churn cycle ends one connection (clean close handshake, RST, or
// "silent": stop reading and never answer pings until the server's heartbeat drops it) and
// opens a replacement. Samples server RSS / fds / /stats connections every few seconds,
// tracks whether any stable connection was dropped or missed a message, and at the end
// lets the server settle and compares baseline with final. With --namespace the topics live
// in a namespace of the node (history, presence, join/leave there), --join-leave asks for
// join/leave events and --recover resubscribes a churned slot with `since` its last offset,
// so the hub's history and presence state churn with the connections.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>

#include "modes.hpp"
#include "soak_stream.hpp"

namespace bench {
namespace {

constexpr uint64_t kPub = ~uint64_t{0};
constexpr uint64_t kDetached = uint64_t{1} << 62;  // user tag of a churned-out connection
enum Mix { kClean = 0, kRst = 1, kSilent = 2 };

struct Soak final : Handler {
  Loop loop;
  Common common;
  size_t k = 0, topics = 0, size = 0, n_stable = 0;
  double rate = 0, churn_per_min = 0, churn_per_s = 0;
  std::string ns;  // topics are "NS:soak-i" when set, else "soak-i"
  bool join_leave = false, recover = false;
  int weights[3] = {40, 40, 20};
  long credits[3] = {0, 0, 0};
  uint64_t silent_max_ns = 0;
  std::string stats_url, metrics_url;
  std::vector<in_addr> srcs;
  size_t src_next = 0;

  struct Slot {
    Conn* c = nullptr;
    bool stable = false, open = false, warm = false, broken = false, any = false;
    uint64_t count = 0, hi = 0;
    uint64_t retry_at = 0;  // reconnect wanted at (0 = not waiting)
    StreamPos pos;  // in the topic's history, kept across the slot's reconnects
  };
  std::vector<Slot> slots;
  std::deque<size_t> churn_order;  // open churn slots, oldest first
  std::vector<uint64_t> published;  // measured publishes per topic
  std::unordered_map<Conn*, uint64_t> silent_since;
  std::vector<size_t> retry;  // slots to reconnect once their retry_at passes
  Conn* pub = nullptr;
  bool pub_open = false, pub_lost = false, measuring = false, closing = false;

  size_t connecting = 0, open_now = 0, warm_stable = 0;
  uint64_t connect_errors = 0, cycles = 0, mix_count[3] = {0, 0, 0};
  uint64_t live_dropped = 0, churn_dropped = 0, clean_ok = 0, clean_noreply = 0;
  uint64_t silent_dropped = 0, silent_timeout = 0, silent_drop_min = ~uint64_t{0}, silent_drop_max = 0;
  uint64_t deliveries = 0, reordered = 0, sent = 0;
  StreamCounters stream;
  uint64_t t0 = 0;
  Histogram hist;
  std::string buf;
  FailureLog fails;

  void start_conn(size_t i) {
    const in_addr* src = srcs.empty() ? nullptr : &srcs[src_next++ % srcs.size()];
    Slot& s = slots[i];
    s.open = s.any = false;
    s.count = s.hi = 0;
    s.retry_at = 0;
    s.c = loop.connect(common.ep, src, this, i);
    if (s.c) {
      ++connecting;
    } else {
      ++connect_errors;
      fails.add("soak", End::ConnectFailed);
      s.retry_at = now_ns() + 1'000'000'000ull;
      retry.push_back(i);
    }
  }

  void on_open(Conn& c) override {
    if (c.user == kPub) {
      pub_open = true;
      return;
    }
    --connecting;
    Slot& s = slots[c.user];
    s.open = true;
    ++open_now;
    loop.send_text(c, soak_subscribe(topic(c.user % topics), join_leave, recover, s.pos));
    if (!s.stable) churn_order.push_back(c.user);
  }

  void on_end(Conn& c, End why) override {
    if (c.user == kPub) {
      if (!closing) pub_lost = true;
      pub_open = false;
      return;
    }
    if (c.user & kDetached) {
      int kind = static_cast<int>(c.user & 3);
      if (kind == kSilent) {
        uint64_t d = now_ns() - silent_since[&c];
        silent_since.erase(&c);
        if (why == End::ServerEof) {
          ++silent_dropped;
          silent_drop_min = std::min(silent_drop_min, d);
          silent_drop_max = std::max(silent_drop_max, d);
        } else if (!closing) {
          ++silent_timeout;
        }
      } else if (kind == kClean) {
        if (c.close_frame_seen()) {
          ++clean_ok;
        } else {
          ++clean_noreply;
        }
      }
      loop.release(&c);
      return;
    }
    Slot& s = slots[c.user];
    if (!s.open) {
      --connecting;
      ++connect_errors;
      fails.add("soak", why);
    } else {
      s.open = false;
      --open_now;
      if (!closing) {
        if (s.stable) {
          ++live_dropped;
          s.broken = true;
          fmt::print(stderr, "soak: STABLE connection {} dropped ({})\n", c.user, end_name(why));
        } else {
          ++churn_dropped;
        }
      }
    }
    s.c = nullptr;
    loop.release(&c);
    if (!closing) {
      s.retry_at = now_ns() + 1'000'000'000ull;
      retry.push_back(c.user);
    }
  }

  std::string topic(size_t t) const {
    return (ns.empty() ? "soak-" : ns + ":soak-") + std::to_string(t);
  }

  void on_text(Conn& c, const char* p, size_t n, uint64_t rx) override {
    if (c.user == kPub || (c.user & kDetached)) return;
    uint64_t seq = 0, ts = 0;
    char kind = parse_data(p, n, seq, ts);
    Slot& s = slots[c.user];
    if (kind == 0) {
      stream.on_control(s.pos, p, n);
      return;
    }
    if (stream.on_message(s.pos, p, n)) return;  // a recovery's replay: not a live delivery
    if (kind == 'S') {
      ++deliveries;
      hist.record(rx > ts ? rx - ts : 0);
      if (s.any && seq < s.hi) ++reordered;
      else s.hi = seq, s.any = true;
      ++s.count;
    } else if (kind == 'W' && !s.warm) {
      s.warm = true;
      if (s.stable) ++warm_stable;
    }
  }

  int pick_mix() {
    int best = 0;
    long sum = weights[0] + weights[1] + weights[2];
    for (int i = 0; i < 3; ++i) credits[i] += weights[i];
    for (int i = 1; i < 3; ++i)
      if (credits[i] > credits[best]) best = i;
    credits[best] -= sum;
    return best;
  }

  // Churn at the wanted rate, catching up (in bounded bursts) when the loop was late.
  void churn_due() {
    if (!measuring || churn_per_s <= 0 || n_stable >= k) return;
    auto due = static_cast<uint64_t>(secs(now_ns() - t0) * churn_per_s);
    for (int burst = 0; cycles < due && burst < 64; ++burst)
      if (!churn_one()) break;
  }

  bool churn_one() {
    while (!churn_order.empty()) {
      size_t i = churn_order.front();
      churn_order.pop_front();
      Slot& s = slots[i];
      if (!s.open || !s.c || s.c->state() != State::Open) continue;  // already gone
      Conn* c = s.c;
      int kind = pick_mix();
      ++mix_count[kind];
      ++cycles;
      s.c = nullptr;
      s.open = false;
      --open_now;
      c->user = kDetached | static_cast<uint64_t>(kind);
      if (kind == kClean) {
        loop.close_clean(*c);
      } else if (kind == kRst) {
        loop.close_reset(*c);  // ends (and is released) right here
      } else {
        silent_since[c] = now_ns();
        loop.go_silent(*c, silent_max_ns);
      }
      start_conn(i);
      return true;
    }
    return false;
  }

  void publish_due() {
    if (!measuring || !pub_open) return;
    uint64_t now = now_ns();
    uint64_t due = static_cast<uint64_t>(secs(now - t0) * rate) + 1;
    while (sent < due) {
      size_t t = sent % topics;
      make_publish(buf, topic(t), 'S', sent, now, size);
      loop.send_text(*pub, buf);
      ++published[t];
      ++sent;
    }
  }

  Sample sample(uint64_t since) {
    Sample r = server_sample(common.pid, stats_url, metrics_url);
    r.t = secs(now_ns() - since);
    r.client_fds = loop.live();
    r.silent = silent_since.size();
    r.deliveries = deliveries;
    r.cycles = cycles;
    return r;
  }

  uint64_t stable_lost() const {
    uint64_t l = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      const Slot& s = slots[i];
      if (s.stable && !s.broken) {
        uint64_t exp = published[i % topics];
        l += exp > s.count ? exp - s.count : 0;
      }
    }
    return l;
  }

  int run(Args& args, JsonLine& out) {
    std::string err;
    double duration = args.real("duration", 60);
    double settle = args.real("settle", 30);
    if (!common.load(args, duration + settle + 120, out, err)) {
      fmt::print(stderr, "soak: {}\n", err);
      return 2;
    }
    k = static_cast<size_t>(args.num("conns", 1000));
    topics = std::max<size_t>(1, static_cast<size_t>(args.num("topics", 20)));
    rate = args.real("rate", 100);
    churn_per_min = args.real("churn-per-min", 20);
    double churn_rate = args.real("churn-rate", 0);  // lifetimes per second; wins over churn-per-min
    ns = args.str("namespace", "");
    join_leave = args.has("join-leave");
    args.str("join-leave", "");  // flags: read, so that they count as known
    recover = args.has("recover");
    args.str("recover", "");
    double stable_frac = args.real("stable", 0.5);
    std::string mix = args.str("mix", "40:40:20");
    silent_max_ns = from_secs(args.real("silent-max", 90));
    double sample_every = args.real("sample-every", 5);
    stats_url = args.str("stats-url", "");
    auto st = stats_url.rfind("/stats");
    metrics_url = args.str("metrics-url", st == std::string::npos ? "" : stats_url.substr(0, st) + "/metrics");
    size = static_cast<size_t>(args.num("size", 64));
    size_t concurrency = static_cast<size_t>(args.num("concurrency", 200));
    srcs = source_addrs(k * 2, args.num("src-addrs", -1));  // churn leaves TIME_WAITs behind
    loop.connect_timeout_ns = from_secs(args.real("connect-timeout", 10));
    loop.coalesce_ns = from_secs(common.coalesce_us / 1e6);
    if (!args.check_unused("soak")) return 2;
    if (std::sscanf(mix.c_str(), "%d:%d:%d", &weights[0], &weights[1], &weights[2]) != 3 || weights[0] < 0 ||
        weights[1] < 0 || weights[2] < 0 || weights[0] + weights[1] + weights[2] == 0 || k == 0 || rate <= 0 ||
        churn_rate < 0) {
      fmt::print(stderr, "soak: need --conns>0, --rate>0, --churn-rate>=0 and --mix=clean:rst:silent weights\n");
      return 2;
    }
    n_stable = static_cast<size_t>(static_cast<double>(k) * std::clamp(stable_frac, 0.0, 1.0));
    out.add("conns", k).add("topics", topics).add("duration_s", duration).add("rate", rate);
    churn_per_s = churn_rate > 0 ? churn_rate : churn_per_min / 100.0 * static_cast<double>(k) / 60.0;
    out.add("churn_per_min_pct", churn_rate > 0 ? 0.0 : churn_per_min).add("churn_per_s", churn_per_s);
    out.add("stable", n_stable).add("mix", mix).add("namespace", ns).add("join_leave", join_leave);
    out.add("recover", recover).add("metrics_url", metrics_url);
    out.add("silent_max_s", secs(silent_max_ns)).add("stats_url", stats_url).add("src_addrs", srcs.size());
    slots.resize(k);
    published.assign(topics, 0);
    for (size_t i = 0; i < k; ++i) slots[i].stable = i < n_stable;

    uint64_t tb = now_ns();
    Sample base = sample(tb);
    bool timed_out = false;
    // Connect everything, then warm up until every stable connection receives.
    Progress prog;
    size_t started = 0;
    uint64_t tc = now_ns();
    pub = loop.connect(common.ep, nullptr, this, kPub);
    while (started < k || connecting > 0 || (pub && !pub_open && pub->state() != State::Closed)) {
      while (connecting < concurrency && started < k) start_conn(started++);
      uint64_t now = now_ns();
      if (common.expired(now)) {
        timed_out = !g_stop;
        break;
      }
      if (prog.due(now)) fmt::print(stderr, "soak: connecting {}/{} open\n", open_now, k);
      loop.poll(10);
    }
    double connect_s = secs(now_ns() - tc);
    uint64_t tw = now_ns(), last_w = 0, wseq = 0, gap = 10'000'000ull;
    bool warm_ok = false;
    while (pub_open && !timed_out) {
      uint64_t now = now_ns();
      if (warm_stable >= n_stable) {
        warm_ok = true;
        break;
      }
      if (common.expired(now) || now - tw > 15'000'000'000ull) break;
      if (now - last_w > gap) {
        for (size_t t = 0; t < topics; ++t) {
          make_publish(buf, topic(t), 'W', wseq, now, size);
          loop.send_text(*pub, buf);
        }
        ++wseq;
        last_w = now;
        gap = std::min<uint64_t>(gap * 2, 320'000'000ull);
      }
      loop.poll(5);
    }
    out.add("connect_s", connect_s).add("connected", open_now).add("warmup_ok", warm_ok);
    if (!pub_open) {
      common.finish(out.add("ok", false).add("error", "publisher connection failed"), timed_out);
      return 1;
    }
    Sample loaded = sample(tb);

    // Steady state: publish, churn, sample.
    std::vector<Sample> samples;
    CpuMeter cpu;
    cpu.start(common.pid);
    measuring = true;
    t0 = now_ns();
    Timer* tick = loop.add_timer(static_cast<uint64_t>(1e9 / rate), [this] { publish_due(); });
    Timer* churn = nullptr;
    if (churn_per_s > 0 && n_stable < k)
      churn = loop.add_timer(std::max<uint64_t>(1'000'000, static_cast<uint64_t>(1e9 / churn_per_s)), [this] { churn_due(); });
    uint64_t next_sample = t0 + from_secs(sample_every);
    while (!timed_out) {
      uint64_t now = now_ns();
      if (now - t0 >= from_secs(duration) || g_stop) break;
      if (common.expired(now)) {
        timed_out = true;
        break;
      }
      if (now >= next_sample) {
        samples.push_back(sample(t0));
        const Sample& s = samples.back();
        fmt::print(stderr,
                   "soak: t={:.0f}s rss={}kB fds={} server_conns={} open={} silent={} cycles={} deliveries={} "
                   "stable_dropped={} mailbox={} history={} gaps={}\n",
                   s.t, s.rss_kb, s.fds, s.server_conns, open_now, s.silent, s.cycles, s.deliveries, live_dropped,
                   s.hub_mailbox, s.history_messages, stream.offset_gaps);
        next_sample = now + from_secs(sample_every);
      }
      if (!retry.empty()) {  // reconnect slots that failed or were dropped, after 1 s
        std::vector<size_t> todo;
        todo.swap(retry);
        for (size_t i : todo) {
          if (slots[i].c) continue;
          if (slots[i].retry_at <= now) start_conn(i);
          else retry.push_back(i);
        }
      }
      loop.poll(10);
      publish_due();
      churn_due();
    }
    loop.remove_timer(tick);
    if (churn) loop.remove_timer(churn);
    measuring = false;
    // Drain: stable connections should get every message published to their topic.
    uint64_t td = now_ns();
    while (stable_lost() > 0 && now_ns() - td < 5'000'000'000ull && !common.expired(now_ns())) loop.poll(10);
    double cpu_pct = cpu.pct(), srv_cpu = cpu.server_pct(), mach = cpu.machine_pct();
    uint64_t lost = stable_lost();
    size_t silent_pending = silent_since.size();

    // Close everything, then let the server settle.
    closing = true;
    for (auto& s : slots) {
      if (s.c && s.c->state() == State::Open) {
        loop.close_clean(*s.c);
      } else if (s.c && s.c->state() != State::Closing) {
        loop.abort(*s.c);  // still connecting
      }
    }
    std::vector<Conn*> silents;
    for (auto& kv : silent_since) silents.push_back(kv.first);
    for (Conn* c : silents) loop.abort(*c);
    if (pub && pub->state() == State::Open) loop.close_clean(*pub);
    uint64_t tcl = now_ns();
    while (loop.live() > 0 && now_ns() - tcl < loop.close_timeout_ns + 1'000'000'000ull) loop.poll(10);
    uint64_t ts = now_ns();
    Sample fin = sample(tb);
    while (secs(now_ns() - ts) < settle && !g_stop) {
      bool conns_ok = base.server_conns < 0 || fin.server_conns == base.server_conns;
      bool fds_ok = base.fds < 0 || fin.fds <= base.fds;
      if (conns_ok && fds_ok) break;
      for (int i = 0; i < 10; ++i) loop.poll(100);
      fin = sample(tb);
    }
    double settle_s = secs(now_ns() - ts);

    std::string arr = "[";
    for (size_t i = 0; i < samples.size(); ++i) arr += (i ? "," : "") + sample_json(samples[i]);
    arr += "]";
    long long growth = samples.empty() || loaded.rss_kb < 0 ? 0 : samples.back().rss_kb - loaded.rss_kb;
    out.add("cycles", cycles)
        .add("cycles_clean", mix_count[kClean])
        .add("cycles_rst", mix_count[kRst])
        .add("cycles_silent", mix_count[kSilent])
        .add("clean_close_answered", clean_ok)
        .add("clean_close_unanswered", clean_noreply)
        .add("silent_dropped_by_server", silent_dropped)
        .add("silent_drop_min_s", silent_dropped ? secs(silent_drop_min) : -1.0)
        .add("silent_drop_max_s", silent_dropped ? secs(silent_drop_max) : -1.0)
        .add("silent_timed_out", silent_timeout)
        .add("silent_pending_at_end", silent_pending)
        .add("connect_errors", connect_errors)
        .raw("connect_error_kinds", fails.json())
        .add("live_dropped", live_dropped)
        .add("stable_lost", lost)
        .add("churn_conns_dropped", churn_dropped)
        .add("publisher_lost", pub_lost)
        .add("sent", sent)
        .add("deliveries", deliveries)
        .add("reordered", reordered);
    stream.add_json(out);
    out.latency("lat", hist)
        .add("pings_answered", loop.pings)
        .add("tool_cpu_pct_measure", cpu_pct)
        .add("server_cpu_pct_measure", srv_cpu)
        .add("machine_cpu_pct_measure", mach)
        .add("other_cpu_pct_measure", mach >= 0 && srv_cpu >= 0 ? mach - srv_cpu - cpu_pct : -1.0)
        .raw("baseline", sample_json(base))
        .raw("loaded", sample_json(loaded))
        .raw("final", sample_json(fin))
        .add("settle_s", settle_s)
        .add("rss_growth_during_soak_kb", growth)
        .raw("samples", arr);
    bool ok = !timed_out && live_dropped == 0 && lost == 0 && !pub_lost && warm_ok && stream.offset_gaps == 0 &&
              stream.errors == 0;
    out.add("ok", ok);
    common.finish(out, timed_out);
    return ok ? 0 : 1;
  }
};

}  // namespace

int run_soak(Args& args, JsonLine& out) {
  auto m = std::make_unique<Soak>();
  return m->run(args, out);
}

}  // namespace bench
