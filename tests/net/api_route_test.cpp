// The server API's routes and answers as pure functions (api_route.hpp,
// api_answer.hpp): which request becomes which hub call or which error, and
// which reply becomes which answer. tests/e2e/test_api.py runs the same
// against a real node.

#include "http/api_answer.hpp"
#include "http/api_route.hpp"
#include "http/http_route.hpp"
#include "http/url_decode.hpp"

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

const std::string key = "s3cret-key-0123456789";

api_settings settings() {
  api_settings s;
  s.set_keys({{"test", digest_of(key)}});
  s.max_body = 4096;
  s.max_data = 100;
  return s;
}

http_request request(http::verb method, std::string target, std::string body = {},
                     std::string auth = "apikey " + key) {
  http_request req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!auth.empty())
    req.set(http::field::authorization, auth);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

http_request post(std::string target, std::string body) {
  return request(http::verb::post, std::move(target), std::move(body));
}

std::string header(const http_response& res, http::field name) {
  auto i = res.find(name);
  return i == res.end() ? std::string{"<none>"} : std::string{i->value()};
}

// An error answer: its status, and the code in its JSON body.
void check_error(const api_decision& d, http::status status, const char* code) {
  REQUIRE_FALSE(d.call);
  INFO(d.response.body());
  CHECK(d.response.result() == status);
  CHECK(header(d.response, http::field::content_type) == "application/json");
  auto obj = json::parse(d.response.body()).as_object();
  CHECK(obj.at("error") == code);
  CHECK(obj.at("reason").is_string());
}

// A copy: the decision is usually a temporary.
template <class T>
T call_of(const api_decision& d) {
  INFO(d.response.body());
  REQUIRE(d.call);
  REQUIRE(std::holds_alternative<T>(*d.call));
  return std::get<T>(*d.call);
}

json::object body_of(const http_response& res) {
  INFO(res.body());
  return json::parse(res.body()).as_object();
}

} // namespace

// -- the key -----------------------------------------------------------------------------

TEST_CASE("api: the key is checked by digest, whatever its case of scheme") {
  auto d = digest_of(key);
  CHECK(key_matches("apikey " + key, d));
  CHECK(key_matches("ApiKey " + key, d));
  CHECK(key_matches("APIKEY   " + key, d));
  CHECK_FALSE(key_matches("apikey " + key + "x", d));
  CHECK_FALSE(key_matches("apikey " + key.substr(1), d));
  CHECK_FALSE(key_matches("apikey", d));
  CHECK_FALSE(key_matches("apikey ", d));
  CHECK_FALSE(key_matches("Bearer " + key, d));
  CHECK_FALSE(key_matches("apikey" + key, d));
  CHECK_FALSE(key_matches(key, d));
  CHECK(digest_of("a") != digest_of("b"));
}

TEST_CASE("api: without a configured key every /api path is a plain 404") {
  api_settings none;
  for (auto target : {"/api", "/api/", "/api/publish", "/api/topics", "/api/nope"}) {
    auto d = route_api(request(http::verb::post, target, "{}"), none);
    REQUIRE_FALSE(d.call);
    CHECK(d.response.result() == http::status::not_found);
    CHECK(d.response.body() == "not found\n");
  }
  CHECK(body_limit_for(post("/api/publish", "{}"), none) == http_body_limit);
}

TEST_CASE("api: a missing or wrong key is 401 with WWW-Authenticate") {
  for (auto auth : {std::string{}, std::string{"apikey wrong"}, "Bearer " + key}) {
    auto d = route_api(request(http::verb::post, "/api/publish",
                               R"({"topic":"t","data":1})", auth),
                       settings());
    check_error(d, http::status::unauthorized, "unauthorized");
    CHECK(header(d.response, http::field::www_authenticate) == R"(apikey realm="switchboard")");
  }
  // Before the route is known: nobody learns which routes exist.
  check_error(route_api(request(http::verb::get, "/api/nope", {}, ""), settings()),
              http::status::unauthorized, "unauthorized");
}

