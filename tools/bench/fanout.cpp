// fanout: N subscribers on one topic, one publisher sending M messages of S bytes, at a fixed
// rate or as fast as possible with at most W messages in flight (in flight = published but
// not yet received by every live subscriber).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "modes.hpp"

namespace bench {
namespace {

constexpr uint64_t kPub = ~uint64_t{0};

struct Fanout final : Handler {
  Loop loop;
  Common common;
  size_t n_subs = 0, size = 0, concurrency = 0;
  uint64_t m_msgs = 0, window = 0;
  double rate = 0;
  uint64_t drain_ns = 0, abandon_ns = 0;
  std::string topic;

  struct Sub {
    Conn* c = nullptr;
    bool opened = false, alive = false, warm = false, any = false, lost_conn = false;
    uint64_t hi = 0, count = 0;
  };
  std::vector<Sub> subs;
  size_t words = 0;
  std::vector<uint64_t> bits;       // subs x words: seq received?
  std::vector<uint32_t> remaining;  // per seq: live subscribers still to receive it
  std::vector<uint64_t> sent_ts;
  Conn* pub = nullptr;
  bool pub_open = false, pub_lost = false, measuring = false, closing = false;

  size_t connecting = 0, opened = 0, connect_errors = 0, alive = 0, warm_count = 0;
  uint64_t sent = 0, acked = 0, complete = 0, abandoned = 0;
  uint64_t uniq = 0, dups = 0, reordered = 0, bad = 0, dropped = 0;
  uint64_t t0 = 0, last_send = 0, last_rx = 0, max_lag = 0;
  Histogram hist;
  std::string buf;
  std::vector<in_addr> srcs;
  // Where subscriber i connects: sub_eps[i % size] (--sub-urls; default --url).
  std::vector<Endpoint> sub_eps;
  FailureLog fails;

  void on_open(Conn& c) override {
    --connecting;
    if (c.user == kPub) {
      pub_open = true;
      return;
    }
    Sub& s = subs[c.user];
    s.opened = s.alive = true;
    ++opened;
    ++alive;
    loop.send_text(c, make_subscribe(topic));
  }

  void on_end(Conn& c, End why) override {
    if (c.user == kPub) {
      if (!pub_open) {
        --connecting;
        ++connect_errors;
        fails.add("fanout", why);
      } else if (!closing) {
        pub_lost = true;
        if (end_is_server_drop(why)) ++dropped;
      }
      pub_open = false;
      return;
    }
    Sub& s = subs[c.user];
    if (!s.opened) {
      --connecting;
      ++connect_errors;
      fails.add("fanout", why);
      return;
    }
    if (!s.alive) return;
    s.alive = false;
    --alive;
    if (closing) return;
    s.lost_conn = true;
    if (end_is_server_drop(why)) ++dropped;
    // Messages in flight that this subscriber will now never get no longer hold the window.
    const uint64_t* b = &bits[c.user * words];
    for (uint64_t q = acked; q < sent; ++q)
      if (!(b[q / 64] >> (q % 64) & 1) && remaining[q] > 0 && --remaining[q] == 0) ++complete;
  }

  void on_text(Conn& c, const char* p, size_t n, uint64_t rx) override {
    if (c.user == kPub) return;
    uint64_t seq = 0, ts = 0;
    char kind = parse_data(p, n, seq, ts);
    Sub& s = subs[c.user];
    if (kind == 'S') {
      if (seq >= m_msgs) {
        ++bad;
        return;
      }
      uint64_t& w = bits[c.user * words + seq / 64];
      uint64_t bit = uint64_t{1} << (seq % 64);
      if (w & bit) {
        ++dups;
        return;
      }
      w |= bit;
      ++uniq;
      ++s.count;
      hist.record(rx > ts ? rx - ts : 0);
      if (s.any && seq < s.hi) {
        ++reordered;
      } else {
        s.hi = seq;
        s.any = true;
      }
      if (remaining[seq] > 0 && --remaining[seq] == 0) ++complete;
      last_rx = rx;
    } else if (kind == 'W' && !s.warm) {
      s.warm = true;
      ++warm_count;
    }
  }

  void publish(char kind, uint64_t seq, uint64_t now) {
    make_publish(buf, topic, kind, seq, now, size);
    loop.send_text(*pub, buf);
  }

