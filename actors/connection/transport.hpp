#pragma once

// What a reader/writer pair needs from its socket. Not installed.

#include "commands.hpp"
#include "connection/outbound_policy.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace switchboard {

/// The socket side of a reader/writer pair. The network layer implements it
/// on a WebSocket session; the deterministic test helpers put a fake socket
/// there. Every member may be called from any thread and must not block: an
/// implementation hands the work to the socket's own executor.
///
/// Its outbound queue is under the writer's outbound policy (policy()): the
/// hub hands frames over through the writer's `outbound` handle, which
/// admits them under the policy, and the implementation tells the policy
/// what left the queue. The implementation keeps the policy object next to
/// its queue: the socket goes on writing (or dropping) after the pair is
/// gone, and the hub's thread and the socket's touch both on every batch
/// (kept on the same cache lines).
class transport {
public:
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  virtual ~transport() = default;

  /// The writer's outbound policy on this socket's queue (read-only here:
  /// only the `outbound` handle admits, only the implementation reports
  /// writes).
  const outbound_policy& policy() const noexcept {
    return *policy_;
  }

  /// `writer` gets one (write_done_atom) once every frame admitted so far
  /// has left the queue (at once if it has): what comes later is not
  /// waited for. The writer asks before it closes.
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

  /// Who is on the other end ("address:port"), for log lines; empty when
  /// unknown. Any thread.
  virtual std::string peer() const {
    return {};
  }

protected:
  /// `policy`: the implementation's, constructed with the writer's send
  /// bound (send_bound(settings)), living as long as the implementation.
  explicit transport(outbound_policy& policy) noexcept : policy_(&policy) {
  }

  /// For the implementation: it reports what left the queue
  /// (outbound_policy::written, shrunk) from one thread at a time.
  outbound_policy& mutable_policy() noexcept {
    return *policy_;
  }

private:
  friend class outbound;

  /// Frames the writer's policy admitted (outbound::send), from one thread
  /// at a time: written in order, as soon as possible, everything handed
  /// over meanwhile in one go, and nobody is told per write. A write that
  /// fails ends the connection: (closed_atom, code) to the writer.
  virtual void hand_over(frame_batch frames) = 0;

  outbound_policy* policy_;
};

using transport_ptr = std::shared_ptr<transport>;

} // namespace switchboard

// The hub holds each connection's transport (to hand frames over without a
// message per delivery); a transport never leaves its process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::transport_ptr)
