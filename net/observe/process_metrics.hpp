#pragma once

// The process_* families every Prometheus client library exports (memory,
// CPU, file descriptors, start time), read from /proc/self on each scrape:
// a few small files and one directory listing. Absent where /proc is not
// (the families are then left out).

#include "observe/exposition.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace switchboard::net {

struct process_sample {
  double cpu_seconds = 0;        ///< user and system time
  double start_time_seconds = 0; ///< since the Unix epoch
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0; ///< the soft RLIMIT_NOFILE
};

/// What /proc/PID/stat (`stat`) says: CPU time, start time, virtual and
/// resident size; `ticks` per second (sysconf(_SC_CLK_TCK)), the page size
/// in bytes, and the boot time in seconds since the epoch (/proc/stat's
/// btime). Nothing when `stat` is not such a line.
std::optional<process_sample> parse_proc_stat(std::string_view stat, long ticks,
                                              long page_size, double boot_time);

/// The `btime` line of /proc/stat: the boot time in seconds since the
/// epoch; nothing when there is none.
std::optional<double> parse_boot_time(std::string_view proc_stat);

/// This process, now; nothing when /proc cannot be read.
std::optional<process_sample> read_process_sample();

/// Appends the process_* families.
void process_metrics(exposition& out, const process_sample& s);

} // namespace switchboard::net
