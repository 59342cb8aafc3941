#pragma once

// switchboard --check-config: every check the CLI and the node make at start,
// made without starting anything (docs/operations.md, "Checking a
// configuration").

#include "config.hpp"

#include <string>
#include <vector>

namespace switchboard::app {

/// What a start with `cfg` would refuse: the options (config::problems()),
/// the JWT keys (make_verifier), and what is inside the files the options
/// name (node_file_problems). Binds nothing and starts no actor.
std::vector<std::string> check_config(const config& cfg);

} // namespace switchboard::app
