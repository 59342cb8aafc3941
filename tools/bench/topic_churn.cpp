// topic-churn: what one client churning through topics costs every other client. The hub
// actor owns all membership, so its subscribe/unsubscribe/disconnect work delays everything
// else it does, publishes included.
//
// K churners each cycle through N topics of their own as fast as the server answers:
// subscribe t0..tN-1, unsubscribe t0..tN-1, again; commands are pipelined with at most W
// unanswered, so the server is the limit, not round trips. Replies come in command order
// (docs/protocol.md), so the n-th reply answers the n-th command; an error frame (such as
// limit_exceeded from a server with a topic limit) is a reply like any other and is counted.
// With --churn-disconnect a churner closes after each answered subscribe pass and
// reconnects, so the server drops N subscriptions at once.
//
// One prober, subscribed to its own topic, publishes one message at a time to it and
// measures publish -> its own message (send time to receipt). A baseline phase without
// churn comes first, then the churn phase; each phase reports the prober's RTT.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "modes.hpp"

namespace bench {
namespace {

constexpr uint64_t kProbe = ~uint64_t{0};
constexpr uint64_t kRetired = uint64_t{1} << 62;  // a churner closed by us after its pass
constexpr uint64_t kRetryNs = 100'000'000ull;      // reconnect delay after a failure or drop

struct Phase {
  Histogram rtt;
  uint64_t sent = 0, timed_out = 0;
  double seconds = 0, server_cpu_pct = -1, tool_cpu_pct = 0;
  long long server_rss_kb = -1;  // at the end of the phase (--pid)

  void report(JsonLine& out, const std::string& name) const {
    out.latency(name + "_rtt", rtt)
        .add(name + "_probes_sent", sent)
        .add(name + "_probes_timed_out", timed_out)
        .add(name + "_s", seconds)
        .add(name + "_server_cpu_pct", server_cpu_pct)
        .add(name + "_tool_cpu_pct", tool_cpu_pct)
        .add(name + "_server_rss_kb", server_rss_kb);
  }
};

struct TopicChurn final : Handler {
  Loop loop;
  Common common;
  size_t n_churners = 0;
  uint64_t n_topics = 0, window = 0, interval_ns = 0, probe_timeout_ns = 0;
  bool disconnect = false, churning = false, closing = false;

  struct Churner {
    Conn* c = nullptr;
    bool open = false;
    uint64_t sent = 0, answered = 0;  // commands on the current connection
    uint64_t retry_at = 0;            // reconnect wanted at (0 = not waiting)
  };
  std::vector<Churner> churners;
  size_t opened = 0, connecting = 0;
  uint64_t connect_errors = 0, subscribed = 0, unsubscribed = 0, limit_errors = 0, other_errors = 0;
  uint64_t passes = 0, reconnects = 0, churner_drops = 0, churner_errors = 0;
  FailureLog fails;

  Conn* probe = nullptr;
  bool probe_open = false, probe_ready = false, probe_lost = false, probe_dropped = false;
  std::string probe_topic, buf;
  uint64_t probe_seq = 0, in_flight = ~uint64_t{0}, in_flight_since = 0, next_due = 0;
  uint64_t first_churn_seq = ~uint64_t{0}, late = 0;
  Phase phases[2];  // baseline, churn
  int phase = 0;

  // -- churners ------------------------------------------------------------------------

  void start_churner(size_t i) {
    Churner& ch = churners[i];
    ch = Churner{};
    ch.c = loop.connect(common.ep, nullptr, this, i);
    if (ch.c) {
      ++connecting;
    } else {
      ++connect_errors;
      fails.add("topic-churn", End::ConnectFailed);
      ch.retry_at = now_ns() + kRetryNs;
    }
  }

  // Command n of a connection: topic n % N, subscribe in even passes, unsubscribe in odd ones;
  // with --churn-disconnect only the first subscribe pass.
  void pump(size_t i) {
    Churner& ch = churners[i];
    uint64_t limit = disconnect ? n_topics : ~uint64_t{0};
    while (churning && ch.open && ch.sent - ch.answered < window && ch.sent < limit) {
      bool sub = (ch.sent / n_topics) % 2 == 0;
      buf.clear();
      fmt::format_to(std::back_inserter(buf), R"({{"type":"{}","topic":"churn-{}.{}"}})",
                     sub ? "subscribe" : "unsubscribe", i, ch.sent % n_topics);
      loop.send_text(*ch.c, buf);
      ++ch.sent;
    }
  }

