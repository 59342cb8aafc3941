// The backend example's own remote interface: an actor that counts what
// clients publish on the node's topics and tells any CAF node that asks.
#pragma once

#include <switchboard/messages.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace backend {

/// Messages per topic: a plain standard map, registered by the application
/// under a name of its own ("backend::tally"), whatever switchboard
/// registers.
using tally = std::map<std::string, std::uint64_t>;

using tally_atom = caf::atom_constant<caf::atom("tally")>;

/// A topic listener (switchboard::topic_listener_actor) that also answers
/// tally requests from other processes.
using counter_actor =
  caf::typed_actor<caf::reacts_to<switchboard::topic_message>,
                   caf::replies_to<tally_atom>::with<tally>>;

/// Adds the application's types: the same in every process that talks to
/// the counter.
inline void add_backend_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<tally>("backend::tally");
}

} // namespace backend
