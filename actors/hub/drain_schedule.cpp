#include "hub/drain_schedule.hpp"

#include <algorithm>
#include <chrono>

namespace switchboard {

std::size_t drain_schedule::due(caf::timespan elapsed) const noexcept {
  if (total == 0 || elapsed >= period || period <= caf::timespan{0})
    return total;
  if (elapsed < caf::timespan{0})
    return 0;
  // In long double: total * elapsed in nanoseconds overflows 64 bits.
  auto share = static_cast<long double>(elapsed.count()) / period.count();
  auto n = static_cast<std::size_t>(share * total) + 1;
  return std::min(n, total);
}

caf::timespan drain_schedule::tick() const noexcept {
  using namespace std::chrono_literals;
  return std::clamp<caf::timespan>(period / 100, 10ms, 1s);
}

} // namespace switchboard
