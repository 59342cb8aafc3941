#pragma once

// The Origin check on WebSocket upgrades (node_config::allowed_origins), as
// pure functions of the request: a browser always names the page's origin,
// so a list of allowed origins keeps other sites' pages from opening
// connections with their visitors' credentials. Internal to net/.

#include "http/http_route.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::net {

/// `text` as `scheme://host[:port]` with scheme and host in lower case and
/// the port in plain decimal, or none when it is not such an origin (a
/// path, a query, user info, "null", an empty host, a port out of range).
std::optional<std::string> normalize_origin(std::string_view text);

/// Every entry of `origins` normalized, or sec::invalid_argument naming the
/// first that is not an origin.
caf::expected<std::shared_ptr<const std::vector<std::string>>>
normalize_origins(const std::vector<std::string>& origins);

/// Whether an upgrade may go on as far as its origin goes: `allowed` (in
/// normalized form) empty allows every request; otherwise a request without
/// an Origin header (not a browser) is allowed, and one with exactly one
/// Origin that normalizes to an entry of `allowed`. Any other request
/// (several Origin headers, "null", an origin not listed) is refused.
bool origin_allowed(const std::vector<std::string>& allowed, const http_request& req);

} // namespace switchboard::net
