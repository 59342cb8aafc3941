#pragma once

/// A connection is a pair of actors: a reader (inbound frames -> protocol ->
/// hub, and the read deadline) and a writer (bounded outbound queue, pings,
/// slow-consumer policy, write completions). They are linked, so one exit
/// takes both, and the hub monitors both.

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/transport.hpp"

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

  static inline const char* name = "switchboard.writer";
};

/// Messages: `(frames_atom, frame_batch)`, `(write_done_atom)`,
/// `(closed_atom, uint8_t exit_code)` (the write failed), `(ping_atom)`,
/// `(shutdown_atom)`. Exits with slow_consumer, the write failure's reason or
/// shutdown; on any exit it hands the reason to `transport::close`.
caf::behavior writer(caf::stateful_actor<writer_state>* self,
                     transport_ptr transport, connection_settings settings);

// -- reader ---------------------------------------------------------------------

struct reader_state {
  hub_actor hub;
  caf::actor writer;
  transport_ptr transport;
  connection_settings settings;
  /// When the last frame or pong arrived.
  caf::actor_clock::time_point last_activity;

  static inline const char* name = "switchboard.reader";
};

/// Messages: `std::string` (one inbound text message), `(binary_atom)`,
/// `(pong_atom)`, `(closed_atom, uint8_t exit_code)`, and its own timers.
/// Every ping-interval it asks the writer to ping; if nothing arrives within
/// pong-timeout after that, it exits with heartbeat_timeout.
caf::behavior reader(caf::stateful_actor<reader_state>* self, hub_actor hub,
                     caf::actor writer, transport_ptr transport,
                     connection_settings settings);

// -- pair -----------------------------------------------------------------------

struct connection_actors {
  caf::actor reader;
  caf::actor writer;
};

/// Spawns the pair for a new socket and joins it to the hub. The transport
/// delivers inbound messages to `reader` and write completions to `writer`.
connection_actors spawn_connection(caf::actor_system& sys, const hub_actor& hub,
                                   transport_ptr transport,
                                   const connection_settings& settings);

} // namespace switchboard
