#pragma once

/// The limits and timers of a node's connections and of its hub.

#include "switchboard/messages.hpp"

#include <caf/timespan.hpp>

#include <spdlog/fwd.h>

#include <chrono>
#include <cstddef>
#include <memory>

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
  /// On shutdown (or close_connection), a writer flushes its queue for at
  /// most this long.
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  /// Commands per second a connection may send on average (token bucket);
  /// 0 turns the limit off.
  double client_rate = 100;
  /// Commands a connection may send at once above the average rate.
  std::size_t client_burst = 200;
  /// A connection whose commands keep being refused for the rate for this
  /// long is disconnected (rate_limited, close 1008).
  caf::timespan client_rate_grace = std::chrono::seconds(10);
};

/// Limits the hub enforces on membership and commands, and its hooks.
struct hub_settings {
  /// Topics one connection may be subscribed to at once.
  std::size_t max_topics_per_connection = 128;
  /// Topics (with at least one subscriber or listener) on the node.
  std::size_t max_topics = 1'000'000;
  /// Whether clients may send direct messages to other clients.
  bool client_send = true;
  /// Deliveries a server-side actor (listener, service, observer) may have
  /// unhandled in its mailbox; one more and it is dropped (slow_listener).
  std::size_t actor_backlog = 1024;
  /// When set, asked before every client subscribe and publish; the answer
  /// applies in order with the connection's other commands.
  authorizer_actor authorizer;
  /// An authorizer that has not answered within this time (or failed)
  /// counts as `authorize_default`.
  caf::timespan authorize_timeout = std::chrono::seconds(1);
  bool authorize_default = false;
  /// The ping interval the welcome announces (`"ping":SECONDS`), so that a
  /// client can tell a quiet connection from a dead one; 0: not announced.
  /// node::start sets it to connection_settings::ping_interval.
  caf::timespan ping_interval{0};
  /// Where the hub logs connects and disconnects (debug) and drops
  /// (warn: slow_consumer, heartbeat_timeout, rate_limited, slow_listener);
  /// null: nowhere. node::start sets it to node_config::logger's; set it
  /// yourself only for a hub you spawn yourself (testing::hub_fixture).
  std::shared_ptr<spdlog::logger> logger;
};

} // namespace switchboard
