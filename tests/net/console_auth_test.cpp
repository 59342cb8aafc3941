// The web console's logins as plain objects (console_auth.hpp): session
// tokens (forgery, expiry, logout), the per-address throttle on virtual
// time, and the request checks (cookie, Origin, header, loopback names).

#include "auth/console_auth.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace switchboard::net;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

http_request request(std::initializer_list<std::pair<std::string, std::string>> fields) {
  http_request req{http::verb::post, "/api/publish", 11};
  for (auto& [k, v] : fields)
    req.insert(k, v);
  return req;
}

const auto t0 = console_auth::clock::time_point{1'800'000'000s};

address_key address(std::uint8_t last) {
  address_key key{};
  key[15] = last;
  return key;
}

} // namespace

TEST_CASE("a session is valid until it expires or is revoked, and cannot be forged") {
  console_auth auth{"a password of 16+ chars"};
  auto token = auth.issue(t0);
  CHECK(auth.valid(token, t0));
  CHECK(auth.valid(token, t0 + console_auth::session_lifetime - 1s));
  CHECK_FALSE(auth.valid(token, t0 + console_auth::session_lifetime));
  // Another node's key, an altered expiry, a truncated or empty token.
  console_auth other{"a password of 16+ chars"};
  CHECK_FALSE(other.valid(token, t0));
  auto later = "9" + token;
  CHECK_FALSE(auth.valid(later, t0));
  CHECK_FALSE(auth.valid(token.substr(0, token.size() - 1), t0));
  CHECK_FALSE(auth.valid("", t0));
  CHECK_FALSE(auth.valid("1.2.3", t0));
  auto second = auth.issue(t0);
  auth.revoke(token, t0 + 1s);
  CHECK_FALSE(auth.valid(token, t0 + 2s));
  CHECK(auth.valid(second, t0 + 2s));
}

TEST_CASE("the password is checked; without one (insecure) no password matches") {
  console_auth auth{"a password of 16+ chars"};
  CHECK(auth.password_matches("a password of 16+ chars"));
  CHECK_FALSE(auth.password_matches("a password of 16+ char"));
  CHECK_FALSE(auth.password_matches(""));
  console_auth open{""};
  CHECK(open.insecure());
  CHECK_FALSE(open.password_matches(""));
}

TEST_CASE("failed logins are throttled per address, and tries come back with time") {
  console_auth auth{"a password of 16+ chars"};
  for (int i = 0; i < console_auth::login_burst; ++i) {
    CHECK(auth.login_wait(address(1), t0) == 0s);
    auth.login_failed(address(1), t0);
  }
  CHECK(auth.login_wait(address(1), t0) == console_auth::login_refill + 1s);
  CHECK(auth.login_wait(address(2), t0) == 0s); // another address is not held back
  CHECK(auth.login_wait(address(1), t0 + console_auth::login_refill - 1s) > 0s);
  CHECK(auth.login_wait(address(1), t0 + console_auth::login_refill) == 0s);
}

TEST_CASE("cookies, origins and loopback names are read as browsers send them") {
  auto req = request({{"Cookie", "a=1; switchboard_console = tok ; b=2"}, {"Host", "node:8080"}});
  CHECK(cookie_of(req, "switchboard_console") == std::string_view{"tok"});
  CHECK_FALSE(cookie_of(req, "missing"));
  CHECK(same_origin(req, false)); // no Origin: not a cross-site browser request
  CHECK(same_origin(request({{"Host", "node:8080"}, {"Origin", "http://NODE:8080"}}), false));
  CHECK_FALSE(same_origin(request({{"Host", "node:8080"}, {"Origin", "http://node:8080"}}), true));
  CHECK_FALSE(same_origin(request({{"Host", "node:8080"}, {"Origin", "http://evil:8080"}}), false));
  CHECK_FALSE(same_origin(request({{"Host", "node:8080"}, {"Origin", "http://node:8080"},
                                   {"Origin", "http://node:8080"}}),
                          false));
  for (auto host : {"localhost:1", "127.0.0.1:8080", "127.1.2.3", "[::1]:9", "LOCALHOST"})
    CHECK(loopback_host(request({{"Host", host}})));
  for (auto host : {"rebound.example:8080", "10.0.0.1", "", "[::2]:1"})
    CHECK_FALSE(loopback_host(request({{"Host", host}})));
}

TEST_CASE("a console request needs the session, the header and no foreign origin") {
  console_auth auth{"a password of 16+ chars"};
  auto cookie = std::string{console_cookie} + "=" + auth.issue(console_auth::clock::now());
  CHECK(console_request(request({{"Cookie", cookie}, {"X-Switchboard-Console", "1"}}), auth, false));
  CHECK_FALSE(console_request(request({{"Cookie", cookie}}), auth, false));
  CHECK_FALSE(console_request(request({{"X-Switchboard-Console", "1"}}), auth, false));
  CHECK_FALSE(console_request(request({{"Cookie", cookie}, {"X-Switchboard-Console", "1"},
                                       {"Host", "n"}, {"Origin", "http://evil"}}),
                              auth, false));
  // The inspector's upgrade: a browser always names its origin.
  CHECK(console_upgrade(request({{"Cookie", cookie}, {"Host", "n"}, {"Origin", "http://n"}}), auth,
                        false));
  CHECK_FALSE(console_upgrade(request({{"Cookie", cookie}}), auth, false));
}
