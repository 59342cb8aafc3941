#pragma once

// What switchboard's own tests see of a hub_fixture beyond its public
// interface: the hub's state. Internal (not installed: the state's type is
// not part of the library's interface).

#include "hub/hub_state.hpp"

#include "switchboard/testing.hpp"

namespace switchboard::testing {

/// The state of `f`'s hub. Read it only between runs (or steps), and only
/// while the hub is alive.
hub_state& hub_state_of(hub_fixture& f);

} // namespace switchboard::testing