TEST_CASE("api: only an authorized API request gets the larger body limit") {
  auto s = settings();
  CHECK(body_limit_for(post("/api/publish", "{}"), s) == 4096);
  CHECK(body_limit_for(request(http::verb::post, "/api/publish", "{}", "apikey no"), s)
        == http_body_limit);
  CHECK(body_limit_for(request(http::verb::post, "/stats", "{}"), s) == http_body_limit);
  CHECK(body_limit_for(request(http::verb::post, "/apix", "{}"), s) == http_body_limit);
}

TEST_CASE("api: /api paths are routed to the API, others not") {
  CHECK(route(request(http::verb::get, "/api/topics")).kind == route_kind::api);
  CHECK(route(request(http::verb::get, "/api")).kind == route_kind::api);
  CHECK(route(request(http::verb::get, "/api?x")).kind == route_kind::api);
  CHECK(route(request(http::verb::get, "/apix")).kind == route_kind::respond);
  CHECK(is_api_target("/api/publish?x=1"));
  CHECK_FALSE(is_api_target("/ap"));
  CHECK_FALSE(is_api_target("/x/api/"));
}

// -- routes and methods ----------------------------------------------------------------

TEST_CASE("api: unknown routes are 404, wrong methods 405 with Allow") {
  for (auto target : {"/api", "/api/", "/api/nope", "/api/topics/", "/api/connections/",
                      "/api/publish/x"})
    check_error(route_api(request(http::verb::get, target), settings()),
                http::status::not_found, "not_found");
  for (auto target : {"/api/publish", "/api/broadcast", "/api/send", "/api/disconnect"}) {
    for (auto method : {http::verb::get, http::verb::put, http::verb::delete_}) {
      auto d = route_api(request(method, target), settings());
      check_error(d, http::status::method_not_allowed, "method_not_allowed");
      CHECK(header(d.response, http::field::allow) == "POST");
    }
  }
  for (auto target : {"/api/topics", "/api/topics/x", "/api/connections/1"}) {
    auto d = route_api(request(http::verb::post, target, "{}"), settings());
    check_error(d, http::status::method_not_allowed, "method_not_allowed");
    CHECK(header(d.response, http::field::allow) == "GET, HEAD");
  }
}

// -- POST bodies -------------------------------------------------------------------------

TEST_CASE("api: publish carries the topic and the raw data") {
  auto p = call_of<publish_numbered>(
    route_api(post("/api/publish", R"({"topic":"news","data": {"n": 1.0, "s":"x"} })"),
              settings()));
  CHECK(p.topic == "news");
  CHECK(p.data == R"({"n": 1.0, "s":"x"})");
  // The query string is ignored.
  CHECK(call_of<publish_numbered>(route_api(post("/api/publish?x=1", R"({"data":1,"topic":"t"})"),
                                   settings()))
          .data
        == "1");
}

TEST_CASE("api: bad bodies are 400 with a reason") {
  const char* bodies[] = {
    "",                                  // not JSON
    "{",                                 // not JSON
    "[1]",                               // not an object
    R"({"topic":"t"})",                  // no data
    R"({"data":1})",                     // no topic
    R"({"topic":"","data":1})",          // bad topic
    R"({"topic":5,"data":1})",           // bad topic
    R"({"topic":"t","data":1,"x":2})",   // unknown member
    R"({"topic":"t","data":1,"data":2})", // duplicate
  };
  for (auto body : bodies) {
    INFO(body);
    check_error(route_api(post("/api/publish", body), settings()), http::status::bad_request,
                "bad_request");
  }
  std::string deep(40, '[');
  check_error(route_api(post("/api/publish", R"({"topic":"t","data":)" + deep + "}"),
                        settings()),
              http::status::bad_request, "bad_request");
}

