#pragma once

/// What an application exchanges with a switchboard hub: the requests it may
/// send (hub.hpp lists the hub's interface), the messages its actors receive,
/// the typed interfaces those actors implement, and the named exit reasons of
/// connections. Every type here has a free `inspect()`, so it can cross a CAF
/// network connection once add_message_types() has registered it.

#include <caf/all.hpp>

#include <boost/json/fwd.hpp>

#include <chrono>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace switchboard {

// -- identifiers ------------------------------------------------------------------

/// A connection's id: a random positive integer below 2^53 (exact in a JSON
/// number, also for JavaScript), unique among the node's connections. Not
/// sequential, so one client cannot guess another's id. 0 means "the server".
using conn_id = std::uint64_t;

// -- exit reasons -----------------------------------------------------------------

/// Why a connection ended (the reason its actors exited with), or why the
/// hub dropped a server-side actor.
enum class exit_code : std::uint8_t {
  socket_closed = 1,  ///< EOF, reset, or a completed close handshake
  socket_error,       ///< any other read or write failure
  heartbeat_timeout,  ///< nothing arrived within pong-timeout after a ping
  slow_consumer,      ///< the outbound queue would pass its frame/byte bound
  protocol_error,     ///< an RFC 6455 violation (bad frame, bad UTF-8, too big)
  shutdown,           ///< the node is stopping
  rate_limited,       ///< commands above the rate limit for longer than the grace
  hub_down,           ///< the hub died: nobody routes this connection any more
  disconnected,       ///< the application closed it (close_connection)
  slow_listener,      ///< a server-side actor fell too far behind its deliveries
  token_expired,      ///< its credentials expired (upgrade_verdict::expires), no refresh
};

