#pragma once

// A connection is a pair of actors: a reader (inbound frames -> protocol ->
// hub, the rate limit and the read deadline) and a writer (bounded outbound
// queue, pings, slow-consumer policy, write completions). They are linked,
// so one exit takes both, and the hub monitors both. Not installed.

#include "commands.hpp"
#include "hub/hub_state.hpp"
#include "connection/transport.hpp"

#include "switchboard/settings.hpp"

#include <deque>
#include <optional>
#include <string>

namespace switchboard {

// -- writer ---------------------------------------------------------------------

/// The writer owns the outbound policy: the queue bound (frames and bytes
/// the transport has not written yet: its settings, applied by the
/// transport where the hub hands frames over), the slow-consumer decision,
/// pings, and the flush before a farewell. The queue itself is the
/// transport's: the hub hands frames straight to it, and no message goes to
/// the writer per batch nor comes back per write.
/// One copy of the settings for all connections.
using settings_ptr = std::shared_ptr<const connection_settings>;

struct writer_state {
  transport_ptr transport;
  settings_ptr settings;
  /// Set by a farewell (the node stops, close_connection): the writer exits
  /// with it once what was queued before it is written, dropping what comes
  /// after it.
  std::optional<farewell> closing;

  static inline const char* name = "switchboard.writer";
};

using writer_pointer = writer_actor::stateful_pointer<writer_state>;

/// Exits with slow_consumer, the write failure's reason, or its farewell's
/// (at the latest shutdown_timeout after the farewell); on any exit it hands
/// the farewell to `transport::close`.
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