TEST_CASE("api: data larger than max-message-size is 413") {
  auto body = R"({"topic":"t","data":")" + std::string(100, 'x') + R"("})";
  check_error(route_api(post("/api/publish", body), settings()),
              http::status::payload_too_large, "payload_too_large");
  body = R"({"topic":"t","data":")" + std::string(98, 'x') + R"("})"; // 100 with quotes
  CHECK(call_of<publish_numbered>(route_api(post("/api/publish", body), settings())).data.size()
        == 100);
}

TEST_CASE("api: broadcast names 1-1000 valid topics") {
  auto b = call_of<broadcast>(
    route_api(post("/api/broadcast", R"({"topics":["a","b/c"],"data":[1, 2]})"), settings()));
  CHECK(b.topics == std::vector<std::string>{"a", "b/c"});
  CHECK(b.data == "[1, 2]");
  for (auto body : {R"({"topics":[],"data":1})", R"({"topics":"a","data":1})",
                    R"({"topics":["a",""],"data":1})", R"({"topics":["a",1],"data":1})",
                    R"({"topics":["a"]})"}) {
    INFO(body);
    check_error(route_api(post("/api/broadcast", body), settings()), http::status::bad_request,
                "bad_request");
  }
  std::string many = R"({"data":1,"topics":[)";
  for (int i = 0; i <= 1000; ++i)
    many += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  auto s = settings();
  s.max_body = 1 << 20;
  check_error(route_api(post("/api/broadcast", many + "]}"), s), http::status::bad_request,
              "bad_request");
}

TEST_CASE("api: send goes to a connection id or to user:ID") {
  auto d = call_of<send_direct>(
    route_api(post("/api/send", R"({"to":17,"data":"hi"})"), settings()));
  CHECK(d.to == 17);
  CHECK(d.data == R"("hi")");
  CHECK(d.from.empty());
  auto u = call_of<send_to_user>(
    route_api(post("/api/send", R"({"to":"user:alice@example","data":{}})"), settings()));
  CHECK(u.user == "alice@example");
  CHECK(u.data == "{}");
  for (auto body : {R"({"to":-1,"data":1})", R"({"to":"17","data":1})",
                    R"({"to":"user:","data":1})", R"({"to":"service:x","data":1})",
                    R"({"to":1.5,"data":1})", R"({"data":1})", R"({"to":1})"}) {
    INFO(body);
    check_error(route_api(post("/api/send", body), settings()), http::status::bad_request,
                "bad_request");
  }
}

TEST_CASE("api: disconnect names a connection or a user, with a close code and reason") {
  auto c = call_of<close_connection>(route_api(
    post("/api/disconnect", R"({"connection":5,"code":4001,"reason":"bye"})"), settings()));
  CHECK(c.conn == 5);
  CHECK(c.code == 4001);
  CHECK(c.reason == "bye");
  auto u = call_of<disconnect_user>(
    route_api(post("/api/disconnect", R"({"user":"bob"})"), settings()));
  CHECK(u.user == "bob");
  CHECK(u.code == 1000);
  CHECK(u.reason.empty());
  for (auto body : {R"({})", R"({"connection":1,"user":"bob"})", R"({"connection":"1"})",
                    R"({"user":""})", R"({"user":"bob","code":1005})",
                    R"({"user":"bob","code":70000})", R"({"user":"bob","code":"1000"})",
                    R"({"user":"bob","reason":7})", R"({"user":"bob","data":1})"}) {
    INFO(body);
    check_error(route_api(post("/api/disconnect", body), settings()),
                http::status::bad_request, "bad_request");
  }
  auto long_reason = R"({"user":"bob","reason":")" + std::string(124, 'r') + R"("})";
  check_error(route_api(post("/api/disconnect", long_reason), settings()),
              http::status::bad_request, "bad_request");
}

// -- queries -----------------------------------------------------------------------------

