#pragma once

// The internal protocol between the network layer, a connection's
// reader/writer pair and the hub: atoms, client commands, shared frames and
// the typed interfaces of the pair. Not installed: applications only see
// switchboard/messages.hpp and the public hub_actor. No atom here shares a
// name with one of CAF's.

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

// -- payloads -----------------------------------------------------------------------

/// One outbound text message as it goes on the wire: the WebSocket frame
/// header, then the payload. Server frames are unmasked, so the frame is the
/// same for every receiver: it is built once and shared by all of them, and
/// per delivery only the reference count is touched (protocol::make_frame).
///
/// A frame is its bytes (it is used as a std::string everywhere) plus the
/// time the hub framed it, for the publish-to-write latency metric: the
/// stamp travels with the shared frame, so it costs one clock read per
/// publish, none per delivery. (Deriving from std::string is safe here: a
/// frame is only ever owned through a shared_ptr made for the frame type,
/// whose deleter destroys it as a frame.)
class stamped_frame : public std::string {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit stamped_frame(std::string bytes, time_point framed = {}) noexcept
    : std::string(std::move(bytes)), framed_at(framed) {
  }

  stamped_frame(const stamped_frame&) = delete;
  stamped_frame& operator=(const stamped_frame&) = delete;

  ~stamped_frame() {
    auto d = deflated_.load(std::memory_order_acquire);
    if (d != this)
      delete d;
  }

  /// When the hub built it (publishes); the epoch (zero) when not measured.
  time_point framed_at;

  // -- permessage-deflate (net/ws/deflate.hpp) ---------------------------------------

  /// The frame for receivers that negotiated compression, once the first of
  /// them made it: null before, this frame itself when compressing does not
  /// pay. Built lazily, so a publish without such receivers costs nothing.
  const stamped_frame* deflated() const noexcept {
    return deflated_.load(std::memory_order_acquire);
  }

  /// Keeps `made` (null: this frame itself) as deflated() unless another
  /// thread was first; returns what deflated() is now. Owned by this frame.
  const stamped_frame* keep_deflated(std::unique_ptr<const stamped_frame> made) const noexcept {
    const stamped_frame* expected = nullptr;
    const stamped_frame* mine = made ? made.get() : this;
    if (deflated_.compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
      made.release();
      return mine;
    }
    return expected; // `made` goes: the other thread's result stays
  }

private:
  mutable std::atomic<const stamped_frame*> deflated_{nullptr};
};

using frame_ptr = std::shared_ptr<const stamped_frame>;

/// Several outbound messages for one connection, in delivery order.
using frame_batch = std::vector<frame_ptr>;

// -- atoms --------------------------------------------------------------------------

/// A new reader/writer pair asks the hub to take it in.
using enroll_atom = caf::atom_constant<caf::atom("enroll")>;
/// The node is stopping (to the hub).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// The hub sends the batches it collected in this round.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// The transport wrote what the writer waits for (notify_when_drained).
using write_done_atom = caf::atom_constant<caf::atom("write_done")>;
/// Frames for the connection would have passed the writer's bound: the
/// transport took none of them (the hub tells the writer).
using over_bound_atom = caf::atom_constant<caf::atom("over_bound")>;
/// The socket is done (read or write failed, or closed), with an exit_code.
using closed_atom = caf::atom_constant<caf::atom("closed")>;
/// A binary message arrived.
using binary_atom = caf::atom_constant<caf::atom("binary")>;
/// A closing writer's flush time is over.
using give_up_atom = caf::atom_constant<caf::atom("give_up")>;
/// The reader's ping timer.
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
/// A ping's answer is due (the reader's pong deadline).
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
/// The reader asks the writer to ping.
using probe_atom = caf::atom_constant<caf::atom("probe")>;
/// The client answered (a pong or another control frame after our ping).
using alive_atom = caf::atom_constant<caf::atom("alive")>;

// -- client commands (reader -> hub) -----------------------------------------------

/// An `id` member of a client command, kept as its raw JSON text (a number or a
/// string), empty when the command had none.
using request_id = std::string;

struct client_subscribe {
  std::string topic = {};
  request_id id = {};
};

struct client_unsubscribe {
  std::string topic = {};
  request_id id = {};
};

struct client_publish {
  std::string topic = {};
  std::string data = {}; ///< raw JSON text of the value, kept verbatim
  request_id id = {};
};

/// A direct message to a connection (`to`) or, when `service` is set, to
/// the service of that name, or when `user` is set, to every connection of
/// that user.
struct client_send {
  conn_id to = 0;
  std::string service = {};
  std::string user = {};
  std::string data = {}; ///< raw JSON text of the value, kept verbatim
  request_id id = {};
};

/// A client frame the reader rejected (or a ping it answered): the hub
/// forwards the ready frame so that every reply keeps the order of the
/// requests.
struct client_error {
  frame_ptr frame = {};
  /// The rejection counter it adds to (hub_stats::rejections), if any.
  std::string counted_as = {};
};

/// How a connection ends on the wire: the reason, and for an application's
/// close_connection the close code and text it asked for. Sent to a writer
/// (the hub's shutdown, close_connection), it flushes what is queued first.
struct farewell {
  exit_code reason = exit_code::socket_closed;
  std::uint16_t code = 0; ///< 0: the one that goes with `reason`
  std::string text = {};
};

/// The farewell an exit reason carries (close_connection puts the code and
/// text into the error's context).
farewell farewell_of(const caf::error& reason);

/// The exit reason of close_connection{code, text}.
caf::error make_disconnect(std::uint16_t code, std::string text);

// -- the pair's interfaces ----------------------------------------------------------

/// Inbound messages and the heartbeat.
using reader_actor = caf::typed_actor<
  caf::reacts_to<std::string>, caf::reacts_to<binary_atom>, caf::reacts_to<alive_atom>,
  caf::reacts_to<heartbeat_atom>, caf::reacts_to<deadline_atom, std::int64_t>,
  caf::reacts_to<closed_atom, std::uint8_t>>;

/// The outbound policy: the bound, pings, the flush before a farewell.
using writer_actor = caf::typed_actor<
  caf::reacts_to<over_bound_atom>, caf::reacts_to<write_done_atom>,
  caf::reacts_to<closed_atom, std::uint8_t>, caf::reacts_to<probe_atom>,
  caf::reacts_to<farewell>, caf::reacts_to<give_up_atom>>;

} // namespace switchboard

// Shared frames and the commands stay inside one process: never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::frame_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::frame_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_unsubscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_publish)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_send)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::farewell)
