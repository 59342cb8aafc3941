#pragma once

// What a reader/writer pair needs from its socket. Not installed.

#include "commands.hpp"

#include <cstddef>
#include <memory>
#include <string>

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

  /// What is queued now.
  virtual backlog queued() const = 0;

  /// Hands complete frames over (`bytes` in all), from the hub: they are
  /// written in order, as soon as possible, everything handed over
  /// meanwhile in one go, and nobody is told per write (a write that fails
  /// ends the connection: (closed_atom, code) to the writer). The writer's
  /// bound (connection_settings: send_queue_frames, send_buffer_bytes)
  /// applies here: frames that would pass it are not taken, false is
  /// returned, and every later call refuses too.
  virtual bool send(frame_batch frames, std::size_t bytes) = 0;

  /// `writer` gets one (write_done_atom) once everything handed over so far
  /// is written (at once if it is): what comes later is not waited for. The
  /// writer asks before it closes.
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

  /// More than half of the writer's bound (frames or bytes) is handed over
  /// and not written yet: a sender that can wait (the hub delivering a
  /// burst from another node) lets the socket catch up first. Any thread.
  virtual bool congested() const {
    return false;
  }
  /// Who is on the other end ("address:port"), for log lines; empty when
  /// unknown. Any thread.
  virtual std::string peer() const {
    return {};
  }
};

using transport_ptr = std::shared_ptr<transport>;

} // namespace switchboard

// The hub holds each connection's transport (to hand frames over without a
// message per delivery); a transport never leaves its process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::transport_ptr)
