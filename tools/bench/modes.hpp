// The load shapes of switchboard-bench and the pieces they share: the payload format
// (sequence number + send timestamp, found without a JSON parser), source-address spreading,
// and the common option/report fields.
#pragma once

#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util.hpp"
#include "ws.hpp"

namespace bench {

// Each mode reads its options from args, runs, fills `out` (one JSON object) and returns
// the process exit code (0 ok, 1 run problem such as loss, 2 usage / setup error).
int run_fanout(Args& args, JsonLine& out);
int run_idle(Args& args, JsonLine& out);
int run_soak(Args& args, JsonLine& out);
int run_topic_churn(Args& args, JsonLine& out);

// Message data: "<kind><seq>.<send_ns>." padded with 'x' to `size` bytes (longer if the
// numbers need it). kind 'S' = measured, 'W' = warm-up / probe.
// Builds a full publish frame payload {"type":"publish","topic":T,"data":"..."} in `out`.
void make_publish(std::string& out, const std::string& topic, char kind, uint64_t seq, uint64_t send_ns, size_t size);
std::string make_subscribe(const std::string& topic);

// Finds "data":"<kind><seq>.<ts>. in a received message. Returns kind ('S'/'W') or 0 for
// anything else (welcome, subscribed, ack, foreign data).
char parse_data(const char* p, size_t n, uint64_t& seq, uint64_t& ts);

// The string value of the first member named `key` (quotes included, e.g. "\"type\"") in a
// server frame, or "" if none. Tolerates JSON whitespace, does not unescape (the types and
// codes looked for need no escapes). Server frames put "type" first, so no value fakes it.
std::string_view json_member(const char* p, size_t n, std::string_view key);

// Source addresses for bind() before connect(): requested < 0 means automatic (none up to
// 3000 connections, then one 127.0.0.x per 3000), 0 means none, k means k addresses.
std::vector<in_addr> source_addrs(size_t conns, long long requested);

// One soak observation of the server (rss/fds from /proc, connections from /stats; -1 =
// unknown) and of the client side.
struct Sample {
  double t;
  long long rss_kb, fds, server_conns;
  size_t client_fds, silent;
  uint64_t deliveries, cycles;
  // From /metrics (switchboard_hub_mailbox_messages) and /stats' "history"; -1 = unknown.
  long long hub_mailbox = -1, history_messages = -1, history_bytes = -1;
};
std::string sample_json(const Sample& s);
// The server's part of a Sample: /proc of pid, connections and history from stats_url, the
// hub's mailbox from metrics_url (empty URL or pid 0: -1).
Sample server_sample(int pid, const std::string& stats_url, const std::string& metrics_url);

// Counts failed connection attempts by reason (connect_failed / handshake_failed / ...), and
// logs the first few to stderr.
struct FailureLog {
  uint64_t counts[8] = {};
  uint64_t total = 0;
  void add(const char* mode, End why);
  std::string json() const;  // {"connect_failed":N,...} (reasons that occurred)
};

// Options every mode understands; fills the common report fields at the end.
struct Common {
  std::string url;
  Endpoint ep;
  uint64_t start_ns = 0, deadline_ns = 0;
  double timeout_s = 0;
  int pid = 0;
  double coalesce_us = 0;
  bool load(Args& args, double default_timeout, JsonLine& out, std::string& err);
  bool expired(uint64_t now) const { return g_stop || now >= deadline_ns; }
  // tool_cpu_* and wall time, plus timed_out.
  void finish(JsonLine& out, bool timed_out) const;
};

// CPU share of this process (and of the server, with --pid) between two points:
// (user+sys delta) / wall delta, in % of one core.
struct CpuMeter {
  double cpu0 = 0, srv0 = -1;
  uint64_t t0 = 0;
  int pid = 0;
  unsigned long long busy0 = 0, total0 = 0;
  void start(int server_pid) {
    pid = server_pid;
    machine_jiffies(busy0, total0);
    cpu0 = self_cpu_seconds();
    srv0 = proc_cpu_seconds(pid);
    t0 = now_ns();
  }
  double pct() const {
    double wall = secs(now_ns() - t0);
    return wall > 0 ? 100.0 * (self_cpu_seconds() - cpu0) / wall : 0.0;
  }
  double server_pct() const {
    double wall = secs(now_ns() - t0), s = proc_cpu_seconds(pid);
    return wall > 0 && srv0 >= 0 && s >= 0 ? 100.0 * (s - srv0) / wall : -1.0;
  }
  // Whole machine, in % of one core like the others (200 = both cores of a 2-core box busy).
  // machine - tool - server = other processes plus softirq network work charged to neither.
  double machine_pct() const {
    unsigned long long b = 0, t = 0;
    if (!machine_jiffies(b, t) || t <= total0) return -1.0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return 100.0 * static_cast<double>(cores) * static_cast<double>(b - busy0) / static_cast<double>(t - total0);
  }
};

}  // namespace bench
