// A real node on loopback, driven by Beast clients: what the node does when
// its hub dies, that a stopped node has let go of every connection, the
// authenticator, the server API reaching a user's connections, and an API
// answer that comes late.

#include "http_client.hpp"

#include "switchboard/jwt.hpp"
#include "switchboard/node.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

using namespace switchboard;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

/// Allows "/ws?token=good" as user "alice"; refuses anything else with 401.
authenticator_actor::behavior_type gatekeeper(authenticator_actor::pointer) {
  return {
    [](const upgrade_request& req) {
      upgrade_verdict v;
      if (req.target == "/ws?token=good" && !req.remote_address.empty()) {
        v.allow = true;
        v.user = "alice";
      } else {
        v.status = 401;
        v.reason = "bad token";
      }
      return v;
    },
  };
}

connection_observer_actor::behavior_type
joins(connection_observer_actor::pointer, std::shared_ptr<std::promise<std::string>> user) {
  return {[user](const connection_event& ev) {
    if (ev.kind == connection_event::joined)
      user->set_value(ev.user);
  }};
}

struct node_fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::unique_ptr<node> n;

  /// `tweak` changes the node's configuration before it starts.
  explicit node_fixture(bool with_gatekeeper = false,
                        std::function<void(node_config&, caf::actor_system&)> tweak = {}) {
    add_error_category(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    node_config nc;
    nc.port = 0;
    nc.io_threads = 2;
    nc.connection.shutdown_timeout = 1s;
    if (with_gatekeeper)
      nc.authenticator = sys->spawn(gatekeeper);
    if (tweak)
      tweak(nc, *sys);
    auto started = node::start(*sys, nc);
    REQUIRE(started);
    n = std::move(*started);
  }

  ~node_fixture() {
    n->stop();
    n.reset();
  }
};

/// A WebSocket client whose every step is bounded in time.
class client {
public:
  /// Upgrades on `target`, with an Origin header if `origin` is set.
  explicit client(std::uint16_t port, std::string target = "/ws", std::string origin = {})
    : ws_(ioc_) {
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_after(5s);
    tcp.async_connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                      [this](beast::error_code ec) { ec_ = ec; });
    run();
    REQUIRE_FALSE(ec_);
    tcp.expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    if (!origin.empty())
      ws_.set_option(websocket::stream_base::decorator(
        [origin](websocket::request_type& req) { req.set(http::field::origin, origin); }));
    ws_.async_handshake(res_, "127.0.0.1", target,
                        [this](beast::error_code ec) { ec_ = ec; });
    run();
  }

  /// The handshake's outcome, and the server's HTTP answer to it.
  beast::error_code handshake_error() const {
    return ec_;
  }
  const websocket::response_type& response() const {
    return res_;
  }

  /// The next text message, or the error that ended the read.
  std::pair<beast::error_code, std::string> read() {
    beast::flat_buffer buf;
    ws_.async_read(buf, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    run();
    return {ec_, beast::buffers_to_string(buf.data())};
  }

  websocket::close_reason reason() const {
    return ws_.reason();
  }

private:
  void run() {
    ioc_.restart();
    ec_ = asio::error::timed_out;
    ioc_.run_for(5s);
  }

  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type res_;
  beast::error_code ec_;
};

unsigned health(std::uint16_t port) {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return res.result_int();
}

/// One POST with the API key; the answer's status and body.
std::pair<unsigned, std::string> api_post(std::uint16_t port, const char* target,
                                          std::string body, const std::string& key) {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(5s);
  stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "apikey " + key);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {res.result_int(), res.body()};
}

} // namespace

TEST_CASE_METHOD(node_fixture, "when the hub dies, every client gets 1011 and the node "
                               "reports it") {
  client a{n->port()};
  client b{n->port()};
  REQUIRE_FALSE(a.handshake_error());
  REQUIRE_FALSE(b.handshake_error());
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE(b.read().second.find(R"("welcome")") != std::string::npos);
  CHECK(health(n->port()) == 200);
  caf::anon_send_exit(n->hub(), caf::exit_reason::kill);
  CHECK(n->wait() == caf::exit_reason::kill);
  for (auto* c : {&a, &b}) {
    auto [ec, text] = c->read();
    CHECK(ec == websocket::error::closed);
    CHECK(c->reason().code == websocket::close_code::internal_error);
    CHECK(c->reason().reason == "hub down");
  }
  CHECK(health(n->port()) == 503);
}

TEST_CASE_METHOD(node_fixture, "a requested stop ends the wait with no error") {
  client a{n->port()};
  REQUIRE_FALSE(a.handshake_error());
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  n->request_stop();
  CHECK_FALSE(n->wait());
  auto [ec, text] = a.read();
  CHECK(ec == websocket::error::closed);
  CHECK(a.reason().code == websocket::close_code::going_away);
}

