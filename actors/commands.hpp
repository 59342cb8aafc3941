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
    auto d = encoded_.load(std::memory_order_acquire);
    if (d != this)
      delete d;
  }

  /// When the hub built it (publishes); the epoch (zero) when not measured.
  time_point framed_at;

  // -- a transport's own encoding ------------------------------------------------------

  /// The frame as a transport encodes it for its connections (the node's
  /// WebSocket sessions: compressed, net/ws/deflate.cpp), once the first of
  /// them made it: null before, this frame itself when the frame goes out as
  /// it is. Built lazily by the transport and shared like the frame, so a
  /// frame no such connection receives costs nothing. The actors never look
  /// at it; they only mark a frame that must go out as it is
  /// (keep_encoded(nullptr)).
  const stamped_frame* encoded() const noexcept {
    return encoded_.load(std::memory_order_acquire);
  }

  /// Keeps `made` (null: this frame itself) as encoded() unless another
  /// thread was first; returns what encoded() is now. Owned by this frame.
  const stamped_frame* keep_encoded(std::unique_ptr<const stamped_frame> made) const noexcept {
    const stamped_frame* expected = nullptr;
    const stamped_frame* mine = made ? made.get() : this;
    if (encoded_.compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
      made.release();
      return mine;
    }
    return expected; // `made` goes: the other thread's result stays
  }

private:
  mutable std::atomic<const stamped_frame*> encoded_{nullptr};
};

using frame_ptr = std::shared_ptr<const stamped_frame>;

/// Several outbound messages for one connection, in delivery order.
using frame_batch = std::vector<frame_ptr>;

// -- atoms --------------------------------------------------------------------------

/// A new reader/writer pair asks the hub to take it in.
using enroll_atom = caf::atom_constant<caf::atom("enroll")>;
/// The node is stopping (to the hub).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// The next batch of a stop's drain period is due (the hub, to itself).
using stop_step_atom = caf::atom_constant<caf::atom("stop_step")>;
/// The hub sends the batches it collected in this round.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// The transport wrote everything admitted before the writer asked
/// (transport::notify_when_drained): a closing writer may exit.
using write_done_atom = caf::atom_constant<caf::atom("write_done")>;
/// The writer's outbound policy refused a batch the hub handed through the
/// writer's `outbound` handle (it would have passed the send bound): the
/// client is a slow consumer. Sent once, by the handle, on the hub's thread.
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
/// The reader's heartbeat asks the writer to have the transport ping.
using probe_atom = caf::atom_constant<caf::atom("probe")>;
/// The client answered (a pong or another control frame after our ping).
using alive_atom = caf::atom_constant<caf::atom("alive")>;
/// The reader's rate-limit timer: its bucket has a token for what it holds.
using refill_atom = caf::atom_constant<caf::atom("refill")>;
/// The reader's credentials timer: they may have expired.
using expire_atom = caf::atom_constant<caf::atom("expire")>;
/// A reader held this many commands back for the rate (to the hub, which
/// counts them as rejections `rate_limited`).
using throttled_atom = caf::atom_constant<caf::atom("throttled")>;

// -- client commands (reader -> hub) -----------------------------------------------

/// An `id` member of a client command, kept as its raw JSON text (a number or a
/// string), empty when the command had none.
using request_id = std::string;

struct client_subscribe {
  std::string topic = {};
  request_id id = {};
  /// v1.1: `since` was given (recovery from `since`).
  bool recover = false;
  stream_position since = {};
  /// v1.1: the connection asks for join/leave events on the topic.
  bool join_leave = false;
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

/// v1.1: `{"type":"history",...}`: the last `limit` messages, or those
/// after `since`.
struct client_history {
  std::string topic = {};
  std::uint64_t limit = 0;
  bool has_since = false;
  stream_position since = {};
  request_id id = {};
};

/// v1.1: `{"type":"presence"}` (or `presence_stats` when `stats`).
struct client_presence {
  std::string topic = {};
  bool stats = false;
  request_id id = {};
};

/// A client's new credentials (`{"type":"refresh","token":T}`): the hub puts
/// them to the authenticator as it did at the upgrade.
struct client_refresh {
  std::string token = {};
  request_id id = {};
};

/// The hub's answer to a client_refresh (the reader's read credit, too).
struct refresh_result {
  /// False: refused (the client got an error frame), nothing changed.
  bool refreshed = false;
  /// When the new credentials expire (upgrade_verdict::expires); none: never.
  caf::optional<caf::timestamp> expires = caf::none;
};

/// A client frame the reader rejected (or a ping it answered): the hub
/// forwards the ready frame so that every reply keeps the order of the
/// requests.
struct client_error {
  frame_ptr frame = {};
};

/// How a connection ends on the wire: the reason, and for an application's
/// close_connection the close code and text it asked for. Sent to a writer
/// (the hub's shutdown, close_connection), it flushes what is queued first.
struct farewell {
  exit_code reason = exit_code::socket_closed;
  /// 0: the one that goes with `reason` (the transport's choice); set for
  /// close_connection and for token_expired (4001, "token expired").
  std::uint16_t code = 0;
  std::string text = {};
};

/// The farewell an exit reason carries (close_connection puts the code and
/// text into the error's context).
farewell farewell_of(const caf::error& reason);

/// The exit reason of a stop whose close is not the shutdown's own 1001: a
/// restart's (1012, "service restart"), carried like make_disconnect's.
caf::error make_shutdown(std::uint16_t code, std::string text);

/// The exit reason of close_connection{code, text}.
caf::error make_disconnect(std::uint16_t code, std::string text);

// -- the pair's interfaces ----------------------------------------------------------

/// Inbound messages, the heartbeat and the reader's own timers (the rate
/// limit's refill, the credentials' expiry).
using reader_actor = caf::typed_actor<
  caf::reacts_to<std::string>, caf::reacts_to<binary_atom>, caf::reacts_to<alive_atom>,
  caf::reacts_to<heartbeat_atom>, caf::reacts_to<deadline_atom, std::int64_t>,
  caf::reacts_to<closed_atom, std::uint8_t>, caf::reacts_to<refill_atom>,
  caf::reacts_to<expire_atom>>;

/// The writer: it acts on its outbound policy's refusal (over_bound: exit
/// with slow_consumer), a failed write (closed), the reader's ping request
/// (probe), and a farewell (flush, then exit; give_up bounds the wait). The
/// batches themselves never reach it: the hub hands them through the
/// writer's `outbound` handle (connection/outbound.hpp).
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_history)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_presence)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_refresh)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::refresh_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::farewell)
