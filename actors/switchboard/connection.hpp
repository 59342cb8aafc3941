#pragma once

/// A connection is a pair of actors: a reader (inbound frames -> protocol ->
/// hub, and the read deadline) and a writer (bounded outbound queue, pings,
/// slow-consumer policy, write completions). They are linked, so one exit
/// takes both, and the hub monitors both.

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/transport.hpp"

#include <optional>

namespace switchboard {

// -- writer ---------------------------------------------------------------------

struct writer_state {
  transport_ptr transport;
  connection_settings settings;
  frame_batch queue;            ///< waiting for the next write
  std::size_t frames = 0;       ///< queued and in flight
  std::size_t bytes = 0;        ///< queued and in flight
  std::size_t flight_frames = 0;
  std::size_t flight_bytes = 0;
  bool busy = false;            ///< a write is outstanding
  bool closing = false;         ///< shutdown: exit once the queue is flushed
  /// While closing: frames queued before the shutdown notice that are not
  /// written yet. Frames queued after it go along if they can, but the
  /// writer does not wait for them.
  std::size_t closing_left = 0;

  static inline const char* name = "switchboard.writer";
};

/// Messages: `(frames_atom, frame_batch)`, `(write_done_atom)`,
/// `(closed_atom, uint8_t exit_code)` (the write failed), `(ping_atom)`,
/// `(shutdown_atom)`, `(give_up_atom)` (its own flush deadline). Exits with
/// slow_consumer, the write failure's reason or shutdown; on any exit it
/// hands the reason to `transport::close`.
caf::behavior writer(caf::stateful_actor<writer_state>* self,
                     transport_ptr transport, connection_settings settings);

// -- reader ---------------------------------------------------------------------

struct reader_state {
  using time_point = caf::actor_clock::time_point;

  hub_actor hub;
  caf::actor writer;
  transport_ptr transport;
  connection_settings settings;
  /// When the last frame or pong arrived.
  time_point last_activity;
  /// Commands sent to the hub and not handled yet. While there are any, the
  /// transport may have stopped reading (read credit), so the client cannot
  /// be judged by what arrives.
  std::size_t outstanding = 0;
  /// When `outstanding` last dropped to zero.
  time_point caught_up;
  /// The rate limit's token bucket.
  double tokens = 0;
  time_point refilled;
  /// When the client was first refused for the rate since its bucket was
  /// last full (none: not over the rate).
  std::optional<time_point> refused_since;

  static inline const char* name = "switchboard.reader";
};

/// Messages: `std::string` (one inbound text message), `(binary_atom)`,
/// `(pong_atom)`, `(closed_atom, uint8_t exit_code)`, and its own timers.
/// Every ping-interval it asks the writer to ping; if nothing arrives within
/// pong-timeout after that, it exits with heartbeat_timeout, except while
/// its commands wait on the hub (then the transport may not be reading: the
/// client gets its pong-timeout once the hub caught up). Commands above the
/// rate limit are answered with an error `rate_limited`; refused for longer
/// than client_rate_grace, it exits with rate_limited.
caf::behavior reader(caf::stateful_actor<reader_state>* self, hub_actor hub,
                     caf::actor writer, transport_ptr transport,
                     connection_settings settings);

// -- pair -----------------------------------------------------------------------

struct connection_actors {
  caf::actor reader;
  caf::actor writer;
};

/// Spawns the pair for a new socket; the reader joins it to the hub (and
/// exits with hub_down if the hub is gone). The transport
/// delivers inbound messages to `reader` and write completions to `writer`.
connection_actors spawn_connection(caf::actor_system& sys, const hub_actor& hub,
                                   transport_ptr transport,
                                   const connection_settings& settings);

} // namespace switchboard
