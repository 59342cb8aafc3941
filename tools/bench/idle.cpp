// idle: open N connections, each subscribed to one of T topics, spread over several source
// addresses past a few thousand; measure connections/s and (with --pid) the server's RSS per
// connection; hold; then prove every connection still works (one publish per topic must
// reach every connection) and close.
#include <fmt/format.h>

#include <memory>

#include "modes.hpp"

namespace bench {
namespace {

constexpr uint64_t kPub = ~uint64_t{0};

struct Idle final : Handler {
  Loop loop;
  Common common;
  size_t n = 0, topics = 0, concurrency = 0;
  struct Item {
    Conn* c = nullptr;
    bool opened = false, alive = false, got = false;
  };
  std::vector<Item> items;
  Conn* pub = nullptr;
  bool pub_open = false, pub_failed = false, closing = false;
  size_t connecting = 0, opened = 0, errors = 0, alive = 0, dropped = 0, got = 0;
  Histogram hist;
  FailureLog fails;

  std::string topic_of(size_t i) const { return "idle-" + std::to_string(i % topics); }

  void on_open(Conn& c) override {
    if (c.user == kPub) {
      pub_open = true;
      return;
    }
    --connecting;
    Item& it = items[c.user];
    it.opened = it.alive = true;
    ++opened;
    ++alive;
    loop.send_text(c, make_subscribe(topic_of(c.user)));
  }
  void on_end(Conn& c, End why) override {
    if (c.user == kPub) {
      if (!pub_open) pub_failed = true;
      pub_open = false;
      return;
    }
    Item& it = items[c.user];
    if (!it.opened) {
      --connecting;
      ++errors;
      fails.add("idle", why);
      return;
    }
    if (!it.alive) return;
    it.alive = false;
    --alive;
    if (!closing && end_is_server_drop(why)) ++dropped;
  }
  void on_text(Conn& c, const char* p, size_t len, uint64_t rx) override {
    if (c.user == kPub) return;
    uint64_t seq = 0, ts = 0;
    if (parse_data(p, len, seq, ts) == 'S' && !items[c.user].got) {
      items[c.user].got = true;
      ++got;
      hist.record(rx > ts ? rx - ts : 0);
    }
  }

