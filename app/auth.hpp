#pragma once

// What --auth, --host and the origins mean for who may connect: the JWT
// verifier the options describe, the origins file, their reload on SIGHUP,
// and the warning for an open node.

#include "config.hpp"

#include "switchboard/jwt.hpp"
#include "switchboard/node.hpp"

#include <spdlog/fwd.h>

#include <optional>
#include <string>

namespace switchboard::app {

/// The JWT verifier of --jwt-secret, --jwt-public-key and --jwt-keys (the
/// files are read here) with --jwt-issuer and --jwt-audience, or an error
/// that says what is wrong (exit status 2 at start). --jwt-keys names a JWKS
/// file (RFC 7517), or a directory whose `KID.pem` files are public keys
/// with the key id KID (other files are ignored). Only for --auth=jwt.
caf::expected<jwt_verifier> make_verifier(const config& cfg);

/// The origins of an --allowed-origins-file: one per line, blank lines and
/// everything from a `#` ignored, surrounding blanks trimmed. A file that
/// cannot be read or lists no origin is an error (an empty list would let
/// every origin in). Each entry is checked by the node.
caf::expected<std::vector<std::string>> read_origins_file(const std::string& path);

/// SIGHUP's part for who may connect: a new verifier from the JWT key files
/// for `jwt` (when not null), and the origins again from
/// --allowed-origins-file (when set). What cannot be read keeps its current
/// value; each outcome is logged (info, or error with the reason).
void reload_auth(const config& cfg, const jwt_authenticator_actor& jwt, node& n,
                 spdlog::logger& log);

/// The text of an option error (its message alone, without CAF's wrapping).
std::string describe(const caf::error& err);

/// The line to warn with when --auth=none leaves a node that listens on
/// more than loopback open to anonymous clients; none otherwise.
std::optional<std::string> open_node_warning(const config& cfg, const node_config& node);

} // namespace switchboard::app