  void on_reply(size_t i, const char* p, size_t n) {
    Churner& ch = churners[i];
    // Only replies inside the churn phase count (ops/s); nothing is outstanding before it.
    if (!churning || ch.answered >= ch.sent) return;
    std::string_view type = json_member(p, n, "\"type\"");
    if (type == "subscribed") {
      ++subscribed;
    } else if (type == "unsubscribed") {
      ++unsubscribed;
    } else if (type == "error") {
      ++(json_member(p, n, "\"code\"") == "limit_exceeded" ? limit_errors : other_errors);
    } else {
      return;  // welcome, or anything that answers no command
    }
    ++ch.answered;
    if (ch.answered % (2 * n_topics) == n_topics) ++passes;
    if (disconnect && ch.answered == n_topics) {
      retire(i);
      return;
    }
    pump(i);
  }

  // --churn-disconnect: close this connection (the server drops its N topics) and open the
  // next one at once.
  void retire(size_t i) {
    Churner& ch = churners[i];
    ch.c->user = kRetired | i;
    ch.open = false;
    loop.close_clean(*ch.c);
    ++reconnects;
    start_churner(i);
  }

  void reconnect_due(uint64_t now) {
    if (closing) return;
    for (size_t i = 0; i < churners.size(); ++i)
      if (!churners[i].c && churners[i].retry_at && churners[i].retry_at <= now) start_churner(i);
  }

  void churner_end(Conn& c, End why) {
    if (c.user & kRetired) {
      loop.release(&c);
      return;
    }
    Churner& ch = churners[c.user];
    if (!ch.open) {
      --connecting;
      if (!closing) {  // not one we aborted at the end
        ++connect_errors;
        fails.add("topic-churn", why);
      }
    } else if (!closing) {
      ++(end_is_server_drop(why) ? churner_drops : churner_errors);
      fmt::print(stderr, "topic-churn: churner {} lost ({})\n", c.user, end_name(why));
    }
    ch.c = nullptr;
    ch.open = false;
    ch.retry_at = now_ns() + kRetryNs;
    loop.release(&c);
  }

  // -- prober --------------------------------------------------------------------------

  // One probe at a time, at most one per interval; a probe unanswered for --probe-timeout
  // counts as timed out and no longer holds the next one back.
  void probe_tick(uint64_t now) {
    if (!probe_ready || !probe_open || closing) return;
    if (in_flight != ~uint64_t{0}) {
      if (now - in_flight_since < probe_timeout_ns) return;
      ++phases[in_flight < first_churn_seq ? 0 : 1].timed_out;
      in_flight = ~uint64_t{0};
    }
    if (phase < 0 || now < next_due) return;
    in_flight = probe_seq++;
    in_flight_since = now;
    next_due = now + interval_ns;
    ++phases[phase].sent;
    make_publish(buf, probe_topic, 'S', in_flight, now, 32);
    loop.send_text(*probe, buf);
  }

  void probe_text(const char* p, size_t n, uint64_t rx) {
    uint64_t seq = 0, ts = 0;
    if (parse_data(p, n, seq, ts) == 'S') {
      // A probe that arrives after its timeout still tells how long it took.
      phases[seq < first_churn_seq ? 0 : 1].rtt.record(rx > ts ? rx - ts : 0);
      if (seq == in_flight) {
        in_flight = ~uint64_t{0};
        probe_tick(rx);
      } else {
        ++late;
      }
    } else if (!probe_ready && json_member(p, n, "\"type\"") == "subscribed") {
      probe_ready = true;
    }
  }

  // -- Handler -------------------------------------------------------------------------

  void on_open(Conn& c) override {
    if (c.user == kProbe) {
      probe_open = true;
      loop.send_text(c, make_subscribe(probe_topic));
      return;
    }
    --connecting;
    ++opened;
    churners[c.user].open = true;
    pump(c.user);
  }

