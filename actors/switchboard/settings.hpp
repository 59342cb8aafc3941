#pragma once

/// The limits and timers of a node's connections and of its hub.

#include "switchboard/messages.hpp"

#include <caf/timespan.hpp>

#include <spdlog/fwd.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

/// Per-connection limits and timers, shared by every reader/writer pair.
struct connection_settings {
  /// The reader's heartbeat: this often it has the writer ask the
  /// transport for a ping.
  caf::timespan ping_interval = std::chrono::seconds(25);
  /// After a ping, the reader exits with heartbeat_timeout unless something
  /// (any frame or a pong) arrives within this time.
  caf::timespan pong_timeout = std::chrono::seconds(10);
  /// The writer's send bound in frames: handed to the transport and not
  /// written yet (in its outbox or in a write). A batch that would pass it
  /// is refused and the client cut off (slow_consumer).
  std::size_t send_queue_frames = 256;
  /// The writer's send bound in bytes, counted as for send_queue_frames:
  /// whole frames, WebSocket headers included (a compressed frame counts
  /// at its compressed size once its I/O thread compressed it).
  std::size_t send_buffer_bytes = 1024 * 1024;
  /// On shutdown (or close_connection), a writer waits at most this long
  /// for what was handed over before the farewell to be written.
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  /// Commands per second a connection may send on average (token bucket,
  /// taken before a message is parsed); 0 turns the limit off. Past it the
  /// connection's messages wait, unparsed, for tokens, and it is not read
  /// meanwhile (read credit): its commands run late, none is refused.
  double client_rate = 100;
  /// Commands a connection may send at once above the average rate.
  std::size_t client_burst = 200;
  /// A connection held back by the rate for this long (without earning its
  /// whole burst back meanwhile) is disconnected (rate_limited, close 1008).
  caf::timespan client_rate_grace = std::chrono::seconds(10);
};

/// A topic's options (docs/protocol.md v1.1): the top-level ones, or its
/// namespace's (hub_settings::namespaces).
struct topic_options {
  /// Messages kept per topic; 0: no history and no offsets.
  std::size_t history_size = 0;
  /// A kept message older than this is dropped.
  caf::timespan history_ttl = std::chrono::minutes(5);
  /// Whether `presence` and `presence_stats` are answered.
  bool presence = false;
  /// Whether subscribers may ask for join/leave events.
  bool join_leave = false;
};

/// The bounds of topic_options (node_config::problems() checks them).
constexpr std::size_t max_history_size = 100'000;
constexpr std::size_t max_recovery = 100'000;

/// Limits the hub enforces on membership and commands, and its hooks.
struct hub_settings {
  /// Topics one connection may be subscribed to at once.
  std::size_t max_topics_per_connection = 128;
  /// Topics (with at least one subscriber or listener) on the node.
  std::size_t max_topics = 1'000'000;
  /// Whether clients may send direct messages to other clients.
  bool client_send = true;
  /// While the hub is busy (it handed frames out within the last ten
  /// windows), a delivery's frames wait this long, and whatever comes
  /// meanwhile goes out with them, one write per connection; after a quiet
  /// spell a delivery goes out at once. 0: every batch goes out as soon as
  /// the hub's mailbox is worked through (the default here, so that a
  /// deterministic test needs no clock; the node's default is 1 ms,
  /// node_config).
  caf::timespan delivery_coalesce{0};
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
  /// Asked again when a client refreshes its credentials
  /// (`{"type":"refresh","token":T}`; upgrade_request::refresh); null: a
  /// refresh gets the error `not_enabled`. node::start sets it to
  /// node_config::authenticator (and the timeout to its); set it yourself
  /// only for a hub you spawn yourself. No answer within
  /// authenticate_timeout: error `unavailable`, nothing changes.
  authenticator_actor authenticator;
  caf::timespan authenticate_timeout = std::chrono::seconds(2);
  /// The ping interval the welcome announces (`"ping":SECONDS`), so that a
  /// client can tell a quiet connection from a dead one; 0: not announced.
  /// node::start sets it to connection_settings::ping_interval.
  caf::timespan ping_interval{0};
  /// Where the hub logs connects and disconnects (debug) and drops
  /// (warn: slow_consumer, heartbeat_timeout, rate_limited, slow_listener);
  /// null: nowhere. node::start sets it to node_config::logger's; set it
  /// yourself only for a hub you spawn yourself (testing::hub_fixture).
  std::shared_ptr<spdlog::logger> logger;

  // -- history and presence (docs/protocol.md v1.1) --------------------------------

  /// The options of topics outside every namespace.
  topic_options topic_defaults;
  /// A topic `NS:REST` whose NS is a key here takes that namespace's
  /// options. Names: 1-64 bytes of [A-Za-z0-9_-].
  std::map<std::string, topic_options> namespaces;
  /// Bytes all histories together may hold (data plus a fixed overhead per
  /// message); past it the oldest messages of the largest histories go.
  std::size_t history_max_bytes = std::size_t{256} << 20;
  /// Missed messages one recovery may replay, and the cap of a history
  /// query's limit.
  std::size_t recovery_max = 300;
  /// Bytes one recovery may replay (more: recovered:false) or one history
  /// reply may carry (more: cut down, "truncated":true), less what the
  /// connection has queued. The hub never uses more than half of the
  /// connection's send bound (its writer's outbound policy), so that a
  /// replay and the live messages behind it fit.
  std::size_t replay_max_bytes = std::size_t{512} << 10;
  /// On a topic with more subscribers than this, no join/leave events are
  /// sent (they cost N frames per join).
  std::size_t join_leave_max_subscribers = 1000;
  /// A shared history store (switchboard/history_store.hpp: the requests it
  /// answers), such as the node's Redis store; invalid: the hub keeps
  /// histories in its own memory.
  caf::actor history_store;
  /// How long the hub waits for the store's answer to one request; past it
  /// the request fails as `unavailable` (a publish, a subscribe, a history
  /// query) or a gap is skipped. A backstop behind the store's own timeout,
  /// and below the server API's wait for the hub (5 s), so that the API
  /// answers the store's error, not its own timeout.
  caf::timespan history_store_timeout = std::chrono::seconds(3);
  /// Appends the hub may have outstanding at the store at once; past it a
  /// publish on a topic with history is refused as `unavailable` at once,
  /// so a store that stops answering cannot grow the hub's memory.
  std::size_t history_store_max_in_flight = 10000;
  /// How long a numbered message may wait for a lower offset of its topic
  /// (a message on its way from another node, or lost with it) before the
  /// hub reads the missing ones from the store, or skips them.
  caf::timespan history_gap_timeout = std::chrono::seconds(1);

  /// The options of `topic`.
  const topic_options& options_for(const std::string& topic) const;

  /// What is impossible about the options above (named after the CLI
  /// options), empty when they can run.
  std::vector<std::string> topic_option_problems() const;
};

} // namespace switchboard
