// Stopping a real node on loopback: while an upgrade waits for its
// authenticator, an API call and a cluster query are in flight (run under
// ASan in CI: nothing may touch an I/O loop the stop has torn down); an
// upgrade on a keep-alive connection after the stop began; and how long a
// stop takes with a client that never answers the close.

#include "http_client.hpp"
#include "quiet_config.hpp"

#include "switchboard/node.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/io/middleman.hpp>
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/logger.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using switchboard::testing::http_client;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using steady = std::chrono::steady_clock;

using switchboard::testing::quiet_config;

namespace {

const std::string api_key = "stop-test-key-0123456789";

/// Keeps every upgrade request unanswered until it exits (a late
/// authenticator); `asked` is set when the first one arrives.
authenticator_actor::behavior_type
stalling_authenticator(authenticator_actor::pointer self,
                       std::shared_ptr<std::promise<void>> asked) {
  auto held = std::make_shared<std::vector<caf::typed_response_promise<upgrade_verdict>>>();
  return {[self, asked, held](const upgrade_request&) {
    held->push_back(self->make_response_promise<upgrade_verdict>());
    if (held->size() == 1)
      asked->set_value();
    return held->back();
  }};
}

std::unique_ptr<node> start(caf::actor_system& sys, const node_config& nc) {
  auto started = node::start(sys, nc);
  REQUIRE(started);
  return std::move(*started);
}

struct clustered_config : caf::actor_system_config {
  clustered_config() {
    load<caf::io::middleman>();
    switchboard::add_message_types(*this);
    switchboard::add_error_category(*this);
    set("logger.verbosity", caf::atom("quiet"));
  }
};

std::string upgrade_request_text(const std::string& target) {
  return "GET " + target
         + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

/// One round: a clustered node with a stalling authenticator and the API;
/// an upgrade waits for the authenticator, then an API call and a cluster
/// query go out, and the node stops. Returns how long stop() took.
steady::duration stop_with_requests_in_flight() {
  clustered_config cfg;
  caf::actor_system sys{cfg};
  auto asked = std::make_shared<std::promise<void>>();
  auto auth = sys.spawn(stalling_authenticator, asked);
  // Whichever way the round ends, the authenticator goes (the actor system
  // waits for it), and the node first.
  struct ending {
    authenticator_actor auth;
    std::unique_ptr<node> n;
    ~ending() {
      n.reset();
      caf::anon_send_exit(auth, caf::exit_reason::kill);
    }
  } end{auth, nullptr};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 2;
  nc.connection.shutdown_timeout = 1s;
  nc.close_timeout = 200ms;
  nc.authenticator = auth;
  // Longer than any stop takes: only the stop ends the wait.
  nc.authenticate_timeout = 3s;
  nc.api_key = api_key;
  nc.cluster = cluster_settings{};
  // Each round's refused upgrade would be a warning line.
  nc.logger = std::make_shared<spdlog::logger>("quiet");
  auto& n = end.n = start(sys, nc);

  http_client upgrading{n->port()};
  REQUIRE(upgrading.send_raw(upgrade_request_text("/ws?token=t")));
  REQUIRE(asked->get_future().wait_for(5s) == std::future_status::ready);
  http_client api{n->port()};
  auto publish = http_client::make(http::verb::post, "/api/publish",
                                   R"({"topic":"t","data":1})");
  publish.set(http::field::authorization, "apikey " + api_key);
  REQUIRE(api.send(publish));
  http_client cluster{n->port()};
  REQUIRE(cluster.send(http_client::make(http::verb::get, "/stats?scope=cluster")));

  auto before = steady::now();
  n->stop();
  auto took = steady::now() - before;
  // The upgrade was still waiting: the stop refuses it, saying why.
  auto res = upgrading.receive(1s);
  REQUIRE(res);
  CHECK(res->result_int() == 503);
  CHECK(res->body() == "server shutting down\n");
  CHECK(res->count(http::field::retry_after) == 1);
  // The other two got an answer or were closed; either way nothing is left.
  CHECK(api.closed_by_peer(1s));
  CHECK(cluster.closed_by_peer(1s));
  return took;
}

} // namespace

TEST_CASE("a node stops cleanly while an upgrade, an API call and a cluster query are "
          "in flight") {
  // Each round takes well under a second; the loop is bounded in rounds and time.
  auto deadline = steady::now() + 60s;
  for (int round = 0; round < 20 && steady::now() < deadline; ++round) {
    INFO("round " << round);
    auto took = stop_with_requests_in_flight();
    // Nothing is queued and no client holds a close: the stop need not
    // wait out shutdown-timeout or the authenticator.
    CHECK(took < 1s);
  }
}

TEST_CASE("an upgrade on a keep-alive connection after the stop began gets 503") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  auto n = start(sys, nc);
  http_client keep_alive{n->port()};
  REQUIRE(keep_alive.send(http_client::make(http::verb::get, "/healthz")));
  auto healthy = keep_alive.receive();
  REQUIRE(healthy);
  REQUIRE(healthy->result_int() == 200);
  REQUIRE(healthy->keep_alive());
  n->request_stop();
  REQUIRE_FALSE(n->wait());
  REQUIRE(keep_alive.send_raw(upgrade_request_text("/ws")));
  auto res = keep_alive.receive();
  REQUIRE(res);
  CHECK(res->result_int() == 503);
  CHECK(res->body() == "server shutting down\n");
  CHECK(res->at(http::field::retry_after) == "5");
  CHECK_FALSE(res->keep_alive());
  CHECK(keep_alive.closed_by_peer());
  n->stop();
}

