// Who may read /metrics and /stats (http/metrics_guard.hpp): the bearer key
// and the per-address token bucket, whose table stays bounded; and the
// guard in front of a running node's routes.

#include "http_client.hpp"

#include "http/metrics_guard.hpp"

#include "switchboard/node.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace switchboard;
using namespace switchboard::net;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

address_key addr(std::uint8_t last, std::uint8_t third = 0) {
  address_key k{};
  k[13] = third;
  k[15] = last;
  return k;
}

http_request get(const char* target, const char* authorization = nullptr) {
  auto req = testing::http_client::make(http::verb::get, target);
  if (authorization != nullptr)
    req.set(http::field::authorization, authorization);
  return req;
}

std::string header(const http_response& res, http::field name) {
  auto i = res.find(name);
  return i == res.end() ? std::string{"<none>"} : std::string{i->value()};
}

} // namespace

TEST_CASE("metrics guard: without a key and a limit every request passes") {
  metrics_guard g{std::nullopt, 0, 1};
  auto now = metrics_guard::clock::now();
  for (int i = 0; i < 1000; ++i)
    REQUIRE_FALSE(g.check(get("/metrics"), addr(1), now));
  CHECK(g.tracked() == 0);
}

TEST_CASE("metrics guard: with a key, only `Bearer KEY` passes; the others get 401") {
  metrics_guard g{digest_of("m3trics"), 0, 1};
  auto now = metrics_guard::clock::now();
  CHECK_FALSE(g.check(get("/metrics", "Bearer m3trics"), addr(1), now));
  CHECK_FALSE(g.check(get("/stats", "bearer   m3trics"), addr(1), now));
  for (auto* auth : {static_cast<const char*>(nullptr), "Bearer wrong", "apikey m3trics",
                     "Bearer m3trics2", "Bearer", "m3trics"}) {
    auto res = g.check(get("/metrics", auth), addr(1), now);
    REQUIRE(res);
    CHECK(res->result() == http::status::unauthorized);
    CHECK(header(*res, http::field::www_authenticate) == R"(Bearer realm="switchboard-metrics")");
  }
  // A logged-in console page needs no key (it may call the API itself).
  CHECK_FALSE(g.check(get("/stats"), addr(1), now, true));
}

TEST_CASE("metrics guard: an address past its burst gets 429 until its bucket refills") {
  metrics_guard g{std::nullopt, 10, 3};
  auto now = metrics_guard::clock::now();
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(g.check(get("/stats"), addr(1), now));
  auto res = g.check(get("/stats"), addr(1), now);
  REQUIRE(res);
  CHECK(res->result() == http::status::too_many_requests);
  CHECK(header(*res, http::field::retry_after) == "1");
  // Another address has its own bucket.
  CHECK_FALSE(g.check(get("/stats"), addr(2), now));
  // 10 per second: one more after 100 ms, not two.
  CHECK_FALSE(g.check(get("/stats"), addr(1), now + 100ms));
  CHECK(g.check(get("/stats"), addr(1), now + 100ms));
}

TEST_CASE("metrics guard: the rate is checked before the key, so guessing is limited too") {
  metrics_guard g{digest_of("m3trics"), 1, 2};
  auto now = metrics_guard::clock::now();
  CHECK(g.check(get("/metrics", "Bearer guess1"), addr(1), now)->result_int() == 401);
  CHECK(g.check(get("/metrics", "Bearer guess2"), addr(1), now)->result_int() == 401);
  CHECK(g.check(get("/metrics", "Bearer m3trics"), addr(1), now)->result_int() == 429);
}

TEST_CASE("metrics guard: the table of addresses stays bounded") {
  metrics_guard g{std::nullopt, 1, 5, 64};
  auto now = metrics_guard::clock::now();
  // Many addresses at once, each with a bucket in use: the table never
  // holds more than its bound.
  for (int i = 0; i < 1000; ++i) {
    REQUIRE_FALSE(g.check(get("/stats"), addr(static_cast<std::uint8_t>(i),
                                                static_cast<std::uint8_t>(i >> 8)),
                          now));
    REQUIRE(g.tracked() <= 64);
  }
  // Addresses whose buckets have refilled are forgotten first: a busy one
  // keeps its state.
  metrics_guard h{std::nullopt, 1, 2, 4};
  for (int i = 0; i < 2; ++i)
    REQUIRE_FALSE(h.check(get("/stats"), addr(200), now));
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(h.check(get("/stats"), addr(static_cast<std::uint8_t>(i)), now - 10s));
  REQUIRE_FALSE(h.check(get("/stats"), addr(100), now));
  CHECK(h.tracked() == 2);
  CHECK(h.check(get("/stats"), addr(200), now)); // still empty: 429
}

TEST_CASE("metrics guard: a node with a metrics key refuses /metrics and /stats without it") {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  nc.metrics_key = "scrape-key";
  auto n = node::start(sys, nc);
  REQUIRE(n);
  auto status = [&](const char* target, const char* auth) {
    testing::http_client c{(*n)->port()};
    REQUIRE(c.send(get(target, auth)));
    auto res = c.receive();
    REQUIRE(res);
    return res->result_int();
  };
  CHECK(status("/metrics", nullptr) == 401);
  CHECK(status("/stats", "Bearer nope") == 401);
  CHECK(status("/metrics", "Bearer scrape-key") == 200);
  CHECK(status("/stats", "Bearer scrape-key") == 200);
  CHECK(status("/healthz", nullptr) == 200);
  (*n)->stop();
}
