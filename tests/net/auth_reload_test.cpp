// Replacing who may connect while a node runs: a new verifier sent to its
// JWT authenticator and a new origin list (node::set_allowed_origins) apply
// to the next upgrade, on a real node on loopback.

#include "http_client.hpp"
#include "jwt_support.hpp"

#include "switchboard/node.hpp"

#include <optional>
#include <string>
#include <utility>

using namespace jwt_support;
using switchboard::testing::http_client;
namespace http = boost::beast::http;

namespace {

const std::string other_secret = "another-secret-of-at-least-32-bytes!";

// A node whose upgrades need a token (jwt_authenticator) and come from
// https://a.example when they name an origin.
struct reload_fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  jwt_authenticator_actor auth;
  std::unique_ptr<node> n;

  reload_fixture() {
    add_error_category(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    node_config nc;
    nc.port = 0;
    nc.io_threads = 1;
    nc.connection.shutdown_timeout = 1s;
    // The verifiers' fixed clock: tokens expire an hour after it, whatever
    // the real time is.
    jwt_settings s;
    s.secret = secret;
    s.allow_no_exp = true;
    auth = sys->spawn(jwt_authenticator, verifier(std::move(s)), jwt_refusal_hook{});
    nc.authenticator = auth;
    nc.allowed_origins = {"https://a.example"};
    auto started = node::start(*sys, nc);
    REQUIRE(started);
    n = std::move(*started);
  }

  ~reload_fixture() {
    n->stop();
    n.reset();
    auth = nullptr;
  }

  // The status and body of an upgrade with `token` (and `origin`, if any).
  std::pair<unsigned, std::string> upgrade(const std::string& token,
                                           const std::string& origin = {}) {
    http_client c{n->port()};
    auto req = http_client::make(http::verb::get, "/ws?token=" + token);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    if (!origin.empty())
      req.set(http::field::origin, origin);
    REQUIRE(c.send(req));
    auto res = c.receive();
    REQUIRE(res);
    return {res->result_int(), res->body()};
  }
};

} // namespace

TEST_CASE("a verifier sent to a node's authenticator judges the next upgrade") {
  reload_fixture f;
  auto old_token = hs256(R"({"sub":"alice"})");
  auto new_token = hs256(R"({"sub":"alice"})", other_secret, header("HS256", "k2"));
  CHECK(f.upgrade(old_token).first == 101);
  CHECK(f.upgrade(new_token).first == 401);
  jwt_settings next;
  next.keys = {{"k2", other_secret, {}}};
  next.allow_no_exp = true;
  // Enqueued before the node asks about the next upgrade: judged after it.
  caf::anon_send(f.auth, verifier(std::move(next)));
  CHECK(f.upgrade(new_token).first == 101);
  auto [status, body] = f.upgrade(hs256(R"({"sub":"alice"})", secret, header("HS256", "k1")));
  CHECK(status == 401);
  CHECK(body == "token key id unknown\n");
}

TEST_CASE("node::set_allowed_origins replaces the origins for the next upgrade") {
  reload_fixture f;
  auto token = hs256(R"({"sub":"alice"})");
  CHECK(f.upgrade(token, "https://a.example").first == 101);
  CHECK(f.upgrade(token, "https://b.example").first == 403);
  REQUIRE_FALSE(f.n->set_allowed_origins({"https://B.example", "http://localhost:3000"}));
  CHECK(f.upgrade(token, "https://a.example").first == 403);
  CHECK(f.upgrade(token, "https://b.example").first == 101);
  CHECK(f.upgrade(token, "http://localhost:3000").first == 101);
  // A bad entry changes nothing, and says which.
  auto err = f.n->set_allowed_origins({"https://c.example", "c.example"});
  REQUIRE(err);
  CHECK(err == caf::sec::invalid_argument);
  CHECK_THAT(caf::to_string(err), Catch::Contains("c.example"));
  CHECK(f.upgrade(token, "https://c.example").first == 403);
  CHECK(f.upgrade(token, "https://b.example").first == 101);
  // Empty: any origin.
  REQUIRE_FALSE(f.n->set_allowed_origins({}));
  CHECK(f.upgrade(token, "https://evil.example").first == 101);
}
