#pragma once

// The hub's inside: the wider interface the network layer and the connection
// pairs use (switchboard/hub.hpp is the part applications get), its state,
// and the functions its source files share. Not installed.

#include "cluster/cluster_messages.hpp"
#include "commands.hpp"
#include "hub/id_source.hpp"
#include "hub/topic_filter.hpp"
#include "hub/topic_table.hpp"
#include "connection/transport.hpp"

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"

#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace switchboard {

using hub_internal_actor = hub_actor::extend<
  /// A new pair, its transport, its authenticated user (empty: anonymous)
  /// and the topics it may use; the hub monitors both actors and sends the
  /// welcome.
  caf::reacts_to<enroll_atom, reader_actor, writer_actor, transport_ptr, std::string,
                 topic_filter>,
  /// Client commands, sent by a reader as requests: the reply (none, or an
  /// error frame to the client) is the reader's read credit.
  caf::reacts_to<client_subscribe>, caf::reacts_to<client_unsubscribe>,
  caf::reacts_to<client_publish>, caf::reacts_to<client_send>,
  caf::reacts_to<client_error>,
  /// A refresh, put to the authenticator: the reply says whether it was
  /// taken and the new expiry (the reader moves its deadline).
  caf::replies_to<client_refresh>::with<refresh_result>,
  /// Commands a reader held back for the rate (counted, rejections).
  caf::reacts_to<throttled_atom, std::uint64_t>,
  /// The node stops: refuse publishes, flush every writer, quit once the last
  /// pair is down.
  caf::reacts_to<shutdown_atom>,
  /// Send the batches collected in this round (to itself).
  caf::reacts_to<drain_atom>,
  /// The node is clustered (hub_cluster.cpp): this cluster actor takes what
  /// must reach other nodes, and hands over what arrived from them.
  caf::reacts_to<cluster_attach>, caf::reacts_to<cluster_delivery>,
  caf::reacts_to<cluster_resume_atom>>;

// -- state ----------------------------------------------------------------------------

using client_command =
  std::variant<client_subscribe, client_unsubscribe, client_publish, client_send,
               client_refresh, client_error>;

/// A command that waits behind an authorizer's answer, and its reader.
struct waiting_command {
  client_command cmd;
  caf::response_promise done;
};

struct hub_connection {
  conn_id id = 0;
  reader_actor reader;
  writer_actor writer;
  /// Where the frames go: straight to the connection's outbox, no message
  /// per delivery (the writer keeps the policy: its bound applies there).
  transport_ptr transport;
  std::string user;
  /// The topics it may subscribe to and publish on (its authenticator's
  /// verdict), checked before any authorizer.
  topic_filter allowed;
  /// The other connections of the same user (hub_state::users; intrusive,
  /// so adding and removing one costs O(1) and no allocation).
  hub_connection* user_prev = nullptr;
  hub_connection* user_next = nullptr;
  /// When it joined (the actor clock, virtual in tests).
  caf::actor_clock::time_point joined{};
  subscription_list topics;
  /// Frames collected since the last drain, handed over as one batch.
  frame_batch pending;
  std::size_t pending_bytes = 0;
  /// The transport refused frames (over the writer's bound): the writer is
  /// told, and nothing more is handed over.
  bool over_bound = false;
  /// Whether the connection is in hub_state::dirty.
  bool dirty = false;
  /// An authorizer's answer (or the authenticator's, for a refresh) is
  /// outstanding: the connection's later commands wait in `waiting`, so that
  /// every command applies in order. (At most the reader's read credit of
  /// them: a vector, which costs nothing while empty.)
  bool authorizing = false;
  std::vector<waiting_command> waiting;
};

/// A server-side actor: a listener, a service, an observer (or several):
/// monitored once, bounded in what it may have unhandled, forgotten when it
/// exits or holds nothing any more.
struct hub_app_actor {
  caf::actor handle;
  std::unordered_set<hub_topic*> topics;
  std::vector<std::string> services;
  bool observer = false;
  /// Deliveries it has not handled yet.
  std::size_t in_flight = 0;

  bool unused() const noexcept {
    return topics.empty() && services.empty() && !observer;
  }
};

struct hub_state {
  hub_settings settings;
  std::unordered_map<conn_id, hub_connection> connections;
  /// Reader and writer address -> connection id.
  std::unordered_map<caf::actor_addr, conn_id> by_actor;
  /// Authenticated user -> the first of its connections (linked through
  /// hub_connection::user_next); anonymous connections are not in it.
  std::unordered_map<std::string, hub_connection*> users;
  topic_table topics;
  std::unordered_map<caf::actor_addr, hub_app_actor> app_actors;
  std::unordered_map<std::string, hub_app_actor*> services;
  std::vector<hub_app_actor*> observers;
  /// Connections that got frames since the last drain.
  std::vector<hub_connection*> dirty;
  id_source ids;
  bool shutting_down = false;
  hub_stats stats;
  /// The node's cluster actor (null: not clustered) and the node's tag in
  /// connection ids.
  cluster_inbox_actor cluster;
  std::uint16_t tag = 0;
  /// Deliveries from other nodes not handled yet: the front one from item
  /// remote_next on (hub_cluster.cpp, deliver_remote).
  std::deque<cluster_delivery> remote;
  std::size_t remote_next = 0;
  std::size_t remote_items = 0;  ///< items waiting in `remote`
  std::size_t remote_waits = 0;  ///< pauses in a row for congested sockets
  bool remote_paused = false;    ///< a cluster_resume_atom is on its way

