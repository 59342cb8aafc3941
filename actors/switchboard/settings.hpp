#pragma once

#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>

namespace switchboard {

/// Per-connection limits and timers, shared by every reader/writer pair.
struct connection_settings {
  /// The writer pings this often.
  caf::timespan ping_interval = std::chrono::seconds(25);
  /// After a ping, the reader exits with heartbeat_timeout unless something
  /// (any frame or a pong) arrives within this time.
  caf::timespan pong_timeout = std::chrono::seconds(10);
  /// Bound of the writer's queue in frames (queued and in flight).
  std::size_t send_queue_frames = 256;
  /// Bound of the writer's queue in payload bytes (queued and in flight).
  std::size_t send_buffer_bytes = 1024 * 1024;
  /// On shutdown, a writer flushes its queue for at most this long.
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
};

} // namespace switchboard