TEST_CASE("a stop with a client that never answers the close returns within "
          "shutdown-timeout + close-timeout + 5 s") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 2;
  nc.connection.shutdown_timeout = 1s;
  nc.close_timeout = 1s;
  auto n = start(sys, nc);
  // A subscriber with a tiny receive window that stops reading: what the
  // node queues for it never drains (an Ethernet-sized segment keeps the
  // node's socket buffer as small as on a real network), so its writer waits
  // out shutdown-timeout, and it never answers the close.
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  auto& sock = beast::get_lowest_layer(ws).socket();
  sock.open(asio::ip::tcp::v4());
  sock.set_option(asio::socket_base::receive_buffer_size(4096));
  sock.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_MAXSEG>(1460));
  sock.connect({asio::ip::make_address("127.0.0.1"), n->port()});
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buf;
  ws.read(buf); // the welcome
  ws.write(asio::buffer(std::string{R"({"type":"subscribe","topic":"t","id":1})"}));
  buf.clear();
  ws.read(buf);
  REQUIRE(beast::buffers_to_string(buf.data()).find("subscribed") != std::string::npos);
  caf::scoped_actor self{sys};
  auto data = "\"" + std::string(8000, 'x') + "\"";
  for (int i = 0; i < 64; ++i)
    self->request(n->hub(), 5s, publication{"t", data})
      .receive([](std::uint64_t receivers) { REQUIRE(receivers == 1); },
               [](const caf::error& err) { FAIL(caf::to_string(err)); });

  auto before = steady::now();
  n->stop();
  auto took = steady::now() - before;
  // The worst case: the flush took all of shutdown-timeout...
  CHECK(took >= nc.connection.shutdown_timeout);
  // ... and yet the stop kept its bound.
  CHECK(took < nc.connection.shutdown_timeout + nc.close_timeout + 5s);
  // The node let go of it: its socket reports the end once drained.
  beast::error_code ec;
  std::vector<char> sink(1 << 16);
  std::function<void()> drain = [&] {
    sock.async_read_some(asio::buffer(sink), [&](beast::error_code e, std::size_t) {
      if (e)
        ec = e;
      else
        drain();
    });
  };
  drain();
  ioc.restart();
  ioc.run_for(5s);
  CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
}