/// Every exit code, in declaration order.
inline constexpr exit_code all_exit_codes[] = {
  exit_code::socket_closed,  exit_code::socket_error, exit_code::heartbeat_timeout,
  exit_code::slow_consumer,  exit_code::protocol_error, exit_code::shutdown,
  exit_code::rate_limited,   exit_code::hub_down,   exit_code::disconnected,
  exit_code::slow_listener,  exit_code::token_expired,
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

// -- errors of requests -----------------------------------------------------------

/// Why the hub refused a request (the error a request's reply carries).
enum class hub_errc : std::uint8_t {
  invalid_topic = 1, ///< not 1-256 bytes without control characters
  invalid_data,      ///< `data` is not one JSON value
  invalid_argument,  ///< a service name, close code or reason out of range
  limit_exceeded,    ///< the node holds its maximum number of topics
  shutting_down,     ///< the node is stopping: no new publishes or sends
  not_found,         ///< no such topic or connection (the queries)
  not_enabled,       ///< the topic's namespace has no history or no presence
  unavailable,       ///< the shared history store cannot be reached now
};

/// The error category of hub_errc.
constexpr caf::atom_value hub_error_category = caf::atom("sbhub");

caf::error make_error(hub_errc x);

const char* to_string(hub_errc x);

// -- what server-side actors receive ------------------------------------------------

/// A publish on a topic a listener subscribed to (add_listener).
struct topic_message {
  std::string topic = {};
  std::string data = {}; ///< raw JSON text of the value, as published
  conn_id from = 0; ///< the publishing connection, 0 for a server-side publish

  /// `data` parsed (include <boost/json.hpp> to use it). The hub hands on
  /// only valid JSON; text that is not throws boost::system::system_error.
  boost::json::value json() const;
};

/// A client's direct message to a service (`{"type":"send","to":"service:NAME",
/// "data":...}`); the service answers with send_direct{from, ..., "service:NAME"}.
struct service_message {
  std::string service = {}; ///< the name it was sent to
  conn_id from = 0;    ///< the sending connection
  std::string user = {};    ///< its authenticated user, empty when anonymous
  std::string data = {};    ///< raw JSON text of the value

  /// `data` parsed, as topic_message::json().
  boost::json::value json() const;
};

/// A connection joined or left the node (add_observer).
struct connection_event {
  enum kind_t : std::uint8_t { joined = 1, left = 2 };
  kind_t kind = joined;
  conn_id conn = 0;
  std::string user = {};   ///< empty when anonymous
  std::string reason = {}; ///< on `left`: the exit code's name (socket_closed, ...)
};

/// What a client asks to do, put to the authorizer.
enum class access : std::uint8_t { subscribe = 1, publish = 2 };

const char* to_string(access x);

/// One question to the authorizer: may `conn` (of `user`) do `what` on `topic`?
struct access_request {
  conn_id conn = 0;
  std::string user = {};
  access what = access::subscribe;
  std::string topic = {};
};

/// A WebSocket upgrade request, put to the authenticator before the upgrade;
/// and a connected client's refresh of its credentials
/// (`{"type":"refresh","token":T}`, docs/protocol.md), put to it the same way:
/// then `refresh` names the connection, `target` is empty and `headers` hold
/// one `Authorization: Bearer T`, so an authenticator that reads bearer
/// tokens judges refreshes with no change. The node keeps the connection
/// open whatever the verdict; an allowing one must name the connection's
/// user.
struct upgrade_request {
  std::string target = {}; ///< path and query, e.g. "/ws?token=..."
  std::vector<std::pair<std::string, std::string>> headers = {}; ///< as received
  std::string remote_address = {};
  /// A refresh: the connection's id (0: an upgrade).
  conn_id refresh = 0;
};

/// The authenticator's answer.
struct upgrade_verdict {
  bool allow = false;
  std::string user = {};               ///< the identity of an allowed connection
  std::uint16_t status = 401;     ///< the HTTP status of a refusal
  std::string reason = {};             ///< a short text for a refusal
  /// What an allowed connection may subscribe to and publish on: none means
  /// every topic; a list means only topics matching one of its glob patterns
  /// (`*` any run of characters, '/' included; `?` one character), checked
  /// by the hub before any authorizer (error `forbidden`). An empty list
  /// allows no topic. A refresh's verdict replaces the connection's topics.
  caf::optional<std::vector<std::string>> topics = caf::none;
  /// When an allowed connection's credentials end (wall-clock time, a JWT's
  /// `exp` plus the leeway): the node closes it then (4001 `token expired`,
  /// exit token_expired) unless a refresh moved it. None: never.
  caf::optional<caf::timestamp> expires = caf::none;
};

// -- the interfaces of server-side actors --------------------------------------------

/// Receives every publish on the topics it was added to.
using topic_listener_actor = caf::typed_actor<caf::reacts_to<topic_message>>;

/// Receives clients' direct messages to the name it was registered under.
using service_actor = caf::typed_actor<caf::reacts_to<service_message>>;

/// Receives a connection_event for every connection that joins or leaves.
using connection_observer_actor = caf::typed_actor<caf::reacts_to<connection_event>>;

/// Decides whether a connection may subscribe to or publish on a topic.
using authorizer_actor = caf::typed_actor<caf::replies_to<access_request>::with<bool>>;

/// Decides whether a WebSocket upgrade is allowed, and under which identity.
using authenticator_actor =
  caf::typed_actor<caf::replies_to<upgrade_request>::with<upgrade_verdict>>;

// -- requests to the hub (hub.hpp) ----------------------------------------------------

/// Publishes raw JSON `data` on `topic`. Reply: the number of receivers
/// (connections and listeners); invalid_topic, invalid_data, shutting_down.
/// (Named so that it cannot collide with caf::io::publish under
/// `using namespace caf::io; using namespace switchboard;`.)
struct publication {
  std::string topic = {};
  std::string data = {};

  /// The publication of `data` on `topic`, serialised here once (include
  /// <boost/json.hpp> to call it): no JSON text written by hand.
  static publication from_json(std::string topic, const boost::json::value& data);
};

#ifdef SWITCHBOARD_LEGACY_NAMES
/// publication's name up to 0.2 (renamed in 0.3). Declared only on request: under
/// `using namespace caf::io; using namespace switchboard;` it makes every
/// unqualified `publish` ambiguous.
using publish [[deprecated("renamed to switchboard::publication")]] = publication;
#endif

/// Sends raw JSON `data` to one connection as `{"type":"direct","from":...,
/// "data":...}`, from 0 (the server) or, when `from` is set, from that
/// string (a service answers as "service:NAME"). Reply: false when no such
/// connection exists; invalid_data, shutting_down.
struct send_direct {
  conn_id to = 0;
  std::string data = {};
  std::string from = {};

  /// The send_direct of `data` (serialised here once) to `to`.
  static send_direct from_json(conn_id to, const boost::json::value& data,
                               std::string from = {});
};

/// Subscribes a server-side actor to a topic. Reply: true, false when it
/// was subscribed already; invalid_topic, limit_exceeded (the node's topic
/// limit). The hub monitors the actor (once, whatever its number of topics)
/// and forgets it when it exits. A listener that falls more than
/// hub_settings::actor_backlog deliveries behind is dropped from every topic
/// and sent an exit with reason slow_listener.
struct add_listener {
  std::string topic = {};
  topic_listener_actor listener = {};
};

/// Ends add_listener.
struct remove_listener {
  std::string topic = {};
  topic_listener_actor listener = {};
};

/// Registers a service under `name` (1-64 bytes of [A-Za-z0-9._-]); clients
/// reach it with `{"type":"send","to":"service:NAME","data":...}`. Reply:
/// false when the name is taken by another actor; invalid_argument. Bounded
/// like a listener.
struct add_service {
  std::string name = {};
  service_actor service = {};
};

/// Ends add_service (only the actor registered under the name can be removed).
struct remove_service {
  std::string name = {};
  service_actor service = {};
};

/// Sends `observer` a connection_event for every connection that joins or
/// leaves from now on. Bounded like a listener.
struct add_observer {
  connection_observer_actor observer = {};
};

/// Ends add_observer.
struct remove_observer {
  connection_observer_actor observer = {};
};

/// Closes a connection with a WebSocket close code (1000-1003, 1007-1011 or
/// 3000-4999) and a reason (at most 123 bytes of UTF-8): queued frames go
/// first, the connection leaves with `disconnected`. Reply: false when no
/// such connection exists; invalid_argument.
struct close_connection {
  conn_id conn = 0;
  std::uint16_t code = 1000;
  std::string reason = {};
};

/// Installs (or, with a null handle, removes) the authorizer: from now on it
/// is asked before every client subscribe and publish, and its answer
/// applies in order with the connection's other commands. An authorizer
/// that does not answer within `timeout` (or fails) counts as
/// `default_allow`. hub_settings::authorizer installs one at start.
struct set_authorizer {
  authorizer_actor authorizer = {};
  caf::timespan timeout = std::chrono::seconds(1);
  bool default_allow = false;
};

/// Reply: the hub's statistics.
struct query_stats {};

// -- the server API's requests (also usable by any actor) -----------------------------

/// Receivers per topic (connections and listeners), the reply to broadcast.
/// A type of its own, not an alias of std::map: CAF 0.17 gives a registered
/// message type its wire name process-wide, so registering the standard map
/// under switchboard's name would rename the application's own maps.
struct delivery_counts : std::map<std::string, std::uint64_t> {
  using std::map<std::string, std::uint64_t>::map;
};

/// Publishes the same raw JSON `data` on every topic of `topics` (a topic
/// listed twice gets it once). Reply: the receivers per topic;
/// invalid_argument (no topic), invalid_topic (any one of them),
/// invalid_data, shutting_down. Nothing is published unless all are valid.
struct broadcast {
  std::vector<std::string> topics = {};
  std::string data = {};

  /// The broadcast of `data` (serialised here once) on `topics`.
  static broadcast from_json(std::vector<std::string> topics,
                             const boost::json::value& data);
};

/// Sends raw JSON `data` to every connection whose authenticated user
/// (upgrade_verdict::user) is `user`, as send_direct does. Reply: the
/// number of connections reached (0: the user has none); invalid_argument
/// (not 1-256 bytes), invalid_data, shutting_down.
struct send_to_user {
  std::string user = {};
  std::string data = {};
  std::string from = {};

  /// The send_to_user of `data` (serialised here once) to `user`.
  static send_to_user from_json(std::string user, const boost::json::value& data,
                                std::string from = {});
};

/// close_connection for every connection of `user`. Reply: the number of
/// connections told to close (0: the user has none); invalid_argument.
struct disconnect_user {
  std::string user = {};
  std::uint16_t code = 1000;
  std::string reason = {};
};

/// The most topics one query_topics answer lists.
constexpr std::uint32_t max_topics_listed = 1000;

/// Lists topics whose names start with `prefix` (all: empty), at most
/// `limit` of them (capped at max_topics_listed), in no particular order.
/// Reply: topic_list.
struct query_topics {
  std::string prefix = {};
  std::uint32_t limit = 100;
};

/// Reply: the topic_info of topic `name`; not_found when the topic has
/// neither subscribers nor listeners (topics exist only while they do).
struct query_topic {
  std::string name = {};
};

/// Reply: the connection_info of connection `conn`; not_found.
struct query_connection {
  conn_id conn = 0;
};

/// One topic: its subscribers (connections) and server-side listeners.
struct topic_info {
  std::string name = {};
  std::uint64_t subscribers = 0;
  std::uint64_t listeners = 0;
};

/// The answer to query_topics.
struct topic_list {
  std::vector<topic_info> topics = {};
  std::uint64_t total = 0;  ///< topics on the node
  bool truncated = false;   ///< more topics matched than listed
};

/// One connection, as the hub knows it.
struct connection_info {
  conn_id id = 0;
  std::string user = {};                 ///< empty when anonymous
  std::vector<std::string> topics = {};  ///< its subscriptions, in no order
  caf::timespan age{0};                  ///< since it joined (the actor clock)
  /// When it joined: wall-clock time since the Unix epoch.
  caf::timespan connected_since{0};
};

// -- history and presence (docs/embedding.md, docs/protocol.md v1.1) ----------------

/// A place in a topic's history: after the message numbered `offset` (0:
/// before the first) of the history called `epoch`. A history gets a new
/// epoch whenever it is lost (node restart, TTL-emptied and recreated,
/// remove_history), so an offset means something only with its epoch.
struct stream_position {
  std::uint64_t offset = 0;
  std::string epoch = {};
};

/// One kept message of a topic's history.
struct history_message {
  std::uint64_t offset = 0;
  std::string data = {}; ///< raw JSON text, as published

  /// `data` parsed, as topic_message::json().
  boost::json::value json() const;
};

/// publication, and tells where the message went: on a topic with history it
/// is stored and numbered like a client's publish. Reply: publish_result;
/// the errors of publication.
struct publish_numbered {
  std::string topic = {};
  std::string data = {};

  /// The publish_numbered of `data` (serialised here once) on `topic`.
  static publish_numbered from_json(std::string topic, const boost::json::value& data);
};

/// The reply to publish_numbered.
struct publish_result {
  std::uint64_t receivers = 0; ///< as publication's reply
  std::uint64_t offset = 0;    ///< the message's offset; 0: the topic has no history
  std::string epoch = {};      ///< its history's epoch; empty without history
};

/// The last `limit` kept messages of `topic` (capped at
/// hub_settings::recovery_max), or with `since` the first `limit` after it
/// (from the oldest kept when its epoch is not the current one). Reply:
/// history_page; not_enabled (no history on that topic), invalid_topic.
struct query_history {
  std::string topic = {};
  std::uint32_t limit = 100;
  caf::optional<stream_position> since = caf::none;
};

/// A topic's history, oldest message first.
struct history_page {
  std::string topic = {};
  std::string epoch = {};   ///< empty: the topic holds no history now
  std::uint64_t offset = 0; ///< the last offset given out (0: none)
  std::vector<history_message> messages = {};
};

/// Drops `topic`'s history: its next message starts a new epoch at offset
/// 1. Reply: the new position (offset 0; the new epoch while the topic has
/// subscribers, else empty); not_enabled, invalid_topic.
struct remove_history {
  std::string topic = {};
};

/// The most connections one presence answer lists.
constexpr std::size_t max_presence_listed = 1000;

/// Who is subscribed to `topic`. Reply: presence_info; not_enabled (no
/// presence on that topic), invalid_topic.
struct query_presence {
  std::string topic = {};
};

/// One subscribed connection.
struct presence_client {
  conn_id id = 0;
  std::string user = {}; ///< empty when anonymous
};

/// The answer to query_presence: at most max_presence_listed connections.
struct presence_info {
  std::string topic = {};
  std::vector<presence_client> clients = {};
  bool truncated = false; ///< more are subscribed than listed
  /// In a cluster: the nodes whose subscribers are in the answer (0: not
  /// clustered), and whether a member did not answer in time.
  std::uint64_t nodes = 0;
  bool partial = false;
};

/// How many are subscribed to `topic`. Reply: presence_counts;
/// not_enabled, invalid_topic.
struct query_presence_stats {
  std::string topic = {};
};

/// The answer to query_presence_stats.
struct presence_counts {
  std::string topic = {};
  std::uint64_t clients = 0; ///< subscribed connections
  std::uint64_t users = 0;   ///< distinct authenticated users among them
  /// In a cluster: as in presence_info.
  std::uint64_t nodes = 0;
  bool partial = false;
};

// -- statistics ---------------------------------------------------------------------

struct hub_stats {
  std::uint64_t connections = 0;
  std::uint64_t topics = 0;
  std::uint64_t messages_in = 0;  ///< client commands and server-side publishes/sends
  std::uint64_t messages_out = 0; ///< frames handed to connection writers
  std::map<std::string, std::uint64_t> disconnects = {}; ///< by exit reason name
  /// Commands refused, by reason (limit_exceeded, rate_limited,
  /// shutting_down, forbidden).
  std::map<std::string, std::uint64_t> rejections = {};
  std::uint64_t listeners = 0;     ///< server-side listeners
  std::uint64_t services = 0;      ///< registered services
  std::uint64_t slow_listeners = 0; ///< server-side actors dropped for falling behind
  /// Messages waiting in the hub's mailbox when it answered (a hub that
  /// falls behind shows here first).
  std::uint64_t mailbox = 0;
  /// History (docs/protocol.md v1.1): topics holding one, the messages and
  /// bytes they hold, messages evicted for --history-max-bytes.
  std::uint64_t history_topics = 0;
  std::uint64_t history_messages = 0;
  std::uint64_t history_bytes = 0;
  std::uint64_t history_evicted = 0;
  /// Subscribes with `since`, by outcome.
  std::uint64_t recovered = 0;
  std::uint64_t not_recovered = 0;
  /// presence and presence_stats queries answered (clients and server).
  std::uint64_t presence_queries = 0;
  /// join/leave frames sent, and events not sent for the subscriber cap.
  std::uint64_t join_leave_sent = 0;
  std::uint64_t join_leave_suppressed = 0;
};

// -- inspect ----------------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_message& x) {
  return f(caf::meta::type_name("topic_message"), x.topic, x.data, x.from);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_message& x) {
  return f(caf::meta::type_name("service_message"), x.service, x.from, x.user, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_event& x) {
  return f(caf::meta::type_name("connection_event"), x.kind, x.conn, x.user, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, access_request& x) {
  return f(caf::meta::type_name("access_request"), x.conn, x.user, x.what, x.topic);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upgrade_request& x) {
  return f(caf::meta::type_name("upgrade_request"), x.target, x.headers,
           x.remote_address, x.refresh);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upgrade_verdict& x) {
  return f(caf::meta::type_name("upgrade_verdict"), x.allow, x.user, x.status, x.reason,
           x.topics, x.expires);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publication& x) {
  return f(caf::meta::type_name("publication"), x.topic, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_direct& x) {
  return f(caf::meta::type_name("send_direct"), x.to, x.data, x.from);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_listener& x) {
  return f(caf::meta::type_name("add_listener"), x.topic, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_listener& x) {
  return f(caf::meta::type_name("remove_listener"), x.topic, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_service& x) {
  return f(caf::meta::type_name("add_service"), x.name, x.service);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_service& x) {
  return f(caf::meta::type_name("remove_service"), x.name, x.service);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_observer& x) {
  return f(caf::meta::type_name("add_observer"), x.observer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_observer& x) {
  return f(caf::meta::type_name("remove_observer"), x.observer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, close_connection& x) {
  return f(caf::meta::type_name("close_connection"), x.conn, x.code, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_authorizer& x) {
  return f(caf::meta::type_name("set_authorizer"), x.authorizer, x.timeout, x.default_allow);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_stats&) {
  return f(caf::meta::type_name("query_stats"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, broadcast& x) {
  return f(caf::meta::type_name("broadcast"), x.topics, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_counts& x) {
  return f(caf::meta::type_name("delivery_counts"),
           static_cast<std::map<std::string, std::uint64_t>&>(x));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_to_user& x) {
  return f(caf::meta::type_name("send_to_user"), x.user, x.data, x.from);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disconnect_user& x) {
  return f(caf::meta::type_name("disconnect_user"), x.user, x.code, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_topics& x) {
  return f(caf::meta::type_name("query_topics"), x.prefix, x.limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_topic& x) {
  return f(caf::meta::type_name("query_topic"), x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_connection& x) {
  return f(caf::meta::type_name("query_connection"), x.conn);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_info& x) {
  return f(caf::meta::type_name("topic_info"), x.name, x.subscribers, x.listeners);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_list& x) {
  return f(caf::meta::type_name("topic_list"), x.topics, x.total, x.truncated);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info& x) {
  return f(caf::meta::type_name("connection_info"), x.id, x.user, x.topics, x.age,
           x.connected_since);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hub_stats& x) {
  return f(caf::meta::type_name("hub_stats"), x.connections, x.topics, x.messages_in,
           x.messages_out, x.disconnects, x.rejections, x.listeners, x.services,
           x.slow_listeners, x.mailbox, x.history_topics, x.history_messages,
           x.history_bytes, x.history_evicted, x.recovered, x.not_recovered,
           x.presence_queries, x.join_leave_sent, x.join_leave_suppressed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_position& x) {
  return f(caf::meta::type_name("stream_position"), x.offset, x.epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_message& x) {
  return f(caf::meta::type_name("history_message"), x.offset, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_numbered& x) {
  return f(caf::meta::type_name("publish_numbered"), x.topic, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_result& x) {
  return f(caf::meta::type_name("publish_result"), x.receivers, x.offset, x.epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_history& x) {
  return f(caf::meta::type_name("query_history"), x.topic, x.limit, x.since);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_page& x) {
  return f(caf::meta::type_name("history_page"), x.topic, x.epoch, x.offset, x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_history& x) {
  return f(caf::meta::type_name("remove_history"), x.topic);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_presence& x) {
  return f(caf::meta::type_name("query_presence"), x.topic);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_client& x) {
  return f(caf::meta::type_name("presence_client"), x.id, x.user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_info& x) {
  return f(caf::meta::type_name("presence_info"), x.topic, x.clients, x.truncated,
           x.nodes, x.partial);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_presence_stats& x) {
  return f(caf::meta::type_name("query_presence_stats"), x.topic);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_counts& x) {
  return f(caf::meta::type_name("presence_counts"), x.topic, x.clients, x.users,
           x.nodes, x.partial);
}

// -- registration ------------------------------------------------------------------------

/// Registers the exit_code error category, so `sys.render(err)` names it.
void add_error_category(caf::actor_system_config& cfg);

/// Registers every type above with a config, each under a name of its own
/// ("switchboard::publication", ...), never a standard type's, so the
/// application's own types keep their names. Call it in every process that
/// runs a node or talks to one: it is what lets switchboard's messages
/// cross a process (a clustered node's peers exchange them; a remote actor
/// may use a hub handle over CAF's middleman). Within one process CAF 0.17
/// does not need it, and it costs nothing to have.
void add_message_types(caf::actor_system_config& cfg);

} // namespace switchboard
