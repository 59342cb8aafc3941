// switchboard-bench: load generator for switchboard (and the peer servers that speak the same
// pub/sub subset over WebSocket). Modes: fanout, idle, soak, topic-churn. Progress goes to stderr; exactly
// one JSON line with every number (and the parameters) goes to stdout.
//
// Why a hand-written epoll client instead of Boost.Beast:
// the bench runs on the same 2-core machine as the server, so every cycle it spends per
// delivery is a cycle the server does not get, and a client that costs about as much per
// frame as the server would measure itself. Beast's async stack pays per message for
// completion handlers, executor dispatch, a dynamic buffer per stream, UTF-8 validation of
// every text frame and a full read-side state machine per connection; thousands of
// subscriber sockets would each own a read buffer. Here one thread runs one level-triggered
// epoll set: each readable socket gets a single recv() into one shared 256 KiB buffer, frames
// are decoded in place (header + optional unmask), the payload is scanned for
// "data":"S<seq>.<ts>. with memmem and two digit loops (no JSON DOM), a latency sample is one
// histogram increment, and only a trailing partial frame is copied into the connection.
// Writes (publishes, pongs) are queued and flushed once per loop iteration, so a burst of
// publishes costs one send(). The result is a per-delivery cost of a few hundred ns, far
// below what any server spends to produce the frame. The tool reports its own CPU share
// (tool_cpu_pct, 100 = one core) so a reader can check it was not the bottleneck.
//
// Safety: the tool only connects to 127.0.0.0/8, every phase has a time bound (--timeout
// and per-phase bounds), and RLIMIT_NOFILE is raised to the hard limit at start.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "bench/modes.hpp"
#include "bench/util.hpp"

namespace {

void on_signal(int) { bench::g_stop = 1; }

const char* kUsage = R"(usage: switchboard-bench --mode=fanout|idle|soak|topic-churn [options]   (loopback targets only)
common:  --url=ws://127.0.0.1:8080/ws  --timeout=S (whole run)  --pid=SERVER_PID (RSS/fds/CPU)
         wss://...: TLS, verifying the server against --tls-ca=FILE (PEM), or --tls-insecure
         --src-addrs=K (127.0.0.2.. bound before connect; default auto past 3000 conns)
         --connect-timeout=10  --concurrency=200 (connects in progress at once)
         --coalesce-us=0 (wait this long between reads to batch frames: less bench CPU, adds
         up to that much latency)
fanout:  --subs=100 --messages=10000 --size=64 (data bytes) --rate=0 (msg/s; 0 = as fast as
         possible) --window=64 (max in flight; default 0 = unlimited with --rate)
         --sub-urls=URL,URL.. (subscriber i connects to the (i mod n)th; default --url: the
         publisher always uses --url) --topic=bench-fanout --drain=5 (s to wait for stragglers) --abandon=5 (s after which
         an undelivered message stops holding the window) --warmup-timeout=15
idle:    --conns=1000 --topics=100 --hold=0 --settle=2 --drain=5 --size=64
         --offer-deflate=0 (1: offer permessage-deflate; use with --size=32)
soak:    --conns=1000 --topics=20 --duration=60 --rate=100 (publishes/s over all topics)
         --churn-per-min=20 (% of conns per minute) --stable=0.5 (fraction never churned)
         --mix=40:40:20 (clean:rst:silent) --silent-max=90 (s before a silent conn is closed
         by us) --sample-every=5 --stats-url=http://127.0.0.1:PORT/stats --settle=30 --size=64
         --churn-rate=N (lifetimes/s, instead of --churn-per-min) --namespace=NS (topics NS:soak-i)
         --join-leave (ask for join/leave) --recover (resubscribe with since) --metrics-url=
         (default: stats-url's /metrics; samples the hub's mailbox)
topic-churn: (needs a server that answers every subscribe/unsubscribe, like switchboard)
         --churners=1 --churn-topics=128 (each churner: subscribe all, unsubscribe all, repeat)
         --window=64 (unanswered commands per churner) --churn-disconnect (close and reconnect
         after each subscribe pass instead of unsubscribing) --probe-interval=10 (ms between
         the prober's publishes, one in flight) --probe-timeout=10 --probe-topic=probe-PID
         --baseline=5 (s without churn) --duration=10 (s of churn)
Output: progress on stderr, one JSON line on stdout. Latencies in microseconds
(CLOCK_MONOTONIC send -> receive, same machine). Exit 0 ok, 1 loss/drops/timeout, 2 usage.
)";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  long long nofile = bench::raise_nofile_limit();

  bench::Args args;
  std::string err;
  if (!args.parse(argc, argv, err)) {
    fmt::print(stderr, "{}\n{}", err, kUsage);
    return 2;
  }
  if (args.has("help") || !args.has("mode")) {
    fmt::print(stderr, "{}", kUsage);
    return args.has("help") ? 0 : 2;
  }
  std::string mode = args.str("mode", "");
  bench::JsonLine out;
  out.add("mode", mode).add("nofile_limit", nofile);
  int rc;
  try {
    if (mode == "fanout") {
      rc = bench::run_fanout(args, out);
    } else if (mode == "idle") {
      rc = bench::run_idle(args, out);
    } else if (mode == "soak") {
      rc = bench::run_soak(args, out);
    } else if (mode == "topic-churn") {
      rc = bench::run_topic_churn(args, out);
    } else {
      fmt::print(stderr, "unknown --mode={}\n{}", mode, kUsage);
      return 2;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "switchboard-bench: {}\n", e.what());
    return 2;
  }
  if (rc == 2) out.add("ok", false).add("error", "usage or setup error (see stderr)");
  std::string line = out.str();
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return rc;
}
