#pragma once

// Which answer an HTTP request on the node's port gets, as pure functions of
// the parsed request: no socket, no actor, no clock, so every route can be
// unit-tested and fuzzed. http_session does the I/O around them.

#include "admission/admission_table.hpp"
#include "auth/api_key.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace switchboard::net {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

enum class route_kind {
  respond, ///< write `response` as it is
  stats,   ///< answer with the node's statistics (GET or HEAD /stats)
  metrics, ///< answer with the node's metrics (GET or HEAD /metrics, Prometheus)
  upgrade, ///< a WebSocket upgrade on /ws: ask the admission limits first
  api,     ///< a request under /api: the server API (api_route.hpp)
  console, ///< a request under /console: the web console (console_route.hpp)
};

struct route_decision {
  route_kind kind = route_kind::respond;
  /// For route_kind::respond: the complete answer.
  http_response response;
};

/// /healthz, /readyz, /stats, /metrics (GET, HEAD), WebSocket upgrades on
/// /ws, the server API under /api; 426 for /ws without an upgrade, 405 for
/// other methods, 404 for any other path. The query string is ignored.
/// /healthz answers 503 once the hub is gone; /readyz (may a load balancer
/// send new clients here?) 503 from the moment a stop begins (`stopping`)
/// as well.
route_decision route(const http_request& req, bool hub_alive = true, bool stopping = false);

/// Whether a `/stats?scope=cluster` or `/metrics` request may see names
/// (topic names and peer addresses, which `/api/topics` gives only with the
/// key): when the node has an API (a key or the console), only a request
/// the API would take (`Authorization: apikey KEY`, or a logged-in console
/// page; api_route.cpp); otherwise every request. The others get the
/// numbers only (docs/security.md).
bool cluster_names_visible(const http_request& req, const api_settings& api);

/// A plain answer to `req`: Server and Content-Type set, keep-alive as the
/// request asked, `Allow: GET, HEAD` on 405, and no body for HEAD (the
/// Content-Length still tells the body's size).
http_response make_response(const http_request& req, boost::beast::http::status status,
                            std::string body, const char* content_type = "text/plain");

/// The answer to a request the parser refused with `ec`: 431 (headers too
/// large), 413 (body too large) or 400; the connection closes after it.
http_response parse_error_response(boost::beast::error_code ec);

/// The answer to an upgrade the admission limits refused: 503 when the node
/// is full, 429 for a per-address limit, with Retry-After and a short text;
/// the connection closes after it.
http_response rejection_response(const http_request& req, const admission_decision& decision);

/// The answer to an upgrade the authenticator (or the origin check) refused:
/// `status` (a 4xx or 5xx; anything else becomes 403) with `reason` as its
/// text, and for 401 `WWW-Authenticate: Bearer error="invalid_token"`; the
/// connection closes after it.
http_response refusal_response(const http_request& req, unsigned status,
                               const std::string& reason);

} // namespace switchboard::net
