#pragma once

// What a reader/writer pair needs from its socket. Not installed.

#include "commands.hpp"

#include <cstddef>
#include <memory>

namespace switchboard {

/// The socket side of a reader/writer pair. The network layer implements it
/// on a WebSocket session; the deterministic test helpers put a fake socket
/// there. Every member may be called from any thread and must not block: an
/// implementation hands the work to the socket's own executor.
class transport {
public:
  /// Frames handed over with send() and not yet on the socket.
  struct backlog {
    std::size_t frames = 0;
    std::size_t bytes = 0;
  };

  virtual ~transport() = default;

  /// What is queued now. Only the writer adds to it, so between two of its
  /// own calls the backlog can only shrink: the writer's bound check on it
  /// holds for its next send().
  virtual backlog queued() const = 0;

  /// Hands complete frames over (`bytes` in all); they are written in order,
  /// as soon as possible, everything handed over meanwhile in one go. The
  /// writer needs no answer per write: a write that fails ends the
  /// connection ((closed_atom, code) to the writer).
  virtual void send(frame_batch frames, std::size_t bytes) = 0;

  /// `writer` gets one (write_done_atom) once the backlog is empty (at once
  /// if it is). The writer asks when it closes and waits for its queue.
  virtual void notify_when_drained(writer_actor writer) = 0;

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
