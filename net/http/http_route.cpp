#include "http/http_route.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

beast::string_view path_of(beast::string_view target) {
  return target.substr(0, target.find('?'));
}

http_response upgrade_required(const http_request& req) {
  http_response res{http::status::upgrade_required, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::upgrade, "websocket");
  res.set(http::field::connection, "Upgrade");
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  // HEAD gets the headers of the GET answer and no body (found by fuzzing).
  std::string body = "WebSocket upgrade required\n";
  res.content_length(body.size());
  if (req.method() != http::verb::head)
    res.body() = std::move(body);
  return res;
}

route_decision answer(http_response res) {
  return {route_kind::respond, std::move(res)};
}

} // namespace

route_decision route(const http_request& req, bool hub_alive, bool stopping) {
  auto path = path_of(req.target());
  if (path == "/ws") {
    if (beast::websocket::is_upgrade(req))
      return {route_kind::upgrade, {}};
    return answer(upgrade_required(req));
  }
  if (path == "/api" || path.substr(0, 5) == "/api/")
    return {route_kind::api, {}};
  if (path == "/console" || path.substr(0, 9) == "/console/")
    return {route_kind::console, {}};
  if (path != "/healthz" && path != "/readyz" && path != "/stats" && path != "/metrics")
    return answer(make_response(req, http::status::not_found, "not found\n"));
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return answer(make_response(req, http::status::method_not_allowed, "method not allowed\n"));
  if (path == "/healthz")
    return answer(hub_alive ? make_response(req, http::status::ok, "ok\n")
                            : make_response(req, http::status::service_unavailable,
                                            "hub down\n"));
  if (path == "/readyz") {
    if (!hub_alive)
      return answer(make_response(req, http::status::service_unavailable, "hub down\n"));
    return answer(stopping ? make_response(req, http::status::service_unavailable, "stopping\n")
                           : make_response(req, http::status::ok, "ready\n"));
  }
  if (path == "/metrics")
    return {route_kind::metrics, {}};
  return {route_kind::stats, {}};
}

http_response make_response(const http_request& req, http::status status, std::string body,
                            const char* content_type) {
  http_response res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, content_type);
  if (status == http::status::method_not_allowed)
    res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(req.keep_alive());
  res.content_length(body.size());
  if (req.method() != http::verb::head)
    res.body() = std::move(body);
  return res;
}

http_response parse_error_response(beast::error_code ec) {
  auto status = ec == http::error::header_limit ? http::status::request_header_fields_too_large
                : ec == http::error::body_limit ? http::status::payload_too_large
                                                : http::status::bad_request;
  http_request req;
  req.keep_alive(false);
  return make_response(req, status, std::string{http::obsolete_reason(status)} + "\n");
}

http_response rejection_response(const http_request& req, const admission_decision& decision) {
  auto status = http::status::too_many_requests;
  const char* text = "too many connection attempts from your address\n";
  if (decision.verdict == admission_verdict::max_connections) {
    status = http::status::service_unavailable;
    text = "server full\n";
  } else if (decision.verdict == admission_verdict::max_connections_per_address) {
    text = "too many connections from your address\n";
  }
  auto res = make_response(req, status, text);
  res.set(http::field::retry_after, std::to_string(decision.retry_after.count()));
  // A client told to come back later has no business on this connection.
  res.keep_alive(false);
  return res;
}

http_response refusal_response(const http_request& req, unsigned status,
                               const std::string& reason) {
  auto code = status >= 400 && status <= 599 ? http::int_to_status(status)
                                             : http::status::forbidden;
  if (code == http::status::unknown)
    code = http::status::forbidden;
  auto text = reason.empty() ? std::string{http::obsolete_reason(code)} : reason;
  auto res = make_response(req, code, text + "\n");
  // RFC 6750: the client presented no usable bearer token.
  if (code == http::status::unauthorized)
    res.set(http::field::www_authenticate, R"(Bearer error="invalid_token")");
  res.keep_alive(false);
  return res;
}

} // namespace switchboard::net
