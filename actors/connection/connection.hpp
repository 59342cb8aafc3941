#pragma once

// A connection is a pair of actors: a reader (inbound frames -> protocol ->
// hub, the rate limit, the heartbeat schedule and the read deadline) and a
// writer (the outbound policy: the send bound and the slow-consumer
// decision, pings on the reader's request, the flush before a farewell).
// They are linked, so one exit takes both, and the hub monitors both. Not
// installed.

#include "commands.hpp"
#include "hub/hub_state.hpp"
#include "connection/outbound.hpp"
#include "connection/transport.hpp"

#include "switchboard/settings.hpp"

#include <deque>
#include <optional>
#include <string>

namespace switchboard {

// -- writer ---------------------------------------------------------------------

/// One copy of the settings for all connections.
using settings_ptr = std::shared_ptr<const connection_settings>;

/// The send bound of the settings (send_queue_frames, send_buffer_bytes),
/// for a transport's outbound policy.
inline outbound_policy::limits send_bound(const connection_settings& s) noexcept {
  return {s.send_queue_frames, s.send_buffer_bytes};
}

/// The writer's job is the connection's outbound policy (outbound_policy:
/// the send bound in frames and in bytes, WebSocket headers included, on
/// what is handed to the transport and not written yet; the slow-consumer
/// decision; congestion). The policy object lives in the transport
/// (transport::policy()), next to the queue it counts, and the writer's
/// `outbound` handle (outbound.hpp) applies it: the hub hands each batch
/// through the handle, which admits it on the hub's thread straight into
/// the transport's queue, so that no message goes to the writer per batch
/// nor comes back per write. The writer acts on what needs an actor:
/// - a refused batch (over_bound_atom, once): it exits with slow_consumer;
/// - a failed write (closed_atom): it exits with the failure's reason;
/// - the reader's heartbeat (probe_atom): it asks the transport to ping
///   (the reader schedules pings and judges the answers);
/// - a farewell: it waits until everything admitted before it is written
///   (at most shutdown_timeout), then exits with the farewell's reason.
/// On any exit it hands the farewell to `transport::close`.
struct writer_state {
  transport_ptr transport;
  settings_ptr settings;
  /// Set by a farewell (the node stops, close_connection): the writer exits
  /// with it once what was admitted before it is written; what comes after
  /// it is not waited for.
  std::optional<farewell> closing;

  static inline const char* name = "switchboard.writer";
};

using writer_pointer = writer_actor::stateful_pointer<writer_state>;

/// The writer of a new connection (see writer_state).
writer_actor::behavior_type writer(writer_pointer self, transport_ptr transport,
                                   settings_ptr settings);

// -- reader ---------------------------------------------------------------------

/// An inbound message the reader holds back for the rate, unparsed.
struct held_message {
  std::string text;
  bool binary = false;
};

struct reader_state {
  using time_point = caf::actor_clock::time_point;

  hub_internal_actor hub;
  writer_actor writer;
  transport_ptr transport;
  settings_ptr settings;
  /// When the last frame or pong arrived.
  time_point last_activity;
  /// Commands sent to the hub and not handled yet. While there are any (or
  /// messages are held), the transport may have stopped reading (read
  /// credit), so the client cannot be judged by what arrives.
  std::size_t outstanding = 0;
  /// When `outstanding` and `held` last dropped to zero.
  time_point caught_up;

  // -- the rate limit
  /// The token bucket.
  double tokens = 0;
  time_point refilled;
  /// Messages that arrived without a token, in order and unparsed. Their
  /// read credit is withheld, so the transport stops reading and TCP holds
  /// the client back: there are at most the transport's read credit of them.
  /// A refill timer hands them on as the bucket refills.
  std::deque<held_message> held;
  bool refill_pending = false; ///< a refill_atom is on its way
  /// When the client first had to wait for a token since its bucket was last
  /// full (none: not over the rate).
  std::optional<time_point> limited_since;
  /// Messages held since the hub was last told (throttled_atom).
  std::uint64_t held_unreported = 0;

  // -- credentials
  /// When they expire (the actor clock; none: never).
  std::optional<time_point> expires;
  /// The wall-clock time when the reader started, and the actor clock's:
  /// a wall-clock expiry becomes an actor-clock deadline through them, so
  /// it moves with the actor clock (virtual in tests).
  caf::timestamp started_wall;
  time_point started;
  /// Refreshes sent to the hub and not answered yet: an expiry waits for them.
  std::size_t refreshing = 0;

  static inline const char* name = "switchboard.reader";
};

using reader_pointer = reader_actor::stateful_pointer<reader_state>;

/// Joins the pair to the hub (with `user`, the authenticated identity, and
/// `allowed`, the topics it may use) and exits with hub_down if the hub is
/// gone. Every ping-interval it asks the writer to ping; if nothing arrives
/// within pong-timeout after that, it exits with heartbeat_timeout, except
/// while its commands wait on the hub or for the rate (then the transport
/// may not be reading: the client gets its pong-timeout once caught up).
/// Every message takes a token before it is parsed; one that finds none is
/// held, unparsed, with its read credit, until the bucket has a token for
/// it: a client over the rate is slowed down to it, and costs no parsing
/// beyond it. Over the rate (held back) for longer than client_rate_grace,
/// it exits with rate_limited. At `expires` (wall-clock; none: never) it
/// exits with token_expired, unless a refresh the hub took moved it (one
/// that is still with the hub then is waited for).
reader_actor::behavior_type reader(reader_pointer self, hub_internal_actor hub,
                                   writer_actor writer, transport_ptr transport,
                                   settings_ptr settings, std::string user,
                                   topic_filter allowed,
                                   caf::optional<caf::timestamp> expires);

// -- pair -----------------------------------------------------------------------

struct connection_actors {
  reader_actor reader;
  writer_actor writer;
};

/// Spawns the pair for a new socket; the reader joins it to the hub. `user`,
/// `allowed` and `expires` are what its authenticator granted
/// (upgrade_verdict).
connection_actors spawn_connection(caf::actor_system& sys, const hub_internal_actor& hub,
                                   transport_ptr transport, settings_ptr settings,
                                   std::string user = {}, topic_filter allowed = {},
                                   caf::optional<caf::timestamp> expires = caf::none);

} // namespace switchboard
