// Stopping the Redis history store: the connections' strands and timers
// belong to a loop's io_context, so they must go before it, and the store
// actor holds them until it ends. Run under ASan in CI, where a connection
// that outlives its io_context is a use-after-free (it was, at a node's
// exit and at a test fixture's end).

#include "http_client.hpp"
#include "quiet_config.hpp"
#include "redis_store_fixture.hpp"

#include "switchboard/node.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/logger.h>

#include <utility>

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;
using switchboard::testing::http_client;
namespace http = boost::beast::http;

using switchboard::testing::quiet_config;

namespace {

const std::string api_key = "redis-stop-key-0123456789";

node_config redis_node(const redis_server& server) {
  node_config nc;
  nc.port = 0;
  nc.io_threads = 2;
  nc.api_key = api_key;
  nc.redis = server.address();
  nc.hub.topic_defaults.history_size = 10;
  nc.close_timeout = std::chrono::milliseconds{200};
  nc.logger = std::make_shared<spdlog::logger>("quiet");
  return nc;
}

} // namespace

TEST_CASE("redis store stop ends the actor and with it the actor's share of the connections",
          "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  REQUIRE(f.append("t", "a"));
  redis_store owned{std::exchange(f.shards, nullptr), std::exchange(f.store, caf::actor{})};
  // A request still in flight while it stops.
  f.self->request(owned.actor, 5s, store_append{"t", "b", {100, 1h}})
    .receive([](stream_position&) {}, [](caf::error&) {});
  CHECK(owned.stop());
  CHECK(!owned.actor);
  CHECK(owned.shards.use_count() == 1);
}

TEST_CASE("a node with --redis stops and its Redis connections go before its loops",
          "[redis]") {
  redis_server server;
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto started = node::start(sys, redis_node(server));
  REQUIRE(started);
  auto& n = *started;
  http_client api{n->port()};
  auto publish = http_client::make(http::verb::post, "/api/publish",
                                   R"({"topic":"t","data":1})");
  publish.set(http::field::authorization, "apikey " + api_key);
  REQUIRE(api.send(publish));
  auto res = api.receive(5s);
  REQUIRE(res);
  CHECK(res->result_int() == 200);
  // Numbered by Redis: the store was in use.
  CHECK(res->body().find(R"("offset":1)") != std::string::npos);
  // Another one in flight while the node stops.
  REQUIRE(api.send(publish));
  n->stop();
  n.reset();
}

TEST_CASE("a node with --redis whose start fails goes without touching its loops",
          "[redis]") {
  redis_server server;
  quiet_config cfg;
  caf::actor_system sys{cfg};
  // The listen fails after the store started: its port is taken.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken{
    ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto nc = redis_node(server);
  nc.host = "127.0.0.1";
  nc.port = taken.local_endpoint().port();
  auto started = node::start(sys, nc);
  REQUIRE(!started);
  CHECK(started.error().code() == static_cast<std::uint8_t>(caf::sec::cannot_open_port));
}
