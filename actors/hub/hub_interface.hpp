#pragma once

// The hub's wider interface: what the network layer and the connection
// pairs may send it, beyond the public hub_actor (switchboard/hub.hpp), and
// how a node spawns it. No state: hub_state.hpp has the hub's inside. Not
// installed.

#include "cluster/cluster_messages.hpp"
#include "commands.hpp"
#include "connection/transport.hpp"
#include "hub/topic_filter.hpp"

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/stop_mode.hpp"

#include <caf/all.hpp>

#include <string>

namespace switchboard {

/// The hub's history expiry round (to itself, on the actor clock).
using expire_atom = caf::atom_constant<caf::atom("expire")>;

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
  /// v1.1 client commands (hub_history.cpp, hub_presence.cpp), and the
  /// history's expiry round.
  caf::reacts_to<client_history>, caf::reacts_to<client_presence>,
  caf::reacts_to<expire_atom>,
  /// The node stops: refuse publishes, flush every writer, quit once the last
  /// pair is down.
  caf::reacts_to<shutdown_atom>,
  /// The node stops as `stop_plan` says (hub_stop.cpp): with a drain period
  /// the connections are closed in batches over it (stop_step_atom, to
  /// itself), then as for shutdown_atom; the close code is the plan's.
  caf::reacts_to<shutdown_atom, stop_plan>, caf::reacts_to<stop_step_atom>,
  /// Send the batches collected in this round (to itself).
  caf::reacts_to<drain_atom>,
  /// The node is clustered (hub_cluster.cpp): this cluster actor takes what
  /// must reach other nodes, and hands over what arrived from them.
  caf::reacts_to<cluster_attach>, caf::reacts_to<cluster_delivery>,
  caf::reacts_to<cluster_resume_atom>,
  /// This node's part of a presence query from another node (its cluster
  /// actor asks; hub_presence.cpp).
  caf::replies_to<presence_part_query>::with<presence_part>>;

/// Spawns a hub with `settings` (hub.cpp).
hub_internal_actor spawn_hub(caf::actor_system& sys, hub_settings settings);

} // namespace switchboard
