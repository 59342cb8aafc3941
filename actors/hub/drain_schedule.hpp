#pragma once

// How a stop with a drain period spreads its closes (hub_stop.cpp): pure
// arithmetic, tested without actors. Not installed.

#include <caf/timespan.hpp>

#include <cstddef>

namespace switchboard {

/// `total` connections closed evenly over `period`: the i-th (from 0) is
/// due at i * period / total, so the first goes at once and the last one
/// period / total before the end.
struct drain_schedule {
  std::size_t total = 0;
  caf::timespan period{0};

  /// How many are due once `elapsed` has passed since the stop began: all
  /// of them from `period` on (and for a period of 0).
  std::size_t due(caf::timespan elapsed) const noexcept;

  /// The time between two batches: a hundredth of the period, at least
  /// 10ms (no busy hub for a short period), at most 1s (no second-long
  /// bursts for a long one).
  caf::timespan tick() const noexcept;
};

} // namespace switchboard