  // Send whatever the rate / window allows now.
  void pump() {
    if (!measuring || !pub_open) return;
    uint64_t now = now_ns();
    while (acked < sent && (remaining[acked] == 0 || now - sent_ts[acked] > abandon_ns)) {
      if (remaining[acked] != 0) ++abandoned;
      ++acked;
    }
    uint64_t due = m_msgs;
    if (rate > 0) {
      due = std::min<uint64_t>(m_msgs, static_cast<uint64_t>(secs(now - t0) * rate) + 1);
    }
    uint64_t limit = window ? acked + window : m_msgs;
    while (sent < due && sent < limit) {
      if (rate > 0) {
        uint64_t sched = t0 + static_cast<uint64_t>(static_cast<double>(sent) * 1e9 / rate);
        if (now > sched) max_lag = std::max(max_lag, now - sched);
      }
      remaining[sent] = static_cast<uint32_t>(alive);
      if (alive == 0) ++complete;
      sent_ts[sent] = now;
      publish('S', sent, now);
      ++sent;
      last_send = now;
    }
  }

  int run(Args& args, JsonLine& out) {
    std::string err;
    if (!common.load(args, 120, out, err)) {
      fmt::print(stderr, "fanout: {}\n", err);
      return 2;
    }
    n_subs = static_cast<size_t>(args.num("subs", 100));
    m_msgs = static_cast<uint64_t>(args.num("messages", 10000));
    size = static_cast<size_t>(args.num("size", 64));
    rate = args.real("rate", 0);
    window = static_cast<uint64_t>(args.num("window", rate > 0 ? 0 : 64));
    topic = args.str("topic", "bench-fanout");
    concurrency = static_cast<size_t>(args.num("concurrency", 200));
    drain_ns = from_secs(args.real("drain", 5));
    abandon_ns = from_secs(args.real("abandon", 5));
    double warmup_s = args.real("warmup-timeout", 15);
    srcs = source_addrs(n_subs + 1, args.num("src-addrs", -1));
    loop.connect_timeout_ns = from_secs(args.real("connect-timeout", 10));
    loop.coalesce_ns = from_secs(common.coalesce_us / 1e6);
    std::string sub_urls = args.str("sub-urls", "");
    for (size_t at = 0; !sub_urls.empty() && at <= sub_urls.size();) {
      auto comma = std::min(sub_urls.find(',', at), sub_urls.size());
      Endpoint ep;
      std::string why;
      if (!parse_ws_url(sub_urls.substr(at, comma - at), ep, why)) {
        fmt::print(stderr, "fanout: --sub-urls: {}\n", why);
        return 2;
      }
      sub_eps.push_back(ep);
      at = comma + 1;
    }
    if (sub_eps.empty()) sub_eps.push_back(common.ep);
    if (!args.check_unused("fanout")) return 2;
    out.add("subs", n_subs).add("messages", m_msgs).add("size", size).add("rate", rate);
    out.add("window", window).add("topic", topic).add("src_addrs", srcs.size());
    if (!sub_urls.empty()) out.add("sub_urls", sub_urls);
    if (n_subs == 0 || m_msgs == 0 || (rate <= 0 && window == 0)) {
      fmt::print(stderr, "fanout: need --subs>0, --messages>0 and --rate>0 or --window>0\n");
      return 2;
    }
    if (static_cast<double>(n_subs) * static_cast<double>(m_msgs) > 8e9) {
      fmt::print(stderr, "fanout: subs x messages too large for the per-delivery bitmap (max 8e9)\n");
      return 2;
    }
    words = (m_msgs + 63) / 64;
    subs.resize(n_subs);
    bits.assign(n_subs * words, 0);
    remaining.assign(m_msgs, 0);
    sent_ts.assign(m_msgs, 0);

    // Phase 1: connect and subscribe (publisher is one more connection).
    Progress prog;
    uint64_t tc = now_ns();
    size_t started = 0;
    bool timed_out = false;
    for (;;) {
      while (connecting < concurrency && started < n_subs + 1) {
        bool is_pub = started == n_subs;
        const in_addr* src = srcs.empty() ? nullptr : &srcs[started % srcs.size()];
        Conn* c = loop.connect(is_pub ? common.ep : sub_eps[started % sub_eps.size()], src, this,
                               is_pub ? kPub : started);
        if (c) {
          ++connecting;
          if (is_pub) {
            pub = c;
          } else {
            subs[started].c = c;
          }
        } else {
          ++connect_errors;
          fails.add("fanout", End::ConnectFailed);
          if (is_pub) pub_lost = true;
        }
        ++started;
      }
      if (started == n_subs + 1 && connecting == 0) break;
      uint64_t now = now_ns();
      if (common.expired(now)) {
        timed_out = !g_stop;
        break;
      }
      if (prog.due(now)) fmt::print(stderr, "fanout: connecting {}/{} open, {} errors\n", opened, n_subs, connect_errors);
      loop.poll(10);
    }
    double connect_s = secs(now_ns() - tc);
    out.add("connected", opened).add("connect_errors", connect_errors).raw("connect_error_kinds", fails.json());
    out.add("connect_s", connect_s);

    // Phase 2: warm-up until every subscriber saw a warm-up message (so all subscriptions
    // are in effect; the peers send no "subscribed" ack).
    bool warm_ok = false;
    uint64_t tw = now_ns(), last_w = 0, wseq = 0, gap = 10'000'000ull;
    while (pub_open && !timed_out) {
      uint64_t now = now_ns();
      if (warm_count >= alive) {
        warm_ok = true;
        break;
      }
      if (common.expired(now) || now - tw > from_secs(warmup_s)) break;
      if (now - last_w > gap) {  // 10 ms, 20 ms, ... 320 ms apart: little load on a slow server
        publish('W', wseq++, now);
        last_w = now;
        gap = std::min<uint64_t>(gap * 2, 320'000'000ull);
      }
      if (prog.due(now)) fmt::print(stderr, "fanout: warm-up {}/{} subscribers ready\n", warm_count, alive);
      loop.poll(5);
    }
    out.add("warmup_ok", warm_ok).add("warmup_s", secs(now_ns() - tw)).add("warmup_msgs", wseq);
    if (!pub_open) {
      fmt::print(stderr, "fanout: publisher connection failed\n");
      common.finish(out.add("ok", false).add("error", "publisher connection failed"), timed_out);
      return 1;
    }

    // Phase 3: measure.
    size_t subs_at_start = alive;
    CpuMeter cpu;
    cpu.start(common.pid);
    measuring = true;
    t0 = now_ns();
    Timer* tick = nullptr;
    if (rate > 0) tick = loop.add_timer(static_cast<uint64_t>(1e9 / rate), [this] { pump(); });
    pump();
    while (sent < m_msgs && pub_open) {
      uint64_t now = now_ns();
      if (common.expired(now)) {
        timed_out = !g_stop;
        break;
      }
      if (prog.due(now))
        fmt::print(stderr, "fanout: sent {}/{} deliveries {} ({:.0f}/s) in flight {}\n", sent, m_msgs, uniq,
                   static_cast<double>(uniq) / secs(now - t0), sent - acked);
      loop.poll(10);
      pump();
    }
    if (tick) loop.remove_timer(tick);
    // Phase 4: drain (bounded).
    uint64_t td = now_ns();
    while (complete < sent) {
      uint64_t now = now_ns();
      if (now - td > drain_ns || common.expired(now)) break;
      loop.poll(10);
    }
    double cpu_measure = cpu.pct(), srv_cpu = cpu.server_pct(), mach = cpu.machine_pct();
    measuring = false;

    // Phase 5: close everything cleanly (bounded by the loop's close timeout).
    closing = true;
    for (Sub& s : subs)
      if (s.c && s.c->state() == State::Open) loop.close_clean(*s.c);
    if (pub && pub->state() == State::Open) loop.close_clean(*pub);
    uint64_t tcl = now_ns();
    while (loop.live() > 0 && now_ns() - tcl < loop.close_timeout_ns + 1'000'000'000ull) loop.poll(10);

    uint64_t expected = static_cast<uint64_t>(subs_at_start) * sent;
    // Deliveries missing on subscribers that stayed connected until the end.
    uint64_t lost_live = 0;
    for (const Sub& s : subs)
      if (s.opened && !s.lost_conn) lost_live += sent > s.count ? sent - s.count : 0;
    double span = secs((last_rx > t0 ? last_rx : now_ns()) - t0);
    double pub_span = secs((last_send > t0 ? last_send : t0) - t0);
    out.add("sent", sent)
        .add("expected_deliveries", expected)
        .add("deliveries", uniq)
        .add("lost", expected > uniq ? expected - uniq : 0)
        .add("lost_on_live_conns", lost_live)
        .add("duplicates", dups)
        .add("reordered", reordered)
        .add("malformed", bad)
        .add("dropped", dropped)
        .add("publisher_lost", pub_lost)
        .add("abandoned_msgs", abandoned)
        .add("duration_s", span)
        .add("deliveries_per_s", span > 0 ? static_cast<double>(uniq) / span : 0.0)
        .add("msgs_per_s", pub_span > 0 ? static_cast<double>(sent) / pub_span : 0.0)
        .add("publisher_max_lag_us", static_cast<double>(max_lag) / 1000.0)
        .latency("lat", hist)
        .add("pings_answered", loop.pings)
        .add("tool_cpu_pct_measure", cpu_measure)
        .add("server_cpu_pct_measure", srv_cpu)
        .add("machine_cpu_pct_measure", mach)
        .add("other_cpu_pct_measure", mach >= 0 && srv_cpu >= 0 ? mach - srv_cpu - cpu_measure : -1.0);
    bool ok = !timed_out && sent == m_msgs && expected == uniq && dropped == 0 && !pub_lost;
    out.add("ok", ok);
    common.finish(out, timed_out);
    return ok ? 0 : 1;
  }
};

}  // namespace

int run_fanout(Args& args, JsonLine& out) {
  auto f = std::make_unique<Fanout>();
  return f->run(args, out);
}

}  // namespace bench
