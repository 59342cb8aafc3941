#pragma once

/// How a node stops, and so what its clients are told (docs/protocol.md,
/// "Close codes"; docs/operations.md, "Restarting").

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <cstdint>

namespace switchboard {

enum class stop_mode : std::uint8_t {
  /// The server is going away for good: close 1001 "going away".
  final_stop,
  /// The server comes back (or another takes its place): close 1012
  /// "service restart", so clients reconnect soon.
  restart,
};

/// The close code and reason a connection gets when its node stops in `mode`.
constexpr std::uint16_t close_code_of(stop_mode mode) noexcept {
  return mode == stop_mode::restart ? 1012 : 1001;
}

/// What the hub does on a stop: every connection's writer flushes and closes
/// with close_code_of(mode); the closes are spread evenly over
/// `drain_period` (0: all at once), then the hub refuses publishes and quits
/// once the last pair is down.
struct stop_plan {
  stop_mode mode = stop_mode::final_stop;
  caf::timespan drain_period{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stop_plan& x) {
  return f(caf::meta::type_name("stop_plan"), x.mode, x.drain_period);
}

} // namespace switchboard
