// The HTTP routes of the node's port as pure functions: which request gets
// which status, headers and body, without a socket in sight. The same cases
// run against the real node in tests/e2e/test_http.py.

#include "http/http_route.hpp"
#include "observe/stats_json.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace switchboard;
using namespace switchboard::net;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

http_request request(http::verb method, const char* target, unsigned version = 11) {
  http_request req{method, target, version};
  req.set(http::field::host, "127.0.0.1");
  return req;
}

http_request upgrade(const char* target) {
  auto req = request(http::verb::get, target);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

std::uint64_t number(const json::value& v) {
  return v.to_number<std::uint64_t>();
}

std::string header(const http_response& res, http::field name) {
  auto i = res.find(name);
  return i == res.end() ? std::string{"<none>"} : std::string{i->value()};
}

} // namespace

TEST_CASE("route: /healthz answers ok, with or without a query string") {
  for (auto target : {"/healthz", "/healthz?probe=1"}) {
    auto d = route(request(http::verb::get, target));
    REQUIRE(d.kind == route_kind::respond);
    CHECK(d.response.result() == http::status::ok);
    CHECK(d.response.body() == "ok\n");
    CHECK(header(d.response, http::field::content_type) == "text/plain");
    CHECK(header(d.response, http::field::server) == "switchboard");
    CHECK(d.response.keep_alive());
  }
}

TEST_CASE("route: /readyz is 200 while accepting, 503 once a stop began or the hub is gone") {
  auto ready = route(request(http::verb::get, "/readyz"));
  REQUIRE(ready.kind == route_kind::respond);
  CHECK(ready.response.result() == http::status::ok);
  CHECK(ready.response.body() == "ready\n");
  auto stopping = route(request(http::verb::get, "/readyz?lb=1"), true, true);
  CHECK(stopping.response.result() == http::status::service_unavailable);
  CHECK(stopping.response.body() == "stopping\n");
  // /healthz stays 200 while the node drains: it is alive, just not ready.
  CHECK(route(request(http::verb::get, "/healthz"), true, true).response.result()
        == http::status::ok);
  auto down = route(request(http::verb::get, "/readyz"), false, false);
  CHECK(down.response.result() == http::status::service_unavailable);
  CHECK(route(request(http::verb::post, "/readyz")).response.result()
        == http::status::method_not_allowed);
}

TEST_CASE("route: HEAD tells the size but sends no body") {
  auto d = route(request(http::verb::head, "/healthz"));
  REQUIRE(d.kind == route_kind::respond);
  CHECK(d.response.result() == http::status::ok);
  CHECK(d.response.body().empty());
  CHECK(header(d.response, http::field::content_length) == "3");
}

TEST_CASE("route: /stats is served by the session, for GET and HEAD") {
  CHECK(route(request(http::verb::get, "/stats")).kind == route_kind::stats);
  CHECK(route(request(http::verb::head, "/stats?x")).kind == route_kind::stats);
}

TEST_CASE("route: /metrics is served by the session, for GET and HEAD") {
  CHECK(route(request(http::verb::get, "/metrics")).kind == route_kind::metrics);
  CHECK(route(request(http::verb::head, "/metrics?x=1")).kind == route_kind::metrics);
  CHECK(route(request(http::verb::get, "/metrics/")).kind == route_kind::respond);
}

TEST_CASE("route: other methods on /healthz, /stats and /metrics get 405 with Allow") {
  for (auto target : {"/healthz", "/stats", "/metrics"}) {
    for (auto method : {http::verb::post, http::verb::delete_, http::verb::put}) {
      auto d = route(request(method, target));
      REQUIRE(d.kind == route_kind::respond);
      CHECK(d.response.result() == http::status::method_not_allowed);
      CHECK(header(d.response, http::field::allow) == "GET, HEAD");
    }
  }
}

