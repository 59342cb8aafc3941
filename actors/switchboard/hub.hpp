#pragma once

/// The hub: owner of membership. It alone knows which connections exist,
/// which topics they joined and which server-side actors listen where; it
/// monitors every reader and writer and forgets a connection when its pair
/// goes down.

#include "switchboard/id_source.hpp"
#include "switchboard/messages.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/topic_table.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace switchboard {

/// The hub's typed interface.
using hub_actor = caf::typed_actor<
  // -- connections (sent by the network layer, see spawn_connection) --------
  /// A new reader/writer pair; the hub monitors both and sends the welcome.
  caf::reacts_to<join_atom, caf::actor, caf::actor>,

  // -- client commands (sent by a reader; the sender names the connection) --
  caf::reacts_to<client_subscribe>, caf::reacts_to<client_unsubscribe>,
  caf::reacts_to<client_publish>, caf::reacts_to<client_send>,
  caf::reacts_to<client_error>,

  // -- embedding API ----------------------------------------------------------
  /// Publishes raw JSON `data` to `topic`; replies with the number of
  /// receivers (connections and server-side subscribers), or
  /// sec::invalid_argument for an invalid topic or data that is not JSON,
  /// or sec::runtime_error once the node is stopping.
  caf::replies_to<publish_atom, std::string, std::string>::with<std::uint64_t>,
  /// Sends raw JSON `data` to a connection as a direct message with
  /// `"from":0`; replies false when no such connection exists, and
  /// sec::invalid_argument when `data` is not JSON.
  caf::replies_to<send_atom, conn_id, std::string>::with<bool>,
  /// Subscribes a server-side actor to a topic: it receives a topic_message
  /// for every publish there. Replies false for an invalid topic name or
  /// when the node is at its topic limit.
  caf::replies_to<subscribe_atom, std::string, caf::actor>::with<bool>,
  caf::reacts_to<unsubscribe_atom, std::string, caf::actor>,
  caf::replies_to<stats_atom>::with<hub_stats>,
  /// Stops the node: every writer flushes and exits with `shutdown`; the hub
  /// quits once the last connection is gone.
  caf::reacts_to<shutdown_atom>,

  // -- internal -------------------------------------------------------------
  caf::reacts_to<flush_atom>>;

// -- state ----------------------------------------------------------------------

struct hub_connection {
  conn_id id = 0;
  caf::actor reader;
  caf::actor writer;
  subscription_list topics;
  /// Frames collected since the last flush, sent as one batch.
  frame_batch pending;
  /// Whether the connection is in hub_state::dirty.
  bool dirty = false;
};

/// A server-side actor subscribed to topics: monitored once, whatever the
/// number of its topics, and forgotten with its last topic.
struct hub_listener {
  caf::actor handle;
  std::unordered_set<hub_topic*> topics;
};

struct hub_state {
  hub_settings settings;
  std::unordered_map<conn_id, hub_connection> connections;
  /// Reader and writer address -> connection id.
  std::unordered_map<caf::actor_addr, conn_id> by_actor;
  topic_table topics;
  std::unordered_map<caf::actor_addr, hub_listener> listeners;
  /// Connections that got frames since the last flush.
  std::vector<hub_connection*> dirty;
  id_source ids;
  bool shutting_down = false;
  hub_stats stats;

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

using hub_pointer = hub_actor::stateful_pointer<hub_state>;

/// The hub's behavior; spawn with `sys.spawn(hub, hub_settings{...})`.
hub_actor::behavior_type hub(hub_pointer self, hub_settings settings);

} // namespace switchboard
