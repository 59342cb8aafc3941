#pragma once

// The hub's inside: its state and the functions its source files share (its
// wider interface, which the network layer and the connection pairs use, is
// in hub_interface.hpp). Not installed.

#include "cluster/cluster_messages.hpp"
#include "commands.hpp"
#include "hub/drain_schedule.hpp"
#include "hub/history.hpp"
#include "hub/hub_history_async.hpp"
#include "hub/hub_interface.hpp"
#include "hub/id_source.hpp"
#include "hub/topic_filter.hpp"
#include "hub/topic_table.hpp"
#include "connection/outbound.hpp"

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace switchboard {

// -- state ----------------------------------------------------------------------------

using client_command =
  std::variant<client_subscribe, client_unsubscribe, client_publish, client_send,
               client_error, client_history, client_presence, client_refresh>;

/// A command that waits behind an authorizer's answer, and its reader.
struct waiting_command {
  client_command cmd;
  caf::response_promise done;
};

struct hub_connection {
  conn_id id = 0;
  reader_actor reader;
  writer_actor writer;
  /// Where the frames go: through the writer's outbound handle straight
  /// into the transport's queue, no message per batch (the writer's policy
  /// admits or refuses them there).
  outbound out;
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
  /// Frames collected since the last drain, handed over as one batch; and
  /// while `holding`, the frames held back (hub.cpp, hold).
  frame_batch pending;
  std::size_t pending_bytes = 0;
  /// Whether the connection is in hub_state::dirty.
  bool dirty = false;
  /// Its socket was congested by a burst from another node: its frames wait
  /// in `pending` (it is in hub_state::holding) until the socket catches up.
  bool holding = false;
  /// Checks in a row that found it still congested.
  std::uint8_t waits = 0;
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

/// Who is subscribed to a topic with presence or join/leave
/// (hub_presence.cpp): kept from the first subscriber to the last.
struct topic_presence {
  /// Authenticated users -> their connections subscribed.
  std::unordered_map<std::string, std::uint32_t> users;
  /// Subscribers that asked for join/leave events.
  std::unordered_set<hub_connection*> watchers;
};

/// A stop spreading its closes over a drain period (hub_stop.cpp): the
/// connections open when it began, in the order they go, and how many of
/// them were told. (At namespace scope: clang cannot construct a nested
/// class with member initializers inside std::optional while the enclosing
/// class is incomplete.)
struct hub_draining {
  drain_schedule schedule;
  caf::actor_clock::time_point began{};
  std::vector<conn_id> order;
  std::size_t told = 0;
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
  /// When drain() last ran (hub_settings::delivery_coalesce): long ago at
  /// first, so that the first delivery goes at once.
  caf::actor_clock::time_point last_drain = caf::actor_clock::time_point::min();
  id_source ids;
  bool shutting_down = false;
  /// What every connection is told when the node stops (hub_stop.cpp):
  /// 1001 unless the stop is a restart (1012).
  farewell stop_farewell{exit_code::shutdown, 0, {}};
  /// A stop spreading its closes over a drain period (hub_stop.cpp).
  std::optional<hub_draining> draining;
  hub_stats stats;
  /// The node's cluster actor (null: not clustered) and the node's tag in
  /// connection ids.
  cluster_inbox_actor cluster;
  std::uint16_t tag = 0;
  /// Connections whose frames are held back for a congested socket.
  std::vector<hub_connection*> holding;
  /// A delivery from another node is being handed out: a socket it
  /// congests holds its next frames back (hub_delivery.cpp, send_pending).
  bool remote_delivery = false;
  bool resume_due = false; ///< a cluster_resume_atom is on its way
  /// Topic histories (hub_history.cpp); every publish on a topic with
  /// history goes through it.
  std::unique_ptr<history_store> history;
  /// No topic can have history (no option sets a history-size).
  bool history_off = true;
  bool expiry_armed = false; ///< an expire_atom is on its way
  /// With a shared store (hub_settings::history_store) instead of `history`:
  /// the per-topic reorder buffers and what is outstanding; null without.
  std::unique_ptr<async_history> async;
  /// Per topic with presence or join/leave (hub_presence.cpp).
  std::unordered_map<const hub_topic*, topic_presence> presence;

  hub_state() = default;
  hub_state(const hub_state&) = delete;
  hub_state& operator=(const hub_state&) = delete;

  /// Runs when the hub terminates. After a regular shutdown no connection is
  /// left; any that is means the hub died (a bug, an exception, a kill):
  /// nobody routes those connections any more, so they go down with it
  /// (hub_down, close 1011) instead of idling forever. Every server-side
  /// actor still registered (listener, service, observer) is sent an exit:
  /// shutdown after a requested stop, hub_down when the hub died.
  ~hub_state();

  static inline const char* name = "switchboard.hub";
};

using hub_pointer = hub_internal_actor::stateful_pointer<hub_state>;

/// The hub's behavior (spawn_hub spawns it).
hub_internal_actor::behavior_type hub(hub_pointer self, hub_settings settings);

// -- shared by the hub's source files ---------------------------------------------------

/// A batch goes out early once it holds this many frames: a burst of
/// publishes then reaches a fast socket while the hub is still working,
/// instead of landing on it all at once and passing its bound.
inline constexpr std::size_t max_batch = 64;

/// `payload` framed once, for every receiver to share (protocol::make_frame).
frame_ptr share(std::string_view payload);

/// Hands every connection's collected frames to its transport (those of a
/// holding connection stay held).
void drain(hub_pointer self);

// Frames held back for congested sockets (hub_holding.cpp).
/// `conn`'s socket is congested while a delivery from another node is
/// handed out: its frames wait in `pending` from now on.
void hold(hub_pointer self, hub_connection& conn);
/// More frames for a holding `conn` arrived (they stay in `pending`).
void hold_more(hub_pointer self, hub_connection& conn);

/// Tells the writer of `conn` to say goodbye, after handing over the
/// frames held back for it: the writer flushes them first.
void farewell_to(hub_pointer self, hub_connection& conn, farewell how);

// A node's stop (hub_stop.cpp). Each returns true when the rest is to go at
// once: the hub then refuses publishes and tells every connection left.
/// A stop as `plan` says begins (a second one changes nothing).
bool begin_stop(hub_pointer self, const stop_plan& plan);
/// The next batch of the drain period.
bool stop_step(hub_pointer self);

/// Goes on with the frames held back for congested sockets
/// (cluster_resume_atom).
void resume_held(hub_pointer self);

/// Forgets the frames held back for `conn` (it is gone).
void forget_held(hub_state& st, hub_connection& conn);

/// One frame for one connection, sent with the others of this round.
void enqueue(hub_pointer self, hub_connection& conn, frame_ptr frame);

/// Why the hub refuses a server-side publish of `data` on `topic`
/// (invalid_topic, invalid_data, shutting_down); none when it takes it.
caf::error publish_refusal(const hub_state& st, std::string_view topic, std::string_view data);

/// Delivers `data` on `topic` to every subscriber; returns the receivers.
std::uint64_t publish_on(hub_pointer self, const std::string& topic,
                         const std::string& data, conn_id from,
                         stream_position* numbered = nullptr);

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

// Closing (hub.cpp): for close_connection and disconnect_user, and for the
// same from other nodes.
/// A close code and reason an application or a peer may send (RFC 6455:
/// 1000-1003, 1007-1011, 3000-4999; at most 123 bytes of UTF-8).
bool valid_close(std::uint16_t code, const std::string& reason);
/// Frames collected so far go out, then `conn` closes with `code` and `reason`
/// (it leaves with `disconnected`).
void farewell_connection(hub_pointer self, hub_connection& conn, std::uint16_t code,
                         const std::string& reason);
/// farewell_connection for every connection of `user`; returns how many.
std::uint64_t farewell_user(hub_pointer self, const std::string& user, std::uint16_t code,
                            const std::string& reason);

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
/// Delivers what another node sent to this node's connections and
/// listeners; a socket it congests holds its next frames back.
void deliver_remote(hub_pointer self, cluster_delivery& msg);
/// Tells the cluster actor about `item` (a publish, a send to another node).
void to_cluster(hub_pointer self, cluster_item item);
/// Whether a connection id names a connection on another node.
bool remote_id(const hub_state& st, conn_id id);
/// The frame of a direct message from connection `from` (0: the server)
/// or, when `sender` is set, from that name.
std::string direct_frame(conn_id from, const std::string& sender, const std::string& data);
/// Delivers `data` on `topic` to this node's subscribers and listeners only.
/// `numbered` (if given) is set to the message's place in the topic's
/// history (offset 0: none).
std::uint64_t publish_local(hub_pointer self, const std::string& topic,
                            const std::string& data, conn_id from,
                            stream_position* numbered = nullptr);

/// Hands a message of `t` out to its subscribers and listeners (numbered
/// when `offset` is not 0); a subscription waiting in `seq` (if given) for
/// the store's reply holds it instead. Returns the receivers.
std::uint64_t fan_out(hub_pointer self, hub_topic& t, const std::string& data, conn_id from,
                      std::uint64_t offset, topic_sequence* seq);

// Queries (hub_queries.cpp).
topic_list list_topics(hub_pointer self, const query_topics& q);
caf::result<topic_info> describe_topic(hub_pointer self, const query_topic& q);
caf::result<connection_info> describe_connection(hub_pointer self,
                                                 const query_connection& q);

// History (hub_history.cpp).
/// Makes the store (from the settings) when the hub starts.
void init_history(hub_pointer self);
/// Stores a publish on a topic with history; offset 0 when it has none.
stream_position append_history(hub_pointer self, const std::string& topic,
                               const std::string& data);
/// The reply to a subscribe that `conn` got (now subscribed to `t`): on a
/// topic with history with its position, after a recovery the replay.
void reply_subscribed(hub_pointer self, hub_connection& conn, const hub_topic& t,
                      const client_subscribe& cmd);
void history_command(hub_pointer self, hub_connection& conn, const client_history& cmd);
void expire_history(hub_pointer self);
void add_history_stats(hub_pointer self, hub_stats& out);
/// Bytes a replay or history reply of `ms` adds to a connection's queue.
std::size_t replay_bytes(const std::string& quoted, const std::vector<history_message>& ms);
/// What `conn`'s queue may still take from a replay or a history reply.
std::size_t replay_room(hub_pointer self, const hub_connection& conn);
/// Whether the replay of `r` fits `conn`'s replay budget.
bool fits(hub_pointer self, const hub_connection& conn, const hub_topic& t,
          const history_result& r);
/// Cuts a history reply down to `room`; returns whether it cut anything.
bool trim_to_room(std::vector<history_message>& ms, const std::string& quoted,
                  std::size_t room, bool keep_oldest);
caf::result<publish_result> publish_numbered_request(hub_pointer self,
                                                     const publish_numbered& cmd);
caf::result<history_page> history_request(hub_pointer self, const query_history& q);
caf::result<stream_position> remove_history_request(hub_pointer self,
                                                    const remove_history& cmd);

// A shared, asynchronous history store (hub_history_async.cpp,
// hub_history_reads.cpp); each applies only when hub_settings::history_store
// is set.
history_limits limits_of(const topic_options& opts);
/// Whether a publish on `topic` goes to the shared store (one is set and
/// the topic has history).
bool stores_async(const hub_state& st, const std::string& topic);
/// What a publish through the store tells its publisher once stored: the
/// receivers, offset and epoch; or hub_errc::unavailable.
using publish_done = std::function<void(caf::expected<publish_result>)>;
/// Appends `data` to `topic`'s history in the store; once it has its
/// offset, forwards it to the cluster with it, hands it out in offset order
/// (accept_numbered) and calls `done`.
void publish_stored(hub_pointer self, const std::string& topic, const std::string& data,
                    conn_id from, publish_done done);
/// A message the store numbered (here or on another node): handed out once
/// every lower offset of its epoch was.
void accept_numbered(hub_pointer self, const std::string& topic, const std::string& data,
                     conn_id from, const stream_position& pos);
/// A live message for a subscription waiting for the store's reply.
void hold_for(hub_pointer self, hub_connection& conn, waiting_subscription& w,
              std::uint64_t offset, const frame_ptr& frame);
/// The periodic round (expire_atom): fills or skips gaps that waited
/// hub_settings::history_gap_timeout, forgets sequences of unused topics.
void history_tick(hub_pointer self);
/// The store's position for `topic` (a subscribe's reply): a sequence that
/// did not know where it stood starts there (an empty position: the
/// subscribe failed, and a sequence no subscription waits for any more
/// starts at its lowest held message).
void note_position(hub_pointer self, const std::string& topic, const stream_position& top);
/// Subscribe replies, history queries and the API's reads through the store
/// (hub_history_reads.cpp). Each returns false when it keeps `done` (the
/// reader's read credit) to deliver once the store answered.
/// (`added`: a new subscription; a repeated one only gets its reply.)
bool subscribe_stored(hub_pointer self, hub_connection& conn, const client_subscribe& cmd,
                      bool added, caf::response_promise& done);
bool history_stored(hub_pointer self, hub_connection& conn, const client_history& cmd,
                    caf::response_promise& done);
caf::result<publish_result> publish_numbered_stored(hub_pointer self,
                                                    const publish_numbered& cmd);
caf::result<std::uint64_t> publish_request_stored(hub_pointer self, const publication& cmd);
caf::result<delivery_counts> broadcast_stored(hub_pointer self, const broadcast& cmd);
caf::result<history_page> history_request_stored(hub_pointer self, const query_history& q);
caf::result<stream_position> remove_history_stored(hub_pointer self,
                                                   const remove_history& cmd);
/// The store's totals as last reported (and asks for fresh ones).
history_totals stored_totals(hub_pointer self);
/// The periodic round runs soon (history_tick).
void history_tick_soon(hub_pointer self);

// Presence and join/leave (hub_presence.cpp).
/// `conn` subscribed to `t` (`added`: a new subscription, not a repeat).
void presence_joined(hub_pointer self, hub_connection& conn, hub_topic& t, bool added,
                     bool wants_events);
/// `conn`'s subscription to `t` is about to end.
void presence_leaving(hub_pointer self, hub_connection& conn, hub_topic& t);
/// Every subscription of `conn` is about to end (it disconnected).
void presence_left_all(hub_pointer self, hub_connection& conn);
void presence_command(hub_pointer self, hub_connection& conn, const client_presence& cmd);
caf::result<presence_info> presence_request(hub_pointer self, const query_presence& q);
caf::result<presence_counts> presence_stats_request(hub_pointer self,
                                                    const query_presence_stats& q);
/// This node's subscribers of `topic` (at most max_presence_listed).
presence_info presence_list(hub_state& st, const std::string& topic);
/// This node's counts for `topic`; `users` (if given) gets the distinct users.
presence_counts presence_count(hub_state& st, const std::string& topic,
                               std::vector<std::string>* users = nullptr);
/// A member_join or member_leave from another node: told to the watchers.
void presence_remote(hub_pointer self, const cluster_item& item);
/// This node's part of a presence query from another node.
caf::result<presence_part> presence_part_request(hub_pointer self,
                                                 const presence_part_query& q);
// Presence in a cluster (hub_presence_cluster.cpp): this node's answer
// merged with the parts of the members that answered in time.
void presence_across(hub_pointer self, hub_connection& conn, const client_presence& cmd);
caf::result<presence_info> presence_list_across(hub_pointer self, const std::string& topic);
caf::result<presence_counts> presence_count_across(hub_pointer self,
                                                   const std::string& topic);

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
