#pragma once

/// The hub: owner of membership. It alone knows which connections exist,
/// which topics they joined and which server-side actors listen where; it
/// monitors every reader and writer and forgets a connection when its pair
/// goes down.

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
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
  /// sec::invalid_argument for an invalid topic or data that is not JSON.
  caf::replies_to<publish_atom, std::string, std::string>::with<std::uint64_t>,
  /// Sends raw JSON `data` to a connection as a direct message with
  /// `"from":0`; replies false when no such connection exists, and
  /// sec::invalid_argument when `data` is not JSON.
  caf::replies_to<send_atom, conn_id, std::string>::with<bool>,
  /// Subscribes a server-side actor to a topic: it receives a topic_message
  /// for every publish there. Replies false for an invalid topic name.
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
  std::vector<std::string> topics;
  /// Frames collected since the last flush, sent as one batch.
  frame_batch pending;
  /// Whether the connection is in hub_state::dirty.
  bool dirty = false;
};

struct hub_topic {
  std::string quoted; ///< the topic as a JSON string literal, quoted once
  std::vector<hub_connection*> subscribers;
  std::vector<caf::actor> listeners; ///< server-side subscribers
};

struct hub_state {
  std::unordered_map<conn_id, hub_connection> connections;
  /// Reader and writer address -> connection id.
  std::unordered_map<caf::actor_addr, conn_id> by_actor;
  std::unordered_map<std::string, hub_topic> topics;
  /// Connections that got frames since the last flush.
  std::vector<hub_connection*> dirty;
  conn_id next_id = 1;
  bool shutting_down = false;
  hub_stats stats;

  static inline const char* name = "switchboard.hub";
};

using hub_pointer = hub_actor::stateful_pointer<hub_state>;

/// The hub's behavior; spawn with `sys.spawn(hub)`.
hub_actor::behavior_type hub(hub_pointer self);

} // namespace switchboard