TEST_CASE("route: unknown paths get 404, upgrades on them too") {
  for (auto target : {"/", "/nope", "/ws/", "/wss", "/healthz/x"}) {
    auto d = route(request(http::verb::get, target));
    REQUIRE(d.kind == route_kind::respond);
    CHECK(d.response.result() == http::status::not_found);
    CHECK(d.response.body() == "not found\n");
    CHECK(header(d.response, http::field::allow) == "<none>");
  }
  auto d = route(upgrade("/chat"));
  REQUIRE(d.kind == route_kind::respond);
  CHECK(d.response.result() == http::status::not_found);
}

TEST_CASE("route: /ws without an upgrade gets 426 naming the protocol") {
  auto d = route(request(http::verb::get, "/ws"));
  REQUIRE(d.kind == route_kind::respond);
  CHECK(d.response.result() == http::status::upgrade_required);
  CHECK(header(d.response, http::field::upgrade) == "websocket");
  CHECK(header(d.response, http::field::connection) == "Upgrade");
  CHECK(header(d.response, http::field::server) == "switchboard");
  CHECK(d.response.body() == "WebSocket upgrade required\n");
  CHECK(header(d.response, http::field::content_length) == "27");
}

TEST_CASE("route: a WebSocket upgrade on /ws is handed over") {
  CHECK(route(upgrade("/ws")).kind == route_kind::upgrade);
  CHECK(route(upgrade("/ws?token=abc")).kind == route_kind::upgrade);
}

TEST_CASE("route: keep-alive follows the request") {
  auto req = request(http::verb::get, "/nope", 10); // HTTP/1.0: close by default
  auto d = route(req);
  CHECK(d.response.version() == 10);
  CHECK_FALSE(d.response.keep_alive());
  req = request(http::verb::get, "/nope");
  req.keep_alive(false);
  CHECK_FALSE(route(req).response.keep_alive());
  CHECK(route(request(http::verb::get, "/nope")).response.keep_alive());
}

TEST_CASE("route: a request the parser refused gets 431, 413 or 400 and a close") {
  auto res = parse_error_response(http::error::header_limit);
  CHECK(res.result() == http::status::request_header_fields_too_large);
  CHECK_FALSE(res.keep_alive());
  CHECK(parse_error_response(http::error::body_limit).result()
        == http::status::payload_too_large);
  res = parse_error_response(http::error::bad_method);
  CHECK(res.result() == http::status::bad_request);
  CHECK(res.body() == "Bad Request\n");
}

TEST_CASE("route: refused upgrades get 503 or 429 with Retry-After and a close") {
  auto req = upgrade("/ws");
  auto full = rejection_response(
    req, {admission_verdict::max_connections, std::chrono::seconds(5)});
  CHECK(full.result() == http::status::service_unavailable);
  CHECK(header(full, http::field::retry_after) == "5");
  CHECK(full.body() == "server full\n");
  CHECK_FALSE(full.keep_alive());
  CHECK(header(full, http::field::upgrade) == "<none>");

  auto per_address = rejection_response(
    req, {admission_verdict::max_connections_per_address, std::chrono::seconds(5)});
  CHECK(per_address.result() == http::status::too_many_requests);
  CHECK(per_address.body() == "too many connections from your address\n");
  CHECK_FALSE(per_address.keep_alive());

  auto rate = rejection_response(
    req, {admission_verdict::handshake_rate, std::chrono::seconds(3)});
  CHECK(rate.result() == http::status::too_many_requests);
  CHECK(header(rate, http::field::retry_after) == "3");
  CHECK(rate.body() == "too many connection attempts from your address\n");
}

