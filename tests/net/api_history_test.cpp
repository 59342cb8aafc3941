// The server API's v1.1 routes and answers as pure functions: history,
// history_remove, presence, presence_stats, and the publish answer with its
// offset. tests/e2e/test_history.py runs them against a real node.

#include "http/api_answer.hpp"
#include "http/api_route.hpp"

#include "switchboard/settings.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace switchboard;
using namespace switchboard::net;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

const std::string key = "history-key-0123456789";

api_settings settings() {
  api_settings s;
  s.set_keys({{"test", digest_of(key)}});
  s.max_body = 4096;
  s.max_data = 100;
  return s;
}

http_request post(std::string target, std::string body) {
  http_request req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "apikey " + key);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

template <class T>
T call_of(const api_decision& d) {
  INFO(d.response.body());
  REQUIRE(d.call);
  REQUIRE(std::holds_alternative<T>(*d.call));
  return std::get<T>(*d.call);
}

void check_bad(const api_decision& d) {
  REQUIRE_FALSE(d.call);
  INFO(d.response.body());
  CHECK(d.response.result() == http::status::bad_request);
}

} // namespace

TEST_CASE("api: history routes carry topic, limit and since") {
  auto q = call_of<query_history>(route_api(post("/api/history", R"({"topic":"chat:x"})"),
                                            settings()));
  CHECK(q.topic == "chat:x");
  CHECK(q.limit == max_recovery); // the hub caps it at recovery-max
  CHECK_FALSE(q.since);
  q = call_of<query_history>(route_api(
    post("/api/history", R"({"topic":"t","limit":5,"since":{"offset":3,"epoch":"e"}})"),
    settings()));
  CHECK(q.limit == 5);
  REQUIRE(q.since);
  CHECK(q.since->offset == 3);
  CHECK(q.since->epoch == "e");
  for (auto body : {R"({"topic":"t","limit":-1})", R"({"topic":"t","limit":"5"})",
                    R"({"topic":"t","since":{"offset":3}})",
                    R"({"topic":"t","since":{"offset":3,"epoch":"e","x":1}})",
                    R"({"topic":"","limit":1})", R"({"topic":"t","other":1})"})
    check_bad(route_api(post("/api/history", body), settings()));
  CHECK(call_of<remove_history>(
          route_api(post("/api/history_remove", R"({"topic":"t"})"), settings()))
          .topic
        == "t");
  CHECK(call_of<query_presence>(
          route_api(post("/api/presence", R"({"topic":"t"})"), settings()))
          .topic
        == "t");
  CHECK(call_of<query_presence_stats>(
          route_api(post("/api/presence_stats", R"({"topic":"t"})"), settings()))
          .topic
        == "t");
  check_bad(route_api(post("/api/presence", R"({"topic":"t","limit":1})"), settings()));
  auto get = post("/api/presence", "");
  get.method(http::verb::get);
  CHECK(route_api(get, settings()).response.result() == http::status::method_not_allowed);
}

TEST_CASE("api: v1.1 answers keep data verbatim") {
  auto req = post("/api/history", "");
  auto res = api_answer(req, query_history{"t", 10, caf::none},
                        history_page{"t", "ab", 7, {{6, "1.0"}, {7, R"({"k": 2})"}}});
  CHECK(res.result() == http::status::ok);
  CHECK(res.body()
        == R"({"topic":"t","epoch":"ab","offset":7,"messages":[{"offset":6,"data":1.0},)"
           R"({"offset":7,"data":{"k": 2}}]})"
           "\n");
  CHECK(api_answer(req, remove_history{"t"}, stream_position{0, "cd"}).body()
        == "{\"topic\":\"t\",\"epoch\":\"cd\",\"offset\":0}\n");
  CHECK(api_answer(req, query_presence{"t"}, presence_info{"t", {{1, "u"}, {2, ""}}, false})
          .body()
        == R"({"topic":"t","clients":[{"id":1,"user":"u"},{"id":2}],"truncated":false})"
           "\n");
  CHECK(api_answer(req, query_presence_stats{"t"}, presence_counts{"t", 2, 1}).body()
        == "{\"topic\":\"t\",\"clients\":2,\"users\":1}\n");
  // The publish answer is v1's without history, with the position with it.
  CHECK(api_answer(req, publish_numbered{"t", "1"}, publish_result{3, 0, {}}).body()
        == "{\"delivered\":3}\n");
  CHECK(api_answer(req, publish_numbered{"t", "1"}, publish_result{3, 9, "ef"}).body()
        == "{\"delivered\":3,\"offset\":9,\"epoch\":\"ef\"}\n");
  auto refused = api_answer(req, query_history{"t", 10, caf::none},
                            make_error(hub_errc::not_enabled));
  CHECK(refused.result() == http::status::bad_request);
  CHECK(json::parse(refused.body()).at("error") == "not_enabled");
}
