#pragma once

// --api-keys-file: the named API keys the CLI reads at start and again on
// SIGHUP (docs/api.md, "Keys").

#include "config.hpp"

#include "switchboard/node.hpp"

#include <spdlog/fwd.h>

namespace switchboard::app {

/// SIGHUP: reads --api-keys-file again and hands its keys to `n`; a file
/// that cannot be read or is invalid keeps the current keys and logs an
/// error. Nothing without --api-keys-file.
void reload_api_keys(const config& cfg, node& n, spdlog::logger& log);

} // namespace switchboard::app