  hub_state() = default;
  hub_state(const hub_state&) = delete;
  hub_state& operator=(const hub_state&) = delete;

  /// Runs when the hub terminates. After a regular shutdown no connection is
  /// left; any that is means the hub died (a bug, an exception, a kill):
  /// nobody routes those connections any more, so they go down with it
  /// (hub_down, close 1011) instead of idling forever.
  ~hub_state();

  static inline const char* name = "switchboard.hub";
};

using hub_pointer = hub_internal_actor::stateful_pointer<hub_state>;

/// The hub's behavior; the node spawns it with `sys.spawn(hub, settings)`.
hub_internal_actor::behavior_type hub(hub_pointer self, hub_settings settings);

// -- shared by the hub's source files ---------------------------------------------------

/// Hands every connection's collected frames to its transport.
void drain(hub_pointer self);

/// One frame for one connection, sent with the others of this round.
void enqueue(hub_pointer self, hub_connection& conn, frame_ptr frame);

/// Delivers `data` on `topic` to every subscriber; returns the receivers.
std::uint64_t publish_on(hub_pointer self, const std::string& topic,
                         const std::string& data, conn_id from);

/// Sends `msg` to a server-side actor, or drops the actor (slow_listener)
/// when it has actor_backlog deliveries unhandled.
void deliver(hub_pointer self, hub_app_actor& target, caf::message msg);

/// Tells every observer.
void notify_observers(hub_pointer self, const connection_event& ev);

/// Forgets a server-side actor that exited; false if it was none.
bool app_actor_down(hub_pointer self, const caf::actor_addr& addr);

/// The server-side actor `handle`, registered (and monitored) if new.
hub_app_actor& app_actor_of(hub_pointer self, const caf::actor& handle);

/// Forgets `a` if it holds nothing any more (and stops monitoring it).
void release_if_unused(hub_pointer self, hub_app_actor& a);

// Server-side actors (hub_app_actors.cpp).
caf::result<bool> listen(hub_pointer self, const add_listener& cmd);
void unlisten(hub_pointer self, const remove_listener& cmd);
caf::result<bool> register_service(hub_pointer self, const add_service& cmd);
void unregister_service(hub_pointer self, const remove_service& cmd);
void observe(hub_pointer self, const connection_observer_actor& observer, bool on);

// Users (hub_users.cpp): the index of connections by authenticated user.
void index_user(hub_state& st, hub_connection& conn);
void unindex_user(hub_state& st, hub_connection& conn);
/// The first connection of `user` (the rest via user_next), or null.
hub_connection* first_of_user(hub_state& st, const std::string& user);
/// Enqueues `frame` to every connection of `user`; returns how many.
std::uint64_t enqueue_to_user(hub_pointer self, const std::string& user,
                              const frame_ptr& frame);
caf::result<std::uint64_t> send_to_user_request(hub_pointer self, const send_to_user& cmd);

// The cluster (hub_cluster.cpp). Each is a no-op when not clustered.
void attach_cluster(hub_pointer self, cluster_attach& msg);
void on_cluster_delivery(hub_pointer self, cluster_delivery& msg);
/// Goes on with the deliveries on hold (cluster_resume_atom).
void deliver_remote(hub_pointer self);
/// Tells the cluster actor about `item` (a publish, a send to another node).
void to_cluster(hub_pointer self, cluster_item item);
/// Whether a connection id names a connection on another node.
bool remote_id(const hub_state& st, conn_id id);
/// The frame of a direct message from connection `from` (0: the server)
/// or, when `sender` is set, from that name.
std::string direct_frame(conn_id from, const std::string& sender, const std::string& data);
/// Delivers `data` on `topic` to this node's subscribers and listeners only.
std::uint64_t publish_local(hub_pointer self, const std::string& topic,
                            const std::string& data, conn_id from);

// Queries (hub_queries.cpp).
topic_list list_topics(hub_pointer self, const query_topics& q);
caf::result<topic_info> describe_topic(hub_pointer self, const query_topic& q);
caf::result<connection_info> describe_connection(hub_pointer self,
                                                 const query_connection& q);

// Client commands (hub_commands.cpp). The connection of the current
// message's sender (null: none), found before a response promise takes the
// sender away.
hub_connection* sender_of(hub_pointer self);

// Runs `cmd` from `conn`, or queues it behind an authorizer's answer;
// `done` (the reader's read credit) is delivered once it ran.
void on_command(hub_pointer self, hub_connection* conn, client_command cmd,
                caf::response_promise done);

// Runs the commands of connection `id` that waited behind an answer, until
// one asks again.
void resume(hub_pointer self, conn_id id);

// Refreshes (hub_refresh.cpp): puts the token to the authenticator; `done`
// gets the refresh_result once the connection has its answer.
void refresh(hub_pointer self, hub_connection& conn, client_refresh& cmd,
             caf::response_promise done);

} // namespace switchboard
