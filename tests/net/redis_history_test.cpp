// The Redis history store's semantics against a real redis-server: the
// same as the in-memory store's (actors/hub/history.hpp), numbered by Redis.

#include "redis_store_fixture.hpp"

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;

TEST_CASE("redis store numbers a topic's messages from 1 in one epoch", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  auto a1 = f.append("news", "1");
  REQUIRE(a1);
  CHECK(a1->offset == 1);
  CHECK(a1->epoch.size() == 16);
  auto a2 = f.append("news", "2");
  REQUIRE(a2);
  CHECK(a2->offset == 2);
  CHECK(a2->epoch == a1->epoch);
  auto top = f.ask<stream_position>(store_top{"news", {100, 1h}});
  REQUIRE(top);
  CHECK(top->offset == 2);
  CHECK(top->epoch == a1->epoch);
  // Another topic: its own sequence and epoch; top creates an empty one.
  auto other = f.ask<stream_position>(store_top{"other", {100, 1h}});
  REQUIRE(other);
  CHECK(other->offset == 0);
  CHECK(other->epoch != a1->epoch);
  CHECK(f.append("other", "x")->offset == 1);
}

TEST_CASE("redis store recovers all or none", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  history_limits lim{3, std::chrono::hours{1}};
  std::string epoch;
  for (int i = 1; i <= 5; ++i)
    epoch = f.append("t", "m" + std::to_string(i), lim)->epoch;
  // Kept: 3, 4, 5.
  auto r = f.recover("t", {2, epoch}, 1000, lim);
  REQUIRE(r);
  CHECK(r->recovered);
  CHECK(offsets_of(*r) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(r->messages[0].data == "m3");
  CHECK(r->top.offset == 5);
  // Message 2 is gone: none.
  r = f.recover("t", {1, epoch}, 1000, lim);
  REQUIRE(r);
  CHECK_FALSE(r->recovered);
  CHECK(r->messages.empty());
  CHECK(r->top.offset == 5);
  // Up to date: recovered, nothing to replay.
  r = f.recover("t", {5, epoch}, 1000, lim);
  CHECK((r && r->recovered && r->messages.empty()));
  // More missed than `max`, another epoch, a future offset: none.
  CHECK_FALSE(f.recover("t", {2, epoch}, 2, lim)->recovered);
  CHECK_FALSE(f.recover("t", {4, "0123456789abcdef"}, 1000, lim)->recovered);
  CHECK_FALSE(f.recover("t", {9, epoch}, 1000, lim)->recovered);
}

TEST_CASE("redis store reads the last messages or those after a position", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  history_limits lim{10, std::chrono::hours{1}};
  // No history: an empty epoch, and nothing created.
  auto none = f.ask<history_result>(store_read{"t", 10, caf::none, lim});
  REQUIRE(none);
  CHECK(none->top.epoch.empty());
  CHECK(none->top.offset == 0);
  std::string epoch;
  for (int i = 1; i <= 5; ++i)
    epoch = f.append("t", "m" + std::to_string(i), lim)->epoch;
  auto last = f.ask<history_result>(store_read{"t", 2, caf::none, lim});
  REQUIRE(last);
  CHECK(offsets_of(*last) == std::vector<std::uint64_t>{4, 5});
  CHECK(last->top.offset == 5);
  CHECK_FALSE(last->recovered);
  auto after = f.ask<history_result>(store_read{"t", 2, stream_position{1, epoch}, lim});
  REQUIRE(after);
  CHECK(offsets_of(*after) == std::vector<std::uint64_t>{2, 3});
  // A position of another epoch reads from the oldest kept.
  auto old = f.ask<history_result>(store_read{"t", 10, stream_position{4, "other"}, lim});
  REQUIRE(old);
  CHECK(offsets_of(*old) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  auto zero = f.ask<history_result>(store_read{"t", 0, caf::none, lim});
  CHECK((zero && zero->messages.empty() && zero->top.offset == 5));
}

TEST_CASE("redis store remove starts a new epoch", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  auto first = f.append("t", "a");
  f.append("t", "b");
  auto removed = f.ask<stream_position>(store_remove{"t", {100, 1h}});
  REQUIRE(removed);
  CHECK(removed->offset == 0);
  CHECK(removed->epoch != first->epoch);
  auto next = f.append("t", "c");
  CHECK(next->offset == 1);
  CHECK(next->epoch == removed->epoch);
  CHECK_FALSE(f.recover("t", {2, first->epoch})->recovered);
}

TEST_CASE("redis store never replays a message older than the TTL", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  history_limits lim{100, std::chrono::milliseconds{300}};
  auto p = f.append("t", "old", lim);
  REQUIRE(p);
  // Await the expiry (bounded): a read trims what outlived the TTL.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!f.ask<history_result>(store_read{"t", 10, caf::none, lim})->messages.empty()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
  // The epoch and the offsets go on (the meta key outlives the stream):
  // up to date recovers, a position before the expired message does not.
  CHECK(f.recover("t", {1, p->epoch}, 1000, lim)->recovered);
  CHECK_FALSE(f.recover("t", {0, p->epoch}, 1000, lim)->recovered);
  auto next = f.append("t", "new", lim);
  CHECK(next->offset == 2);
  CHECK(next->epoch == p->epoch);
}

TEST_CASE("redis store after Redis lost its data: new epoch, recovered false", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  f.append("t", "a");
  auto p = f.append("t", "b");
  REQUIRE(p);
  server.stop();
  server.start(); // no persistence: empty
  REQUIRE(f.connected());
  auto r = f.recover("t", *p);
  // The first request may still meet the old connection's end.
  if (!r)
    r = f.recover("t", *p);
  REQUIRE(r);
  CHECK_FALSE(r->recovered);
  CHECK(r->top.epoch != p->epoch);
  CHECK(r->top.offset == 0);
  auto next = f.append("t", "c");
  CHECK(next->offset == 1);
  CHECK(next->epoch == r->top.epoch);
}

TEST_CASE("redis store reloads its scripts after SCRIPT FLUSH", "[redis]") {
  redis_server server;
  redis_store_fixture f;
  f.open({&server});
  CHECK(f.append("t", "a")->offset == 1);
  REQUIRE(server.cli("SCRIPT FLUSH") == 0);
  auto p = f.append("t", "b");
  REQUIRE(p);
  CHECK(p->offset == 2);
}

TEST_CASE("redis shard of a topic is FNV-1a 64 of its name modulo the servers", "[redis]") {
  // FNV-1a 64 of "" and "a" (the published test vectors).
  CHECK(redis_shard_of("", 1'000'003) == 0xcbf29ce484222325ull % 1'000'003);
  CHECK(redis_shard_of("a", 1'000'003) == 0xaf63dc4c8601ec8cull % 1'000'003);
  CHECK(redis_shard_of("anything", 1) == 0);
}
