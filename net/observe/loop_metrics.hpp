#pragma once

// What an I/O loop counts of its own connections: wire bytes in and out,
// the publish-to-write latency and the queue depth at each flush. Internal
// to net/.
//
// The write path runs at a million deliveries a second, so nothing here may
// cost a shared atomic, a lock or an allocation per delivery. Each loop has
// its own loop_metrics, written only by the loop's thread: an update is a
// relaxed load and a relaxed store of a cache line that thread owns (no
// read-modify-write, no bus lock, no line bouncing between threads). A
// scrape, on any thread, reads every loop's values with relaxed loads and
// adds them up (io_loops::metrics); a value read mid-update is at most one
// observation behind, which a scrape tolerates. The atomics make that read
// well-defined (and ThreadSanitizer-clean) without costing the writer
// anything a plain integer would not.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace switchboard::net {

/// A counter with one writer thread and any number of readers.
class loop_counter {
public:
  void add(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::uint64_t read() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::uint64_t> value_{0};
};

/// A histogram of integer observations over fixed upper bounds (`le`,
/// inclusive), plus an overflow bucket (+Inf) and the sum; one writer
/// thread. Counts are kept per bucket (not cumulative): an observation
/// touches one bucket, the scrape accumulates.
template <std::size_t Buckets>
class loop_histogram {
public:
  using bounds_type = std::array<std::uint64_t, Buckets>;

  explicit loop_histogram(const bounds_type& bounds) noexcept : bounds_(bounds) {
  }

  void observe(std::uint64_t value) noexcept {
    std::size_t i = 0;
    while (i < Buckets && value > bounds_[i])
      ++i;
    counts_[i].add(1);
    sum_.add(value);
  }

  const bounds_type& bounds() const noexcept {
    return bounds_;
  }

  /// Observations in bucket `i` alone (Buckets: the overflow bucket).
  std::uint64_t count(std::size_t i) const noexcept {
    return counts_[i].read();
  }

  std::uint64_t sum() const noexcept {
    return sum_.read();
  }

private:
  bounds_type bounds_;
  std::array<loop_counter, Buckets + 1> counts_{};
  loop_counter sum_;
};

/// Upper bounds of the publish-to-write latency, in microseconds: 50 us to
/// 2.5 s, roughly three per decade. (Microseconds, not nanoseconds: the sum
/// of a loop that writes a million frames a second, each 1 ms late, then
/// wraps in centuries, not months.)
inline constexpr std::array<std::uint64_t, 15> latency_bounds_us{
  50,      100,     250,     500,       1'000,     2'500,     5'000,    10'000,
  25'000,  50'000,  100'000, 250'000,   500'000,   1'000'000, 2'500'000};

/// Upper bounds of the queue depth at a flush, in frames (powers of two up
/// to beyond the default send-queue of 256).
inline constexpr std::array<std::uint64_t, 11> depth_bounds{1,  2,   4,   8,   16,  32,
                                                           64, 128, 256, 512, 1024};

/// One I/O loop's metrics. Aligned to its own cache lines, so that two
/// loops never write the same line.
struct alignas(64) loop_metrics {
  /// WebSocket wire bytes after the upgrade: frames with their headers,
  /// control frames included (what the socket read and wrote).
  loop_counter bytes_in;
  loop_counter bytes_out;
  /// Bytes permessage-deflate kept off the wire: per receiver, a frame's
  /// size minus its compressed size (net/ws/deflate.hpp).
  loop_counter deflate_saved_bytes;
  /// From the hub framing a publish to the write that completed it, one
  /// observation per frame and receiver.
  loop_histogram<latency_bounds_us.size()> publish_latency{latency_bounds_us};
  /// Frames a connection has queued (handed over, not yet written) when its
  /// flush runs, one observation per flush.
  loop_histogram<depth_bounds.size()> queue_depth{depth_bounds};
};

} // namespace switchboard::net
