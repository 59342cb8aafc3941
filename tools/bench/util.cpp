#include "util.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace bench {

volatile int g_stop = 0;

// ---------------------------------------------------------------- Args
bool Args::parse(int argc, char** argv, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      err = "unexpected argument '" + a + "' (options are --key=value)";
      return false;
    }
    a = a.substr(2);
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      kv_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      kv_[a] = argv[++i];
    } else {
      kv_[a] = "1";  // boolean flag
    }
  }
  return true;
}

std::string Args::str(const std::string& k, const std::string& def) {
  used_.insert(k);
  auto it = kv_.find(k);
  return it == kv_.end() ? def : it->second;
}

long long Args::num(const std::string& k, long long def) {
  used_.insert(k);
  auto it = kv_.find(k);
  if (it == kv_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);  // accepts 1e6
  if (end == it->second.c_str() || *end != '\0') {
    fmt::print(stderr, "bad number for --{}: '{}'\n", k, it->second);
    std::exit(2);
  }
  return static_cast<long long>(v);
}

double Args::real(const std::string& k, double def) {
  used_.insert(k);
  auto it = kv_.find(k);
  if (it == kv_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0') {
    fmt::print(stderr, "bad number for --{}: '{}'\n", k, it->second);
    std::exit(2);
  }
  return v;
}

std::vector<std::string> Args::unused() const {
  std::vector<std::string> out;
  for (auto& kv : kv_)
    if (!used_.count(kv.first)) out.push_back(kv.first);
  return out;
}

bool Args::check_unused(const char* mode) const {
  auto left = unused();
  if (left.empty()) return true;
  std::string names;
  for (auto& n : left) names += " --" + n;
  fmt::print(stderr, "{}: unknown option(s):{} (see --help)\n", mode, names);
  return false;
}

// ---------------------------------------------------------------- Histogram
int Histogram::index(uint64_t v) {
  if (v < 256) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);  // >= 8
  int shift = msb - 7;                // >= 1
  uint64_t top = v >> shift;          // [128, 255]
  int idx = 256 + (shift - 1) * 128 + static_cast<int>(top - 128);
  return idx < kBuckets ? idx : kBuckets - 1;
}

uint64_t Histogram::value_at(int idx) {
  if (idx < 256) return static_cast<uint64_t>(idx);
  int shift = (idx - 256) / 128 + 1;
  uint64_t top = static_cast<uint64_t>((idx - 256) % 128 + 128);
  return (top << shift) + ((1ull << shift) >> 1);
}

void Histogram::record(uint64_t v) {
  ++counts_[static_cast<size_t>(index(v))];
  ++count_;
  sum_ += static_cast<double>(v);
  if (v > max_) max_ = v;
}

uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  uint64_t cum = 0;
  for (int i = 0; i < kBuckets; ++i) {
    cum += counts_[static_cast<size_t>(i)];
    if (cum >= rank) {
      uint64_t v = value_at(i);
      return v > max_ ? max_ : v;
    }
  }
  return max_;
}

// ---------------------------------------------------------------- /proc
long long proc_rss_kb(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long long kb = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kb = std::atoll(line + 6);
      break;
    }
  }
  std::fclose(f);
  return kb;
}

long long proc_fd_count(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR* d = opendir(path);
  if (!d) return -1;
  long long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

double proc_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool machine_jiffies(unsigned long long& busy, unsigned long long& total) {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return false;
  unsigned long long v[8] = {};
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                      &v[6], &v[7]);
  std::fclose(f);
  if (n < 5) return false;
  total = 0;
  for (auto x : v) total += x;
  busy = total - v[3] - v[4];  // minus idle and iowait
  return true;
}

