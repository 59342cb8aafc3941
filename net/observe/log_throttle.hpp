#pragma once

// Bounds the log lines of one kind of event that an attacker controls (an
// upgrade flood answered 429 by the thousand): at most `per_second` lines
// a second go out; the rest are counted, and the next line that goes out
// says how many were held back. Any thread (the I/O loops share one).

#include "io/spin_guard.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchboard::net {

class log_throttle {
public:
  using clock = std::chrono::steady_clock;

  explicit log_throttle(std::uint32_t per_second) : per_second_(per_second) {
  }

  /// Whether a line may go out at `now`; if so, `held_back` is set to the
  /// lines suppressed since the last one that went out.
  bool allow(clock::time_point now, std::uint64_t& held_back) {
    auto second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    spin_guard guard{lock_};
    if (second != window_) {
      window_ = second;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++held_back_;
      return false;
    }
    ++used_;
    held_back = held_back_;
    held_back_ = 0;
    return true;
  }

private:
  const std::uint32_t per_second_;
  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  std::int64_t window_ = -1; ///< guarded by lock_
  std::uint32_t used_ = 0;   ///< guarded by lock_
  std::uint64_t held_back_ = 0; ///< guarded by lock_
};

} // namespace switchboard::net
