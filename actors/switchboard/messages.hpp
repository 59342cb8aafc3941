#pragma once

/// The one type-ID block of switchboard: every atom, every message struct and
/// its inspect(), and the named exit reasons of a connection pair.

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

// -- identifiers and payloads -------------------------------------------------

/// Connection ids are assigned by the hub: random positive integers below
/// 2^53 (exact in a JSON number, also for JavaScript), unique among the
/// node's connections. They are not sequential, so one client cannot guess
/// another's id.
using conn_id = std::uint64_t;

/// The payload of one outbound text message. Built once and shared by every
/// receiver; only the reference count is touched per delivery.
using frame_ptr = std::shared_ptr<const std::string>;

/// Several outbound messages for one connection, in delivery order.
using frame_batch = std::vector<frame_ptr>;

// -- atoms --------------------------------------------------------------------

using join_atom = caf::atom_constant<caf::atom("join")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using send_atom = caf::atom_constant<caf::atom("send")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using frames_atom = caf::atom_constant<caf::atom("frames")>;
using write_done_atom = caf::atom_constant<caf::atom("write_done")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using binary_atom = caf::atom_constant<caf::atom("binary")>;
/// A closing writer's flush time is over.
using give_up_atom = caf::atom_constant<caf::atom("give_up")>;

// -- exit reasons -------------------------------------------------------------

/// Why a connection pair exited. Used as the actors' exit reason, so the hub
/// (and anyone else monitoring the pair) sees it in the down message.
enum class exit_code : std::uint8_t {
  socket_closed = 1,  ///< EOF, reset, or a completed close handshake
  socket_error,       ///< any other read or write failure
  heartbeat_timeout,  ///< nothing arrived within pong-timeout after a ping
  slow_consumer,      ///< the outbound queue would pass its frame/byte bound
  protocol_error,     ///< an RFC 6455 violation (bad frame, bad UTF-8, too big)
  shutdown,           ///< the node is stopping
  rate_limited,       ///< commands above the rate limit for longer than the grace
  hub_down,           ///< the hub died: nobody routes this connection any more
};

/// Every exit code, in declaration order.
inline constexpr exit_code all_exit_codes[] = {
  exit_code::socket_closed, exit_code::socket_error,  exit_code::heartbeat_timeout,
  exit_code::slow_consumer, exit_code::protocol_error, exit_code::shutdown,
  exit_code::rate_limited,  exit_code::hub_down,
};

/// The error category of exit_code.
constexpr caf::atom_value exit_category = caf::atom("sboard");

/// The exit reason naming `x`. A value that names no exit code (such as 0,
/// which CAF would read as a normal exit) becomes socket_error.
caf::error make_error(exit_code x);

/// The name of an exit code ("socket_closed", ...), "unknown" otherwise.
const char* to_string(exit_code x);

/// Maps a down/exit reason to the exit code that names it; an error of
/// another category maps to socket_error, and a normal exit to shutdown.
exit_code exit_code_of(const caf::error& reason);

/// Registers the error category so `sys.render(err)` names the reason.
void add_error_category(caf::actor_system_config& cfg);

// -- messages from a reader to the hub -----------------------------------------

/// An `id` member of a client command, kept as its raw JSON text (a number or a
/// string), empty when the command had none.
using request_id = std::string;

struct client_subscribe {
  std::string topic;
  request_id id;
};

struct client_unsubscribe {
  std::string topic;
  request_id id;
};

struct client_publish {
  std::string topic;
  std::string data; ///< raw JSON text of the value, kept verbatim
  request_id id;
};

struct client_send {
  conn_id to = 0;
  std::string data; ///< raw JSON text of the value, kept verbatim
  request_id id;
};

/// A client frame the reader rejected; the hub forwards the ready error frame
/// so that every reply keeps the order of the requests.
struct client_error {
  frame_ptr frame;
  /// The rejection counter it adds to (hub_stats::rejections), if any.
  std::string counted_as;
};

// -- messages from the hub to server-side subscribers ---------------------------

/// What a server-side actor subscribed to a topic receives for every publish.
struct topic_message {
  std::string topic;
  std::string data; ///< raw JSON text of the value
  conn_id from = 0; ///< the publishing connection, 0 for a server-side publish
};

// -- statistics -----------------------------------------------------------------

struct hub_stats {
  std::uint64_t connections = 0;
  std::uint64_t topics = 0;
  std::uint64_t messages_in = 0;  ///< client commands and server-side publishes/sends
  std::uint64_t messages_out = 0; ///< frames handed to connection writers
  std::map<std::string, std::uint64_t> disconnects; ///< by exit reason name
  /// Commands refused by a limit, by reason (limit_exceeded, rate_limited,
  /// shutting_down, send_disabled).
  std::map<std::string, std::uint64_t> rejections;
};

// -- inspect ----------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_subscribe& x) {
  return f(caf::meta::type_name("client_subscribe"), x.topic, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_unsubscribe& x) {
  return f(caf::meta::type_name("client_unsubscribe"), x.topic, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_publish& x) {
  return f(caf::meta::type_name("client_publish"), x.topic, x.data, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_send& x) {
  return f(caf::meta::type_name("client_send"), x.to, x.data, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_message& x) {
  return f(caf::meta::type_name("topic_message"), x.topic, x.data, x.from);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_stats& x) {
  return f(caf::meta::type_name("hub_stats"), x.connections, x.topics,
           x.messages_in, x.messages_out, x.disconnects, x.rejections);
}

/// Adds every switchboard type that may cross a CAF network connection
/// (server-side subscribers and stats on remote nodes) to a config.
void add_message_types(caf::actor_system_config& cfg);

} // namespace switchboard

// Shared frames and batches stay inside one process: never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::frame_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::frame_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::client_error)