std::string http_get_body(const std::string& url, int timeout_ms) {
  // http://HOST:PORT/path, HOST must be loopback.
  if (url.rfind("http://", 0) != 0) return {};
  std::string rest = url.substr(7);
  auto slash = rest.find('/');
  std::string hostport = slash == std::string::npos ? rest : rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  int port = colon == std::string::npos ? 80 : std::atoi(hostport.c_str() + colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return {};
  if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) return {};  // loopback only

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  auto wait_for = [&](short ev) {
    uint64_t n = now_ns();
    if (n >= deadline) return false;
    pollfd p{fd, ev, 0};
    return poll(&p, 1, static_cast<int>((deadline - n) / 1000000ull) + 1) == 1;
  };
  std::string result;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nConnection: close\r\n\r\n";
  std::string resp;
  size_t off = 0;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (rc != 0 && errno != EINPROGRESS) goto done;
  if (!wait_for(POLLOUT)) goto done;
  {
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) goto done;
  }
  while (off < req.size()) {
    ssize_t w = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += static_cast<size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      if (!wait_for(POLLOUT)) goto done;
    } else {
      goto done;
    }
  }
  for (;;) {
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      resp.append(buf, static_cast<size_t>(r));
      if (resp.size() > (1u << 20)) break;
    } else if (r == 0) {
      break;
    } else if (errno == EAGAIN) {
      if (!wait_for(POLLIN)) break;
    } else {
      break;
    }
  }
  {
    auto b = resp.find("\r\n\r\n");
    if (b != std::string::npos && resp.compare(0, 12, "HTTP/1.1 200") == 0) result = resp.substr(b + 4);
  }
done:
  close(fd);
  return result;
}

long long json_number_after(const std::string& body, std::string_view key, size_t from) {
  auto k = body.find(key, from);
  if (k == std::string::npos) return -1;
  size_t p = k + key.size();
  while (p < body.size() && (body[p] == ' ' || body[p] == ':' || body[p] == '\t')) ++p;
  if (p < body.size() && body[p] >= '0' && body[p] <= '9') return std::atoll(body.c_str() + p);
  return -1;
}

long long http_stats_connections(const std::string& url, int timeout_ms) {
  return json_number_after(http_get_body(url, timeout_ms), "\"connections\"");
}

long long prometheus_value(const std::string& text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    size_t end = at + name.size();
    bool line_start = at == 0 || text[at - 1] == '\n';
    at = end;
    if (!line_start || end >= text.size() || text[end] != ' ') continue;  // a longer name, or # HELP
    return std::atoll(text.c_str() + end + 1);
  }
  return -1;
}

double self_cpu_seconds(double* user, double* sys) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double u = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  double s = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  if (user) *user = u;
  if (sys) *sys = s;
  return u + s;
}

long long raise_nofile_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long long>(rl.rlim_cur);
}

// ---------------------------------------------------------------- JSON
std::string json_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      o += fmt::format("\\u{:04x}", c);
    } else {
      o += ch;
    }
  }
  return o;
}

void JsonLine::key(const std::string& k) {
  if (!body_.empty()) body_ += ',';
  body_ += '"';
  body_ += json_escape(k);
  body_ += "\":";
}
JsonLine& JsonLine::add(const std::string& k, const std::string& v) {
  key(k);
  body_ += '"' + json_escape(v) + '"';
  return *this;
}
JsonLine& JsonLine::add(const std::string& k, long long v) {
  key(k);
  body_ += std::to_string(v);
  return *this;
}
JsonLine& JsonLine::add(const std::string& k, double v) {
  key(k);
  body_ += std::isfinite(v) ? fmt::format("{:.3f}", v) : std::string("null");
  return *this;
}
JsonLine& JsonLine::add(const std::string& k, bool v) {
  key(k);
  body_ += v ? "true" : "false";
  return *this;
}
JsonLine& JsonLine::raw(const std::string& k, const std::string& json) {
  key(k);
  body_ += json;
  return *this;
}
JsonLine& JsonLine::latency(const std::string& prefix, const Histogram& h) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  add(prefix + "_count", static_cast<long long>(h.count()));
  add(prefix + "_p50_us", us(h.percentile(0.50)));
  add(prefix + "_p90_us", us(h.percentile(0.90)));
  add(prefix + "_p99_us", us(h.percentile(0.99)));
  add(prefix + "_p999_us", us(h.percentile(0.999)));
  add(prefix + "_max_us", us(h.max()));
  add(prefix + "_mean_us", h.mean() / 1000.0);
  return *this;
}

bool Progress::due(uint64_t now) {
  if (now < next_) return false;
  bool first = next_ == 0;
  next_ = now + every_;
  return !first;
}

}  // namespace bench
