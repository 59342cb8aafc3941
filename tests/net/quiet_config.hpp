#pragma once

// The actor system of a test that starts a node: switchboard's error
// category (a node's errors print by name) and CAF's logger silent.

#include "switchboard/node.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace switchboard::testing {

struct quiet_config : caf::actor_system_config {
  quiet_config() {
    switchboard::add_error_category(*this);
    set("logger.verbosity", caf::atom("quiet"));
  }
};

} // namespace switchboard::testing