TEST_CASE("api: /api/topics takes limit and prefix, URL-decoded") {
  auto all = call_of<query_topics>(route_api(request(http::verb::get, "/api/topics"),
                                              settings()));
  CHECK(all.prefix.empty());
  CHECK(all.limit == 100);
  auto q = call_of<query_topics>(
    route_api(request(http::verb::head, "/api/topics?prefix=a%2Fb+c&limit=1000"), settings()));
  CHECK(q.prefix == "a/b c");
  CHECK(q.limit == 1000);
  for (auto target : {"/api/topics?limit=0", "/api/topics?limit=1001", "/api/topics?limit=x",
                      "/api/topics?limit=", "/api/topics?limit=-1", "/api/topics?prefix=%zz",
                      "/api/topics?prefix=%4", "/api/topics?colour=red",
                      "/api/topics?limit=1&limit=2"}) {
    INFO(target);
    check_error(route_api(request(http::verb::get, target), settings()),
                http::status::bad_request, "bad_request");
  }
}

TEST_CASE("api: /api/topics/NAME is URL-decoded and may hold slashes") {
  CHECK(call_of<query_topic>(route_api(request(http::verb::get, "/api/topics/a/b%20c+d?x"),
                                       settings()))
          .name
        == "a/b c+d");
  CHECK(call_of<query_topic>(route_api(request(http::verb::get, "/api/topics/%E2%82%AC"),
                                       settings()))
          .name
        == "\xe2\x82\xac");
  for (auto target : {"/api/topics/%", "/api/topics/a%2", "/api/topics/%0a"}) {
    INFO(target);
    check_error(route_api(request(http::verb::get, target), settings()),
                http::status::bad_request, "bad_request");
  }
}

TEST_CASE("api: /api/connections/ID takes a decimal id") {
  CHECK(call_of<query_connection>(
          route_api(request(http::verb::get, "/api/connections/9007199254740991"), settings()))
          .conn
        == 9007199254740991u);
  for (auto target : {"/api/connections/x", "/api/connections/-1", "/api/connections/1.0",
                      "/api/connections/12345678901234567"}) {
    INFO(target);
    check_error(route_api(request(http::verb::get, target), settings()),
                http::status::bad_request, "bad_request");
  }
}

TEST_CASE("api: an error body stays JSON whatever the request quoted") {
  // A parameter name with bytes that are not UTF-8 (found by fuzzing).
  auto d = route_api(request(http::verb::get, "/api/topics?pre%A4%96=1"), settings());
  check_error(d, http::status::bad_request, "bad_request");
  auto reason = std::string{body_of(d.response).at("reason").as_string()};
  CHECK(reason.find("pre\\xa4\\x96") != std::string::npos);
  d = route_api(request(http::verb::get, "/api/topics?pr%C3%A9fix=1"), settings());
  CHECK(std::string{body_of(d.response).at("reason").as_string()}.find("pr\xc3\xa9" "fix")
        != std::string::npos);
}

TEST_CASE("url_decode") {
  CHECK(url_decode("a%2fb%2F", false) == "a/b/");
  CHECK(url_decode("a+b", false) == "a+b");
  CHECK(url_decode("a+b", true) == "a b");
  CHECK(url_decode("", true) == "");
  CHECK_FALSE(url_decode("%", false));
  CHECK_FALSE(url_decode("%g0", false));
  CHECK_FALSE(url_decode("ab%1", false));
}

// -- answers -----------------------------------------------------------------------------

TEST_CASE("api: hub replies become JSON answers") {
  auto req = request(http::verb::post, "/api/publish");
  auto res = api_answer(req, publish_numbered{"t", "1"}, publish_result{3, 0, {}});
  CHECK(res.result() == http::status::ok);
  CHECK(header(res, http::field::content_type) == "application/json");
  CHECK(res.body() == "{\"delivered\":3}\n");
  res = api_answer(req, broadcast{{"a", "b"}, "1"}, delivery_counts{{"a", 1}, {"b", 0}});
  CHECK(body_of(res) == json::parse(R"({"delivered":{"a":1,"b":0}})").as_object());
  CHECK(body_of(api_answer(req, send_direct{1, "1", {}}, true)).at("delivered") == 1);
  CHECK(body_of(api_answer(req, send_to_user{"u", "1", {}}, std::uint64_t{2}))
          .at("delivered")
        == 2);
  CHECK(body_of(api_answer(req, close_connection{1, 1000, {}}, true)).at("disconnected") == 1);
  CHECK(body_of(api_answer(req, disconnect_user{"u", 1000, {}}, std::uint64_t{4}))
          .at("disconnected")
        == 4);
}

