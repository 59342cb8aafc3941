// The Redis history store when Redis fails: answers hub_errc::unavailable
// (at once while disconnected, within the timeout while Redis hangs),
// reconnects when Redis returns, shards fail alone.

#include "redis_store_fixture.hpp"

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;

namespace {

using clock_type = std::chrono::steady_clock;

bool unavailable(const caf::expected<stream_position>& p) {
  return !p && p.error() == make_error(hub_errc::unavailable);
}

// A topic whose shard among `n` is `shard`.
std::string topic_on(std::size_t shard, std::size_t n) {
  for (int i = 0;; ++i)
    if (auto t = "topic" + std::to_string(i); redis_shard_of(t, n) == shard)
      return t;
}

} // namespace

TEST_CASE("redis store answers unavailable while Redis is down, and recovers", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.settings.timeout = 500ms;
  f.open({&server});
  auto p = f.append("t", "a");
  REQUIRE(p);
  server.stop();
  auto began = clock_type::now();
  // The first request may be the one that finds the connection gone.
  auto a = f.append("t", "b");
  CHECK(unavailable(a));
  CHECK(unavailable(f.append("t", "c")));
  CHECK(clock_type::now() - began < 500ms + 1s);
  CHECK_FALSE(f.ask<history_result>(store_recover{"t", *p, 10, {100, 1h}}));
  server.start();
  REQUIRE(f.connected());
  CHECK(f.shards->metrics(0).reconnects.read() >= 1);
  auto back = f.append("t", "d");
  REQUIRE(back);
  CHECK(back->offset == 1); // Redis came back empty: a new epoch
  CHECK(back->epoch != p->epoch);
}

TEST_CASE("redis store answers unavailable within the timeout when Redis hangs", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.settings.timeout = 300ms;
  f.open({&server});
  REQUIRE(f.append("t", "a"));
  server.pause();
  auto began = clock_type::now();
  CHECK(unavailable(f.append("t", "b")));
  auto took = clock_type::now() - began;
  CHECK(took >= 300ms);
  CHECK(took < 300ms + 1s);
  CHECK(f.shards->metrics(0).timeouts.read() == 1);
  server.resume();
  REQUIRE(f.connected());
  // The command that timed out may have run after all (Redis got it): the
  // store said unavailable, the offsets still go on in one sequence.
  auto p = f.append("t", "c");
  REQUIRE(p);
  CHECK(p->offset >= 2);
}

TEST_CASE("redis store refuses past max_pending requests waiting on a shard", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.settings.timeout = 2s;
  f.settings.max_pending = 2;
  f.open({&server});
  REQUIRE(f.append("t", "a"));
  server.pause();
  // Two wait for Redis; the third is refused at once.
  auto r1 = f.self->request(f.store, 5s, store_append{"t", "b", {100, 1h}});
  auto r2 = f.self->request(f.store, 5s, store_append{"t", "c", {100, 1h}});
  auto began = clock_type::now();
  CHECK(unavailable(f.append("t", "d")));
  CHECK(clock_type::now() - began < 1s);
  server.resume();
  int answered = 0;
  for (auto* r : {&r1, &r2})
    r->receive([&](stream_position&) { ++answered; }, [&](caf::error&) { ++answered; });
  CHECK(answered == 2);
}

TEST_CASE("redis store authenticates with the password", "[redis]") {
  redis_server server{{"--requirepass", "s3cret"}};
  SECTION("right") {
    redis_store_fixture f;
    f.settings.password = "s3cret";
    f.open({&server});
    auto p = f.append("t", "a");
    REQUIRE(p);
    CHECK(p->offset == 1);
  }
  SECTION("wrong") {
    redis_store_fixture f;
    f.settings.password = "wrong";
    f.open({&server});
    CHECK(unavailable(f.append("t", "a")));
  }
}

TEST_CASE("redis store shards topics; a shard that is down fails alone", "[redis]") {
  redis_server s0;
  redis_server s1;
  redis_store_fixture f;
  f.settings.timeout = 500ms;
  f.open({&s0, &s1});
  auto t0 = topic_on(0, 2);
  auto t1 = topic_on(1, 2);
  REQUIRE(f.append(t0, "a"));
  REQUIRE(f.append(t1, "a"));
  // Each topic's keys are on its own shard only.
  CHECK(s0.cli("--no-raw EXISTS switchboard:meta:" + t0 + " | grep -q 1") == 0);
  CHECK(s1.cli("--no-raw EXISTS switchboard:meta:" + t0 + " | grep -q 0") == 0);
  s1.stop();
  f.append(t1, "b"); // may be the one that finds the connection gone
  CHECK(unavailable(f.append(t1, "c")));
  auto p = f.append(t0, "b");
  REQUIRE(p);
  CHECK(p->offset == 2);
}