  // Poll for `dur_ns` (or until the run's deadline).
  void idle_for(uint64_t dur_ns, const char* what) {
    Progress prog(5'000'000'000ull);
    uint64_t t = now_ns();
    for (;;) {
      uint64_t now = now_ns();
      if (now - t >= dur_ns || common.expired(now)) break;
      if (prog.due(now))
        fmt::print(stderr, "idle: {} {:.0f}s, {} open, {} dropped, server rss {} kB\n", what, secs(now - t), alive,
                   dropped, proc_rss_kb(common.pid));
      loop.poll(100);
    }
  }

  int run(Args& args, JsonLine& out) {
    std::string err;
    double hold = args.real("hold", 0);
    if (!common.load(args, 300 + hold, out, err)) {
      fmt::print(stderr, "idle: {}\n", err);
      return 2;
    }
    n = static_cast<size_t>(args.num("conns", 1000));
    topics = static_cast<size_t>(args.num("topics", 100));
    if (topics == 0) topics = 1;
    if (topics > n && n > 0) topics = n;
    concurrency = static_cast<size_t>(args.num("concurrency", 200));
    double settle = args.real("settle", 2);
    uint64_t drain_ns = from_secs(args.real("drain", 5));
    size_t size = static_cast<size_t>(args.num("size", 64));
    auto srcs = source_addrs(n, args.num("src-addrs", -1));
    loop.connect_timeout_ns = from_secs(args.real("connect-timeout", 10));
    loop.coalesce_ns = from_secs(common.coalesce_us / 1e6);
    // Offer permessage-deflate (a server with --compression agrees): what an idle
    // connection with compression costs. Keep --size below the server's compression
    // threshold: this client does not inflate.
    if (args.num("offer-deflate", 0) != 0)
      loop.extra_headers = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    if (!args.check_unused("idle")) return 2;
    out.add("conns", n).add("topics", topics).add("hold_s", hold).add("src_addrs", srcs.size());
    if (n == 0) {
      fmt::print(stderr, "idle: need --conns>0\n");
      return 2;
    }
    items.resize(n);

    long long rss0 = proc_rss_kb(common.pid), fds0 = proc_fd_count(common.pid);
    // Connect + subscribe.
    bool timed_out = false;
    Progress prog;
    uint64_t tc = now_ns();
    size_t started = 0;
    for (;;) {
      while (connecting < concurrency && started < n) {
        const in_addr* src = srcs.empty() ? nullptr : &srcs[started % srcs.size()];
        Conn* c = loop.connect(common.ep, src, this, started);
        if (c) {
          ++connecting;
          items[started].c = c;
        } else {
          ++errors;
          fails.add("idle", End::ConnectFailed);
        }
        ++started;
      }
      if (started == n && connecting == 0) break;
      uint64_t now = now_ns();
      if (common.expired(now)) {
        timed_out = !g_stop;
        break;
      }
      if (prog.due(now))
        fmt::print(stderr, "idle: {}/{} open ({:.0f}/s), {} errors\n", opened, n,
                   static_cast<double>(opened) / secs(now - tc), errors);
      loop.poll(10);
    }
    double connect_s = secs(now_ns() - tc);
    loop.flush();
    fmt::print(stderr, "idle: {} open in {:.2f}s, {} errors\n", opened, connect_s, errors);
    idle_for(from_secs(settle), "settling");
    long long rss1 = proc_rss_kb(common.pid), fds1 = proc_fd_count(common.pid);
    out.add("connected", opened)
        .add("connect_errors", errors)
        .raw("connect_error_kinds", fails.json())
        .add("connect_s", connect_s)
        .add("conns_per_s", connect_s > 0 ? static_cast<double>(opened) / connect_s : 0.0)
        .add("rss_before_kb", rss0)
        .add("rss_after_kb", rss1)
        .add("fds_before", fds0)
        .add("fds_after", fds1)
        .add("rss_per_conn_bytes",
             rss0 >= 0 && rss1 >= 0 && opened ? static_cast<double>(rss1 - rss0) * 1024.0 / static_cast<double>(opened)
                                              : -1.0);
    if (hold > 0) idle_for(from_secs(hold), "holding");

    // Verify: one publish per topic must reach every connection.
    size_t alive_before_verify = alive;
    pub = loop.connect(common.ep, nullptr, this, kPub);
    uint64_t tv = now_ns();
    while (pub && !pub_open && !pub_failed && !common.expired(now_ns())) loop.poll(10);
    bool verify_ran = pub_open;
    if (pub_open) {
      std::string buf;
      for (size_t t = 0; t < topics; ++t) {
        make_publish(buf, "idle-" + std::to_string(t), 'S', t, now_ns(), size);
        loop.send_text(*pub, buf);
      }
      uint64_t tp = now_ns();
      while (got < alive && now_ns() - tp < drain_ns && !common.expired(now_ns())) loop.poll(10);
    }
    double verify_s = secs(now_ns() - tv);
    long long rss2 = proc_rss_kb(common.pid);
    size_t lost_live = 0;
    for (auto& it : items)
      if (it.alive && !it.got) ++lost_live;

    // Close all cleanly.
    closing = true;
    uint64_t tcl = now_ns();
    for (auto& it : items)
      if (it.c && it.c->state() == State::Open) loop.close_clean(*it.c);
    if (pub && pub->state() == State::Open) loop.close_clean(*pub);
    while (loop.live() > 0 && now_ns() - tcl < loop.close_timeout_ns + 1'000'000'000ull) loop.poll(10);
    double close_s = secs(now_ns() - tcl);
    idle_for(1'000'000'000ull, "closed, settling");
    long long rss3 = proc_rss_kb(common.pid), fds3 = proc_fd_count(common.pid);

    out.add("verify_ran", verify_ran)
        .add("verify_s", verify_s)
        .add("received", got)
        .add("lost", verify_ran ? opened - got : opened)
        .add("lost_on_live_conns", lost_live)
        .add("alive_before_verify", alive_before_verify)
        .add("dropped", dropped)
        .latency("verify_lat", hist)
        .add("rss_after_hold_kb", rss2)
        .add("close_s", close_s)
        .add("rss_after_close_kb", rss3)
        .add("fds_after_close", fds3)
        .add("pings_answered", loop.pings);
    bool ok = !timed_out && errors == 0 && verify_ran && got == opened && dropped == 0;
    out.add("ok", ok);
    common.finish(out, timed_out);
    return ok ? 0 : 1;
  }
};

}  // namespace

int run_idle(Args& args, JsonLine& out) {
  auto m = std::make_unique<Idle>();
  return m->run(args, out);
}

}  // namespace bench