TEST_CASE("api: an unknown target is 404 named after what is missing") {
  auto req = request(http::verb::post, "/api/send");
  auto check = [](const http_response& res, const char* code) {
    CHECK(res.result() == http::status::not_found);
    CHECK(body_of(res).at("error") == code);
  };
  check(api_answer(req, send_direct{1, "1", {}}, false), "unknown_connection");
  check(api_answer(req, close_connection{1, 1000, {}}, false), "unknown_connection");
  check(api_answer(req, send_to_user{"u", "1", {}}, std::uint64_t{0}), "unknown_user");
  check(api_answer(req, disconnect_user{"u", 1000, {}}, std::uint64_t{0}), "unknown_user");
  check(api_answer(req, query_topic{"t"}, make_error(hub_errc::not_found)), "unknown_topic");
  check(api_answer(req, query_connection{1}, make_error(hub_errc::not_found)),
        "unknown_connection");
}

TEST_CASE("api: a stopping, gone or silent hub is 503; a refusal 400") {
  auto req = request(http::verb::post, "/api/publish");
  for (auto err : {make_error(hub_errc::shutting_down), caf::make_error(caf::sec::request_timeout),
                   caf::make_error(caf::sec::request_receiver_down)}) {
    auto res = api_answer(req, publish_numbered{"t", "1"}, err);
    CHECK(res.result() == http::status::service_unavailable);
  }
  auto res = api_answer(req, publish_numbered{"t", "1"}, make_error(hub_errc::invalid_data));
  CHECK(res.result() == http::status::bad_request);
  CHECK(body_of(res).at("error") == "invalid_data");
  // A reply of the wrong type (never sent by the hub) is no crash.
  CHECK(api_answer(req, publish_numbered{"t", "1"}, true).result()
        == http::status::internal_server_error);
}

TEST_CASE("api: query answers list topics and describe a connection") {
  auto req = request(http::verb::get, "/api/topics");
  topic_list list;
  list.topics = {{"a", 2, 1}};
  list.total = 7;
  list.truncated = true;
  CHECK(body_of(api_answer(req, query_topics{}, list))
        == json::parse(
             R"({"topics":[{"name":"a","subscribers":2,"listeners":1}],"total":7,"truncated":true})")
             .as_object());
  CHECK(body_of(api_answer(req, query_topic{"a"}, topic_info{"a", 0, 3}))
        == json::parse(R"({"name":"a","subscribers":0,"listeners":3})").as_object());
  connection_info c;
  c.id = 42;
  c.user = "alice";
  c.topics = {"x"};
  c.age = std::chrono::milliseconds(1500);
  c.connected_since = std::chrono::milliseconds(1'700'000'000'123);
  auto obj = body_of(api_answer(req, query_connection{42}, c));
  CHECK(obj == json::parse(R"({"id":42,"user":"alice","topics":["x"],"age_ms":1500,)"
                           R"("connected_since":"2023-11-14T22:13:20.123Z"})")
                 .as_object());
  c.user.clear();
  CHECK(body_of(api_answer(req, query_connection{42}, c)).at("user").is_null());
  // HEAD: the size, no body.
  auto head = request(http::verb::head, "/api/topics");
  auto res = api_answer(head, query_topics{}, list);
  CHECK(res.body().empty());
  CHECK(header(res, http::field::content_length) != "0");
}

TEST_CASE("api: a refused parse of an API request is a JSON error and a close") {
  auto res = api_parse_error_response(http::error::body_limit);
  CHECK(res.result() == http::status::payload_too_large);
  CHECK_FALSE(res.keep_alive());
  CHECK(body_of(res).at("error") == "payload_too_large");
  CHECK(api_parse_error_response(http::error::bad_method).result()
        == http::status::bad_request);
}