TEST_CASE("stats: the rejections object always has the node's upgrade reasons") {
  auto merged = merge_rejections(rejection_counts{});
  CHECK(merged == std::map<std::string, std::uint64_t>{{"authentication_failed", 0},
                                                       {"authentication_unavailable", 0},
                                                       {"handshake_rate", 0},
                                                       {"max_connections", 0},
                                                       {"max_connections_per_address", 0},
                                                       {"max_pending_connections", 0},
                                                       {"max_pending_connections_per_address", 0},
                                                       {"origin_not_allowed", 0}});
  rejection_counts node;
  node.max_connections = 1;
  node.max_connections_per_address = 2;
  node.handshake_rate = 3;
  node.origin_not_allowed = 4;
  node.authentication_failed = 5;
  node.authentication_unavailable = 6;
  node.max_pending_connections_per_address = 8;
  merged = merge_rejections(node, {{"topic_limit", 7}, {"handshake_rate", 10}});
  CHECK(merged == std::map<std::string, std::uint64_t>{{"authentication_failed", 5},
                                                       {"authentication_unavailable", 6},
                                                       {"handshake_rate", 13},
                                                       {"max_connections", 1},
                                                       {"max_connections_per_address", 2},
                                                       {"max_pending_connections", 0},
                                                       {"max_pending_connections_per_address", 8},
                                                       {"origin_not_allowed", 4},
                                                       {"topic_limit", 7}});
}

TEST_CASE("stats: the /stats body carries hub counters, disconnects and rejections") {
  hub_stats hub;
  hub.connections = 4;
  hub.disconnects["slow_consumer"] = 2;
  rejection_counts node;
  node.handshake_rate = 9;
  auto body = stats_json(hub, node);
  REQUIRE(body.back() == '\n');
  auto obj = json::parse(body).as_object();
  CHECK(number(obj.at("connections")) == 4);
  CHECK(number(obj.at("disconnects").at("slow_consumer")) == 2);
  CHECK(number(obj.at("disconnects").at("socket_closed")) == 0);
  auto& rejections = obj.at("rejections").as_object();
  CHECK(rejections.size() == 8 + 4); // node reasons, then the hub's
  CHECK(number(rejections.at("handshake_rate")) == 9);
  CHECK(number(rejections.at("max_connections")) == 0);
  CHECK(number(rejections.at("max_connections_per_address")) == 0);
}

TEST_CASE("route: generated requests always get a complete answer or a hand-over") {
  // A cheap fuzz run: every combination of method, target and upgrade
  // headers, checked against the rules rather than against fixed answers.
  const http::verb methods[] = {http::verb::get, http::verb::head, http::verb::post,
                                http::verb::options, http::verb::delete_};
  const char* targets[] = {"/ws", "/ws?a=b", "/stats", "/stats?", "/metrics", "/healthz",
                           "/healthz?x=/ws",
                           "/", "", "*", "/WS", "//ws", "/ws#x", "http://host/ws"};
  for (auto method : methods) {
    for (auto target : targets) {
      for (int headers = 0; headers < 4; ++headers) {
        for (unsigned version : {10u, 11u}) {
          auto req = request(method, target, version);
          if (headers & 1) {
            req.set(http::field::upgrade, "websocket");
            req.set(http::field::connection, "Upgrade");
          }
          if (headers & 2) {
            req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
            req.set(http::field::sec_websocket_version, "13");
          }
          INFO(http::to_string(method) << " " << target << " headers " << headers
                                       << " HTTP/" << version);
          auto path = std::string{target}.substr(0, std::string{target}.find('?'));
          bool upgrade_ok = method == http::verb::get && (headers & 1) && version == 11;
          auto d = route(req);
          CHECK((d.kind == route_kind::upgrade) == (path == "/ws" && upgrade_ok));
          CHECK((d.kind == route_kind::stats)
                == (path == "/stats"
                    && (method == http::verb::get || method == http::verb::head)));
          CHECK((d.kind == route_kind::metrics)
                == (path == "/metrics"
                    && (method == http::verb::get || method == http::verb::head)));
          if (d.kind != route_kind::respond)
            continue;
          auto& res = d.response;
          CHECK(res.version() == version);
          CHECK(res.keep_alive() == req.keep_alive());
          REQUIRE(res.find(http::field::content_length) != res.end());
          if (method != http::verb::head)
            CHECK(header(res, http::field::content_length) == std::to_string(res.body().size()));
          else
            CHECK(res.body().empty()); // HEAD /ws too (found by fuzzing)
          auto status = res.result();
          CHECK((status == http::status::method_not_allowed)
                == (res.find(http::field::allow) != res.end()));
        }
      }
    }
  }
}
