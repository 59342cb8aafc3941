#pragma once

#include "commands.hpp"

#include <memory>

namespace switchboard {

// What a reader/writer pair needs from its socket. Not installed.

/// What a reader/writer pair needs from its socket. The network layer
/// implements it on top of a WebSocket session; the deterministic test
/// helpers put a fake socket there.
/// Every member may be called from any thread and must not block: an
/// implementation hands the work to the socket's own executor.
class transport {
public:
  virtual ~transport() = default;

  /// Writes `frames` as text messages, in order. At most one completion
  /// follows each call: `(write_done_atom)` to `writer` once every byte
  /// is on the socket, or `(closed_atom, uint8_t exit_code)` when the write
  /// failed. None follows when the connection is already going down for
  /// another reason (its reader then exits with that reason).
  /// The writer never has two writes outstanding.
  virtual void write(frame_batch frames, writer_actor writer) = 0;

  /// Sends a ping control frame.
  virtual void ping() = 0;

  /// The reader has handled one inbound message and can take another (the
  /// transport stops reading while too many are unhandled).
  virtual void consumed() = 0;

  /// The pair has exited: say goodbye as `how` asks (a close frame with its
  /// code where the socket still takes one) and close. Called exactly once,
  /// by the writer's exit.
  virtual void close(farewell how) = 0;
};

using transport_ptr = std::shared_ptr<transport>;

} // namespace switchboard
