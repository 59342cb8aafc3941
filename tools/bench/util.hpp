// Small helpers shared by the switchboard-bench modes: clock, options, latency histogram,
// /proc sampling, a tiny HTTP GET for the server's /stats, and a flat JSON line builder.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
inline double secs(uint64_t ns) { return static_cast<double>(ns) / 1e9; }
inline uint64_t from_secs(double s) { return s <= 0 ? 0 : static_cast<uint64_t>(s * 1e9); }

// Set by SIGINT/SIGTERM: every phase ends early and the run still reports.
extern volatile int g_stop;

// --key=value / --key value options. Each mode reads what it knows; leftovers are an error.
class Args {
 public:
  bool parse(int argc, char** argv, std::string& err);
  bool has(const std::string& k) const { return kv_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& def);
  long long num(const std::string& k, long long def);
  double real(const std::string& k, double def);
  // Names given on the command line that no mode asked for.
  std::vector<std::string> unused() const;
  // After a mode read all its options: false (and a message on stderr) if any is unknown.
  bool check_unused(const char* mode) const;

 private:
  std::map<std::string, std::string> kv_;
  std::set<std::string> used_;
};

// Log-linear histogram of nanosecond values: exact below 256, else 128 sub-buckets per
// power of two (relative error < 0.8%). 60 KB, O(1) record, no allocation.
class Histogram {
 public:
  void record(uint64_t v);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  uint64_t percentile(double q) const;  // q in [0,1]

 private:
  static constexpr int kBuckets = 256 + 56 * 128;
  static int index(uint64_t v);
  static uint64_t value_at(int idx);  // representative (mid) value of a bucket
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0, max_ = 0;
  double sum_ = 0;  // for the mean only
};

// Server-side observations through /proc (same machine) and the optional /stats endpoint.
long long proc_rss_kb(int pid);      // VmRSS in kB, -1 if unknown
long long proc_fd_count(int pid);    // entries of /proc/PID/fd, -1 if unknown
double proc_cpu_seconds(int pid);    // utime+stime of /proc/PID/stat, -1 if unknown
// Whole machine from /proc/stat: busy and total jiffies summed over all cores.
bool machine_jiffies(unsigned long long& busy, unsigned long long& total);
// GET an http://127.x.x.x:PORT/path URL (loopback only), return the body of a 200
// answer, or "" (failure, other status). Bounded by timeout_ms.
std::string http_get_body(const std::string& url, int timeout_ms);
// The integer after the first `key` (a quoted JSON key) at or after `from`, or -1.
long long json_number_after(const std::string& body, std::string_view key, size_t from = 0);
// GET a /stats URL, return the integer value of the top-level-ish "connections" field, or -1.
long long http_stats_connections(const std::string& url, int timeout_ms);
// The value of the unlabelled Prometheus sample `name` in a /metrics page, or -1.
long long prometheus_value(const std::string& text, std::string_view name);

// getrusage(RUSAGE_SELF) user+sys seconds.
double self_cpu_seconds(double* user = nullptr, double* sys = nullptr);

// Raise RLIMIT_NOFILE soft limit to the hard limit; returns the new soft limit.
long long raise_nofile_limit();

// One flat JSON object, built field by field (our keys/values are plain ASCII).
class JsonLine {
 public:
  JsonLine& add(const std::string& k, const std::string& v);
  JsonLine& add(const std::string& k, const char* v) { return add(k, std::string(v)); }
  JsonLine& add(const std::string& k, long long v);
  JsonLine& add(const std::string& k, unsigned long long v) { return add(k, static_cast<long long>(v)); }
  JsonLine& add(const std::string& k, long v) { return add(k, static_cast<long long>(v)); }
  JsonLine& add(const std::string& k, unsigned long v) { return add(k, static_cast<long long>(v)); }
  JsonLine& add(const std::string& k, int v) { return add(k, static_cast<long long>(v)); }
  JsonLine& add(const std::string& k, unsigned v) { return add(k, static_cast<long long>(v)); }
  JsonLine& add(const std::string& k, double v);
  JsonLine& add(const std::string& k, bool v);
  JsonLine& raw(const std::string& k, const std::string& json);  // pre-serialized value
  // Latency fields lat_p50_us ... lat_max_us, lat_mean_us, lat_count.
  JsonLine& latency(const std::string& prefix, const Histogram& h);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_;
};
std::string json_escape(const std::string& s);

// Progress to stderr at most every `every_ns`.
class Progress {
 public:
  explicit Progress(uint64_t every_ns = 2000000000ull) : every_(every_ns) {}
  bool due(uint64_t now);  // true (and re-armed) when a line should be printed

 private:
  uint64_t every_, next_ = 0;
};

}  // namespace bench