TEST_CASE("the authenticator lets a client in under its identity, or refuses the upgrade") {
  node_fixture f{true};
  auto user = std::make_shared<std::promise<std::string>>();
  auto joined = user->get_future();
  auto obs = f.sys->spawn(joins, user);
  caf::anon_send(f.n->hub(), add_observer{obs});
  client bad{f.n->port(), "/ws?token=evil"};
  CHECK(bad.handshake_error() == websocket::error::upgrade_declined);
  CHECK(bad.response().result_int() == 401);
  CHECK(bad.response()[http::field::www_authenticate] == R"(Bearer error="invalid_token")");
  CHECK(bad.response().body().find("bad token") != std::string::npos);
  client good{f.n->port(), "/ws?token=good"};
  REQUIRE_FALSE(good.handshake_error());
  REQUIRE(good.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE(joined.wait_for(5s) == std::future_status::ready);
  CHECK(joined.get() == "alice");
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
}

TEST_CASE("the JWT authenticator lets a token's subject in, after the origin check") {
  // {"sub":"alice","topics":["news/*"]}, HS256 (no exp: it never expires).
  const std::string token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInRvcGljcyI6WyJuZXdzLyoiXX0."
    "o9Cp2vqVYrY--ZJ0a_-sm3fH5XTJ-4OIjn5miXD8z8U";
  auto refusals = std::make_shared<std::vector<std::string>>();
  node_fixture f{false, [refusals](node_config& nc, caf::actor_system& sys) {
                   jwt_settings js;
                   js.secret = "node-test-secret-of-32-bytes-long!";
                   js.allow_no_exp = true; // the token above has none
                   auto verifier = jwt_verifier::make(js);
                   REQUIRE(verifier);
                   // (Called on the authenticator's thread; read after the
                   // refusals' answers arrived.)
                   nc.authenticator = sys.spawn(
                     jwt_authenticator, *verifier,
                     [refusals](const std::string&, const std::string& reason) {
                       refusals->push_back(reason);
                     });
                   nc.allowed_origins = {"https://App.example"};
                 }};
  auto user = std::make_shared<std::promise<std::string>>();
  auto joined = user->get_future();
  auto obs = f.sys->spawn(joins, user);
  caf::anon_send(f.n->hub(), add_observer{obs});

  client foreign{f.n->port(), "/ws?token=" + token, "https://evil.example"};
  CHECK(foreign.handshake_error() == websocket::error::upgrade_declined);
  CHECK(foreign.response().result_int() == 403);
  client forged{f.n->port(), "/ws?token=" + token + "x", "https://app.example"};
  CHECK(forged.response().result_int() == 401);
  CHECK(forged.response()[http::field::www_authenticate] == R"(Bearer error="invalid_token")");
  CHECK(forged.response().body() == "bad token signature\n");

  client good{f.n->port(), "/ws?token=" + token, "https://app.example"};
  REQUIRE_FALSE(good.handshake_error());
  REQUIRE(good.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE(joined.wait_for(5s) == std::future_status::ready);
  CHECK(joined.get() == "alice");
  CHECK(*refusals == std::vector<std::string>{"bad token signature"});
  caf::anon_send_exit(obs, caf::exit_reason::user_shutdown);
}

TEST_CASE("the server API reaches and disconnects every connection of a user") {
  const std::string key = "test-key-0123456789abcdef";
  node_fixture f{true, [&key](node_config& nc, caf::actor_system&) { nc.api_key = key; }};
  client a{f.n->port(), "/ws?token=good"};
  client b{f.n->port(), "/ws?token=good"};
  REQUIRE_FALSE(a.handshake_error());
  REQUIRE_FALSE(b.handshake_error());
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE(b.read().second.find(R"("welcome")") != std::string::npos);
  auto [status, body] =
    api_post(f.n->port(), "/api/send", R"({"to":"user:alice","data":{"n": 1.0}})", key);
  CHECK(status == 200);
  CHECK(body == "{\"delivered\":2}\n");
  for (auto* c : {&a, &b})
    CHECK(c->read().second == R"({"type":"direct","from":0,"data":{"n": 1.0}})");
  std::tie(status, body) =
    api_post(f.n->port(), "/api/send", R"({"to":"user:bob","data":1})", key);
  CHECK(status == 404);
  CHECK(body.find("unknown_user") != std::string::npos);
  std::tie(status, body) = api_post(f.n->port(), "/api/disconnect",
                                    R"({"user":"alice","code":4002,"reason":"bye"})", key);
  CHECK(status == 200);
  CHECK(body == "{\"disconnected\":2}\n");
  for (auto* c : {&a, &b}) {
    auto [ec, text] = c->read();
    CHECK(ec == websocket::error::closed);
    CHECK(c->reason().code == 4002);
    CHECK(c->reason().reason == "bye");
  }
}

TEST_CASE("an API answer that comes after the request's deadline is still written in full") {
  // The hub shares CAF's scheduler with the application's actors: with one
  // worker, an actor of the application that takes long over a message
  // makes the hub answer long after the request was read (twice the
  // handshake timeout). The answer, the receivers of a broadcast to 1000
  // long topics (about 270 KB), goes to a client with a small receive
  // window on an Ethernet-sized segment: writing it takes many rounds.
  using switchboard::testing::http_client;
  const std::string key = "test-key-0123456789abcdef";
  caf::actor_system_config cfg;
  add_error_category(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  nc.api_key = key;
  nc.handshake_timeout = 500ms;
  auto started = node::start(sys, nc);
  REQUIRE(started);
  auto n = std::move(*started);
  auto busy = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    // The work: a handler that holds the only worker for `t`.
    return {[](caf::timespan t) { std::this_thread::sleep_for(t); }};
  });
  std::string topics;
  for (int i = 0; i < 1000; ++i)
    topics += (i ? ",\"" : "\"") + std::to_string(i) + std::string(250, 't') + "\"";
  auto req = http_client::make(http::verb::post, "/api/broadcast",
                               R"({"topics":[)" + topics + R"(],"data":1})");
  req.set(http::field::authorization, "apikey " + key);
  http_client backend{n->port(), {4096, 1460}};
  caf::anon_send(busy, caf::timespan{2 * nc.handshake_timeout});
  REQUIRE(backend.send(req));
  auto res = backend.receive(10s);
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  CHECK(res->body().size() > 250000);
  CHECK(res->body().find("\"delivered\":{") != std::string::npos);
  // And the connection serves the next request.
  REQUIRE(backend.send(http_client::make(http::verb::get, "/healthz")));
  auto next = backend.receive();
  REQUIRE(next);
  CHECK(next->result_int() == 200);
  caf::anon_send_exit(busy, caf::exit_reason::kill);
}
