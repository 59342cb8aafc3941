// The Origin check on upgrades (node_config::allowed_origins) as pure
// functions: normalization and the decision.

#include "auth/origin.hpp"

#include <catch2/catch.hpp>

using namespace switchboard::net;
namespace http = boost::beast::http;

namespace {

http_request upgrade_from(std::initializer_list<const char*> origins) {
  http_request req{http::verb::get, "/ws", 11};
  for (auto o : origins)
    req.insert(http::field::origin, o);
  return req;
}

} // namespace

TEST_CASE("an origin normalizes to lower-case scheme://host[:port]") {
  CHECK(normalize_origin("https://Example.COM") == "https://example.com");
  CHECK(normalize_origin("HTTP://a.b:8080") == "http://a.b:8080");
  CHECK(normalize_origin("http://a.b:08080") == "http://a.b:8080");
  CHECK(normalize_origin("http://[::1]:3000") == "http://[::1]:3000");
  CHECK(normalize_origin("http://[::1]") == "http://[::1]");
  CHECK(normalize_origin("chrome-extension://abcdef") == "chrome-extension://abcdef");
  for (auto bad : {"null", "", "example.com", "https://", "https://a.com/", "https://a.com/x",
                   "https://a.com?q", "https://u@a.com", "https://a.com:", "https://a.com:0",
                   "https://a.com:65536", "https://a.com:80x", "1http://a.com", "https://a b",
                   "https://[::1", "https://a.com:80:90"}) {
    INFO(bad);
    CHECK_FALSE(normalize_origin(bad));
  }
}

TEST_CASE("with no list every origin passes") {
  CHECK(origin_allowed({}, upgrade_from({})));
  CHECK(origin_allowed({}, upgrade_from({"https://evil.example"})));
  CHECK(origin_allowed({}, upgrade_from({"null"})));
}

TEST_CASE("with a list, a browser's origin must be on it; a request without one passes") {
  std::vector<std::string> allowed{"https://app.example", "http://localhost:3000"};
  CHECK(origin_allowed(allowed, upgrade_from({})));
  CHECK(origin_allowed(allowed, upgrade_from({"https://app.example"})));
  CHECK(origin_allowed(allowed, upgrade_from({"HTTPS://APP.example"})));
  CHECK(origin_allowed(allowed, upgrade_from({"http://localhost:3000"})));
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"http://app.example"})));     // scheme
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"https://app.example:443"}))); // port
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"http://localhost:3001"})));
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"https://app.example.evil"})));
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"null"})));
  CHECK_FALSE(origin_allowed(allowed, upgrade_from({"https://app.example/"})));
  CHECK_FALSE(
    origin_allowed(allowed, upgrade_from({"https://app.example", "https://evil.example"})));
  CHECK_FALSE(
    origin_allowed(allowed, upgrade_from({"https://app.example", "https://app.example"})));
}
