#pragma once

/// The hub's public interface: what an application may ask of a switchboard
/// hub. `node::hub()` hands out this handle; the network layer and the
/// connection actors talk to the hub through a wider interface that cannot
/// be reached from it (connections cannot be forged, and stopping is
/// node::request_stop()'s business). docs/embedding.md describes every
/// message.
///
/// Server-side actors (add_listener, add_service, add_observer) serve the
/// hub they registered with: when it ends, each one still registered is
/// sent an exit, reason exit_code::shutdown after a requested stop and
/// exit_code::hub_down when the hub died, after its last delivery. One that
/// must outlive the node traps exits (docs/embedding.md, "Lifetime").

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <cstdint>

namespace switchboard {

using hub_actor = caf::typed_actor<
  caf::replies_to<publication>::with<std::uint64_t>,
  caf::replies_to<send_direct>::with<bool>,
  caf::replies_to<add_listener>::with<bool>, caf::reacts_to<remove_listener>,
  caf::replies_to<add_service>::with<bool>, caf::reacts_to<remove_service>,
  caf::reacts_to<add_observer>, caf::reacts_to<remove_observer>,
  caf::replies_to<close_connection>::with<bool>, caf::reacts_to<set_authorizer>,
  caf::replies_to<query_stats>::with<hub_stats>,
  // The server API's operations (docs/api.md).
  caf::replies_to<broadcast>::with<delivery_counts>,
  caf::replies_to<send_to_user>::with<std::uint64_t>,
  caf::replies_to<disconnect_user>::with<std::uint64_t>,
  caf::replies_to<query_topics>::with<topic_list>,
  caf::replies_to<query_topic>::with<topic_info>,
  caf::replies_to<query_connection>::with<connection_info>,
  // History and presence (docs/protocol.md v1.1).
  caf::replies_to<publish_numbered>::with<publish_result>,
  caf::replies_to<query_history>::with<history_page>,
  caf::replies_to<remove_history>::with<stream_position>,
  caf::replies_to<query_presence>::with<presence_info>,
  caf::replies_to<query_presence_stats>::with<presence_counts>>;

} // namespace switchboard
