#include "observe/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace switchboard::net {

namespace {

std::optional<std::string> slurp(const char* path) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::uint64_t> number(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::strtoull(text.c_str(), nullptr, 10);
}

// Entries of /proc/self/fd, less the one the listing itself holds open.
std::optional<std::uint64_t> count_open_fds() {
  auto* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    return std::nullopt;
  std::uint64_t n = 0;
  while (auto* entry = readdir(dir))
    if (entry->d_name[0] != '.')
      ++n;
  closedir(dir);
  return n > 0 ? n - 1 : 0;
}

// The boot time does not change while the process runs: read once.
std::optional<double> boot_time() {
  static const auto value = [] {
    auto text = slurp("/proc/stat");
    return text ? parse_boot_time(*text) : std::nullopt;
  }();
  return value;
}

} // namespace

std::optional<process_sample> parse_proc_stat(std::string_view stat, long ticks,
                                              long page_size, double boot) {
  // "PID (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted after its last ')'. Field 3 is the state.
  auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks <= 0)
    return std::nullopt;
  std::istringstream in{std::string{stat.substr(close + 1)}};
  std::vector<std::string> fields{"", "", ""}; // pid and comm: fields 1 and 2
  for (std::string f; in >> f;)
    fields.push_back(std::move(f));
  if (fields.size() <= 24)
    return std::nullopt;
  auto utime = number(fields[14]);
  auto stime = number(fields[15]);
  auto start = number(fields[22]);
  auto vsize = number(fields[23]);
  auto rss = number(fields[24]);
  if (!utime || !stime || !start || !vsize || !rss)
    return std::nullopt;
  auto hz = static_cast<double>(ticks);
  process_sample s;
  s.cpu_seconds = static_cast<double>(*utime + *stime) / hz;
  s.start_time_seconds = boot + static_cast<double>(*start) / hz;
  s.virtual_bytes = *vsize;
  s.resident_bytes = *rss * static_cast<std::uint64_t>(page_size);
  return s;
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
  std::istringstream in{std::string{proc_stat}};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0)
      if (auto n = number(line.substr(6)))
        return static_cast<double>(*n);
  return std::nullopt;
}

std::optional<process_sample> read_process_sample() {
  auto boot = boot_time();
  auto stat = slurp("/proc/self/stat");
  if (!boot || !stat)
    return std::nullopt;
  auto s = parse_proc_stat(*stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), *boot);
  auto fds = count_open_fds();
  if (!s || !fds)
    return std::nullopt;
  s->open_fds = *fds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    s->max_fds = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
  return s;
}

void process_metrics(exposition& out, const process_sample& s) {
  out.family("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
  out.sample("process_cpu_seconds_total", {}, s.cpu_seconds);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", {}, s.resident_bytes);
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.sample("process_virtual_memory_bytes", {}, s.virtual_bytes);
  out.family("process_open_fds", "gauge", "Number of open file descriptors.");
  out.sample("process_open_fds", {}, s.open_fds);
  out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  out.sample("process_max_fds", {}, s.max_fds);
  out.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
  out.sample("process_start_time_seconds", {}, s.start_time_seconds);
}

} // namespace switchboard::net