  void on_end(Conn& c, End why) override {
    if (c.user != kProbe) {
      churner_end(c, why);
      return;
    }
    if (probe_open && !closing) {
      probe_lost = true;
      probe_dropped = end_is_server_drop(why);
      fmt::print(stderr, "topic-churn: prober lost ({})\n", end_name(why));
    } else if (!probe_open) {
      ++connect_errors;
      fails.add("topic-churn", why);
    }
    probe_open = false;
  }

  void on_text(Conn& c, const char* p, size_t n, uint64_t rx) override {
    if (c.user == kProbe) {
      probe_text(p, n, rx);
    } else if (!(c.user & kRetired)) {
      on_reply(c.user, p, n);
    }
  }

  // -- phases --------------------------------------------------------------------------

  // Polls until `done` or the phase's end; false if the run's deadline passed.
  template <class Done>
  bool run_until(uint64_t end, const char* what, Done done) {
    Progress prog;
    while (!done()) {
      uint64_t now = now_ns();
      if (now >= end || g_stop) return true;
      if (common.expired(now)) return false;
      reconnect_due(now);
      probe_tick(now);
      if (prog.due(now)) {
        const Histogram& h = phases[phase == 0 ? 0 : 1].rtt;
        fmt::print(stderr,
                   "topic-churn: {}: probes {} rtt p50 {:.0f} us max {:.0f} us, churn replies {}, limit errors {}\n",
                   what, h.count(), static_cast<double>(h.percentile(0.5)) / 1e3, static_cast<double>(h.max()) / 1e3,
                   subscribed + unsubscribed + limit_errors + other_errors, limit_errors);
      }
      // Sleep until the next probe is due, if one can go then; otherwise events wake us.
      uint64_t wait = 10;
      if (phase >= 0 && probe_ready && in_flight == ~uint64_t{0})
        wait = next_due > now ? (next_due - now + 999'999) / 1'000'000 : 0;
      loop.poll(static_cast<int>(std::min<uint64_t>(wait, 10)));
    }
    return true;
  }

  void close_all() {
    closing = true;
    for (Churner& ch : churners)
      if (ch.c && ch.c->state() == State::Open) {
        loop.close_clean(*ch.c);
      } else if (ch.c && ch.c->state() != State::Closing) {
        loop.abort(*ch.c);
      }
    if (probe && probe->state() == State::Open) loop.close_clean(*probe);
    uint64_t t = now_ns();
    while (loop.live() > 0 && now_ns() - t < loop.close_timeout_ns + 1'000'000'000ull) loop.poll(10);
  }

  bool load(Args& args, JsonLine& out, double& baseline_s, double& duration_s) {
    std::string err;
    baseline_s = args.real("baseline", 5);
    duration_s = args.real("duration", 10);
    if (!common.load(args, baseline_s + duration_s + 60, out, err)) {
      fmt::print(stderr, "topic-churn: {}\n", err);
      return false;
    }
    n_churners = static_cast<size_t>(args.num("churners", 1));
    n_topics = static_cast<uint64_t>(args.num("churn-topics", 128));
    window = static_cast<uint64_t>(args.num("window", 64));
    disconnect = args.num("churn-disconnect", 0) != 0;
    double interval_ms = args.real("probe-interval", 10);
    interval_ns = from_secs(interval_ms / 1e3);
    probe_timeout_ns = from_secs(args.real("probe-timeout", 10));
    probe_topic = args.str("probe-topic", fmt::format("probe-{}", getpid()));
    loop.connect_timeout_ns = from_secs(args.real("connect-timeout", 10));
    loop.coalesce_ns = from_secs(common.coalesce_us / 1e6);
    if (!args.check_unused("topic-churn")) return false;
    out.add("churners", n_churners).add("churn_topics", n_topics).add("window", window);
    out.add("churn_disconnect", disconnect).add("probe_interval_ms", interval_ms);
    out.add("probe_topic", probe_topic).add("baseline_s", baseline_s).add("duration_s", duration_s);
    if (n_topics == 0 || window == 0 || interval_ns == 0 || baseline_s <= 0 || duration_s <= 0) {
      fmt::print(stderr, "topic-churn: need --churn-topics, --window, --probe-interval, --baseline, --duration > 0\n");
      return false;
    }
    return true;
  }

  // Connects everything (churners stay idle) and waits for the prober's subscription.
  bool setup(JsonLine& out) {
    churners.resize(n_churners);
    probe = loop.connect(common.ep, nullptr, this, kProbe);
    for (size_t i = 0; i < n_churners; ++i) start_churner(i);
    phase = -1;  // no probes yet
    uint64_t end = now_ns() + loop.connect_timeout_ns + 5'000'000'000ull;
    bool in_time = run_until(end, "connecting", [&] {
      return (probe_ready || !probe || probe->state() == State::Closed) && connecting == 0;
    });
    out.add("connected", opened).add("connect_errors", connect_errors).raw("connect_error_kinds", fails.json());
    if (probe_ready && in_time) return true;
    fmt::print(stderr, "topic-churn: prober not subscribed\n");
    common.finish(out.add("ok", false).add("error", "prober not subscribed"), !in_time);
    return false;
  }

  // Phase 0 (baseline) or 1 (churn); false if the run's deadline passed.
  bool run_phase(int i, double seconds) {
    phase = i;
    Phase& ph = phases[i];
    if (i == 1) {
      first_churn_seq = probe_seq;
      churning = true;
      for (size_t c = 0; c < churners.size(); ++c) pump(c);
    }
    CpuMeter cpu;
    cpu.start(common.pid);
    uint64_t t = now_ns();
    bool in_time = run_until(t + from_secs(seconds), i == 0 ? "baseline" : "churn", [&] { return probe_lost; });
    churning = false;
    ph.seconds = secs(now_ns() - t);
    ph.server_cpu_pct = cpu.server_pct();
    ph.tool_cpu_pct = cpu.pct();
    ph.server_rss_kb = proc_rss_kb(common.pid);
    return in_time;
  }

  int run(Args& args, JsonLine& out) {
    double baseline_s = 0, duration_s = 0;
    if (!load(args, out, baseline_s, duration_s)) return 2;
    if (!setup(out)) return 1;
    long long rss0 = proc_rss_kb(common.pid);
    bool in_time = run_phase(0, baseline_s) && run_phase(1, duration_s);
    // The last probe may still be on its way.
    phase = -1;
    if (in_time)
      in_time = run_until(now_ns() + probe_timeout_ns, "draining",
                          [&] { return in_flight == ~uint64_t{0} || probe_lost; });
    if (in_flight != ~uint64_t{0}) ++phases[in_flight < first_churn_seq ? 0 : 1].timed_out;
    close_all();

    out.add("server_rss_start_kb", rss0);
    phases[0].report(out, "base");
    phases[1].report(out, "churn");
    uint64_t ops = subscribed + unsubscribed + limit_errors + other_errors;
    out.add("churn_ops", ops)
        .add("churn_ops_per_s", phases[1].seconds > 0 ? static_cast<double>(ops) / phases[1].seconds : 0.0)
        .add("subscribed", subscribed)
        .add("unsubscribed", unsubscribed)
        .add("limit_exceeded", limit_errors)
        .add("other_errors", other_errors)
        .add("subscribe_passes", passes)
        .add("reconnects", reconnects);
    uint64_t sent = phases[0].sent + phases[1].sent, got = phases[0].rtt.count() + phases[1].rtt.count();
    uint64_t lost = sent > got ? sent - got : 0, dropped = churner_drops + (probe_dropped ? 1 : 0);
    out.add("probes_late", late).add("probes_lost", lost).add("dropped", dropped);
    out.add("churners_dropped", churner_drops).add("churner_errors", churner_errors).add("prober_lost", probe_lost);
    out.add("pings_answered", loop.pings);
    bool ok = in_time && dropped == 0 && !probe_lost && lost == 0 && churner_errors == 0 && phases[0].rtt.count() > 0 &&
              phases[1].rtt.count() > 0;
    out.add("ok", ok);
    common.finish(out, !in_time);
    return ok ? 0 : 1;
  }
};

}  // namespace

int run_topic_churn(Args& args, JsonLine& out) {
  auto m = std::make_unique<TopicChurn>();
  return m->run(args, out);
}

}  // namespace bench
