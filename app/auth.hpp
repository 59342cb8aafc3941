#pragma once

// What --auth and --host mean for who may connect: the JWT authenticator
// the options describe, and the warning for an open node.

#include "config.hpp"

#include "switchboard/jwt.hpp"

#include <optional>
#include <string>

namespace switchboard::app {

/// The JWT verifier of --jwt-secret or --jwt-public-key (the PEM file is
/// read here), or an error that says what is wrong (exit status 2). Only
/// for --auth=jwt.
caf::expected<jwt_verifier> make_verifier(const config& cfg);

/// The text of an option error (its message alone, without CAF's wrapping).
std::string describe(const caf::error& err);

/// The line to warn with when --auth=none leaves a node that listens on
/// more than loopback open to anonymous clients; none otherwise.
std::optional<std::string> open_node_warning(const config& cfg, const node_config& node);

} // namespace switchboard::app
