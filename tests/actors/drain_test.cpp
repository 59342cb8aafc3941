// A node's stop as the hub carries it out: the close code (1001, or 1012
// for a restart) and the drain period, over which the closes are spread
// (drain_schedule's arithmetic, then the hub on the virtual clock).

#include "hub/drain_schedule.hpp"

#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;

TEST_CASE("the drain schedule spreads the closes evenly over the period") {
  drain_schedule d{100, 10s};
  CHECK(d.due(0s) == 1); // the first goes at once
  CHECK(d.due(99ms) == 1);
  CHECK(d.due(100ms) == 2);
  CHECK(d.due(5s) == 51);
  CHECK(d.due(9999ms) == 100);
  CHECK(d.due(10s) == 100);
  CHECK(d.due(1h) == 100);
  CHECK(d.tick() == 100ms);
}

TEST_CASE("the drain schedule's edges: nobody, no period, huge numbers") {
  CHECK(drain_schedule{0, 10s}.due(0s) == 0);
  CHECK(drain_schedule{5, 0s}.due(0s) == 5);
  CHECK(drain_schedule{3, 3s}.due(-1s) == 0);
  // total * elapsed in nanoseconds would overflow 64 bits.
  drain_schedule big{10'000'000, 24h};
  CHECK(big.due(12h) == 5'000'001);
  CHECK(drain_schedule{1, 100ms}.tick() == 10ms); // at least 10ms
  CHECK(big.tick() == 1s);                        // at most 1s
}

namespace {

std::size_t closed_count(const std::vector<hub_fixture::client>& clients) {
  return static_cast<std::size_t>(std::count_if(clients.begin(), clients.end(),
                                                [](auto& c) { return c.transport->closed; }));
}

} // namespace

TEST_CASE("a restart with a drain period closes in batches over it, with 1012") {
  hub_fixture f;
  auto hub = caf::actor_cast<caf::actor>(f.hub);
  std::vector<hub_fixture::client> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(f.connect());
  f.request_stop({stop_mode::restart, 1s});
  CHECK(closed_count(clients) == 1);
  f.advance(240ms);
  CHECK(closed_count(clients) == 1);
  f.advance(20ms); // 260ms: the second is due at 250ms
  CHECK(closed_count(clients) == 2);
  // The ones still open are served as before.
  auto open = std::find_if(clients.begin(), clients.end(),
                           [](auto& c) { return !c.transport->closed; });
  REQUIRE(open != clients.end());
  CHECK(f.alive(hub));
  f.advance(500ms); // 760ms: all four told (the last at 750ms)
  CHECK(closed_count(clients) == 4);
  for (auto& c : clients) {
    CHECK(c.transport->closed == exit_code::shutdown);
    CHECK(c.transport->close_code == 1012);
    CHECK(c.transport->close_text == "service restart");
  }
  f.run();
  CHECK_FALSE(f.alive(hub));
}

TEST_CASE("a final stop closes everyone at once with the shutdown close (1001)") {
  hub_fixture f;
  auto a = f.connect();
  auto b = f.connect();
  f.request_stop({stop_mode::final_stop, 0s});
  for (auto* c : {&a, &b}) {
    CHECK(c->transport->closed == exit_code::shutdown);
    CHECK(c->transport->close_code == 0); // the transport's own: 1001
  }
  CHECK(close_code_of(stop_mode::final_stop) == 1001);
  CHECK(close_code_of(stop_mode::restart) == 1012);
}

TEST_CASE("a stop during a drain period closes the rest at once; a late client is sent away") {
  hub_fixture f;
  auto hub = caf::actor_cast<caf::actor>(f.hub);
  std::vector<hub_fixture::client> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(f.connect());
  f.request_stop({stop_mode::restart, 10s});
  CHECK(closed_count(clients) == 1);
  auto late = f.connect(); // an upgrade that got past before the stop
  CHECK_FALSE(late.transport->closed);
  f.request_stop(); // a second stop: no more waiting
  CHECK(closed_count(clients) == 10);
  CHECK(late.transport->closed == exit_code::shutdown);
  CHECK(late.transport->close_code == 1012); // the first stop decided the code
  CHECK_FALSE(f.alive(hub));
}
