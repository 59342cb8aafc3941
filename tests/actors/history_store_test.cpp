// The in-memory history store on its own: offsets, epochs, the size and
// TTL bounds, the byte bound's eviction, and recovery at every boundary.
// Time is a plain time_point the test moves.

#include "hub/history.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

using time_point = history_store::time_point;

struct store_fixture {
  std::set<std::string> in_use;
  memory_history store{1 << 30, [this](const std::string& t) { return in_use.count(t) > 0; }};
  history_limits lim{5, std::chrono::minutes(5)};
  time_point now{};

  stream_position put(const std::string& topic, int value) {
    return store.append(topic, std::to_string(value), lim, now);
  }
};

std::vector<std::uint64_t> offsets(const history_result& r) {
  std::vector<std::uint64_t> result;
  for (auto& m : r.messages)
    result.push_back(m.offset);
  return result;
}

using offs = std::vector<std::uint64_t>;

} // namespace

TEST_CASE_METHOD(store_fixture, "offsets start at 1 and grow by one per append") {
  auto a = put("t", 1);
  auto b = put("t", 2);
  CHECK(a.offset == 1);
  CHECK(b.offset == 2);
  CHECK(a.epoch == b.epoch);
  CHECK(a.epoch.size() == 16);
  // Each topic counts on its own, under its own epoch.
  auto other = put("u", 1);
  CHECK(other.offset == 1);
  CHECK(other.epoch != a.epoch);
  CHECK(store.top("t", lim, now).offset == 2);
  CHECK(store.totals().messages == 3);
  CHECK(store.totals().topics == 2);
}

TEST_CASE_METHOD(store_fixture, "history-size keeps the last messages") {
  for (int i = 1; i <= 8; ++i)
    put("t", i);
  auto all = store.read("t", 100, std::nullopt, lim, now);
  CHECK(offsets(all) == offs{4, 5, 6, 7, 8});
  CHECK(all.messages.front().data == "4");
  CHECK(offsets(store.read("t", 2, std::nullopt, lim, now)) == offs{7, 8});
  CHECK(store.totals().messages == 5);
}

TEST_CASE_METHOD(store_fixture, "recovery is exact at every boundary") {
  for (int i = 1; i <= 8; ++i)
    put("t", i); // kept: 4..8
  auto epoch = store.top("t", lim, now).epoch;
  auto recover = [&](std::uint64_t since, std::size_t max = 300,
                     const std::string& e = {}) {
    return store.recover("t", {since, e.empty() ? epoch : e}, max, lim, now);
  };
  SECTION("O = TOP: recovered, nothing to replay") {
    auto r = recover(8);
    CHECK(r.recovered);
    CHECK(r.messages.empty());
    CHECK(r.top.offset == 8);
  }
  SECTION("O = TOP - 1: the last message") {
    auto r = recover(7);
    CHECK(r.recovered);
    CHECK(offsets(r) == offs{8});
  }
  SECTION("O just below the oldest kept: every missed message is kept") {
    auto r = recover(3);
    CHECK(r.recovered);
    CHECK(offsets(r) == offs{4, 5, 6, 7, 8});
  }
  SECTION("O older than kept: not recovered, no partial replay") {
    auto r = recover(2);
    CHECK_FALSE(r.recovered);
    CHECK(r.messages.empty());
    CHECK(r.top.offset == 8);
    CHECK(r.top.epoch == epoch);
  }
  SECTION("wrong epoch") {
    auto r = recover(8, 300, "0000000000000000");
    CHECK_FALSE(r.recovered);
    CHECK(r.messages.empty());
  }
  SECTION("an offset the history never gave out") {
    CHECK_FALSE(recover(9).recovered);
  }
  SECTION("more than recovery-max missing") {
    CHECK(recover(5, 3).recovered);
    CHECK_FALSE(recover(4, 3).recovered);
  }
}

TEST_CASE_METHOD(store_fixture, "TTL drops old messages on the clock") {
  put("t", 1);
  now += 2min;
  put("t", 2);
  now += 3min; // message 1 is 5 min old: expired
  auto r = store.read("t", 10, std::nullopt, lim, now);
  CHECK(offsets(r) == offs{2});
  auto epoch = r.top.epoch;
  // Recovery below an expired message fails; from it succeeds.
  CHECK_FALSE(store.recover("t", {0, epoch}, 300, lim, now).recovered);
  CHECK(store.recover("t", {1, epoch}, 300, lim, now).recovered);
  // Unused, the whole history goes once its last message expired ...
  now += 2min;
  store.expire(now);
  CHECK(store.totals().topics == 0);
  CHECK(store.totals().bytes == 0);
  // ... and comes back with a new epoch, counting from 1 again.
  auto again = put("t", 3);
  CHECK(again.offset == 1);
  CHECK(again.epoch != epoch);
}

TEST_CASE_METHOD(store_fixture, "a topic in use keeps its epoch and offsets past the TTL") {
  in_use.insert("t");
  auto first = put("t", 1);
  now += 6min;
  store.expire(now);
  CHECK(store.totals().topics == 1);
  CHECK(store.totals().messages == 0);
  // Nothing was missed since offset 1: recovered; below it: not.
  CHECK(store.recover("t", first, 300, lim, now).recovered);
  CHECK_FALSE(store.recover("t", {0, first.epoch}, 300, lim, now).recovered);
  auto next = put("t", 2);
  CHECK(next.offset == 2);
  CHECK(next.epoch == first.epoch);
  // Once nobody uses it, it goes at its TTL.
  in_use.clear();
  now += 5min;
  store.expire(now);
  CHECK(store.totals().topics == 0);
}

TEST_CASE_METHOD(store_fixture, "expire looks only at records past their TTL") {
  put("old", 1);
  now += 4min;
  put("new", 1);
  now += 1min;
  store.expire(now);
  CHECK(store.totals().topics == 1);
  CHECK(store.read("new", 10, std::nullopt, lim, now).messages.size() == 1);
  CHECK(store.read("old", 10, std::nullopt, lim, now).top.epoch.empty());
}

TEST_CASE_METHOD(store_fixture, "read with since pages forward") {
  for (int i = 1; i <= 5; ++i)
    put("t", i);
  auto epoch = store.top("t", lim, now).epoch;
  CHECK(offsets(store.read("t", 2, stream_position{1, epoch}, lim, now)) == offs{2, 3});
  CHECK(offsets(store.read("t", 10, stream_position{4, epoch}, lim, now)) == offs{5});
  CHECK(store.read("t", 10, stream_position{5, epoch}, lim, now).messages.empty());
  // Another epoch: from the oldest kept.
  CHECK(offsets(store.read("t", 2, stream_position{4, "x"}, lim, now)) == offs{1, 2});
  // No history: an empty epoch, and nothing is created.
  auto none = store.read("nothing", 10, std::nullopt, lim, now);
  CHECK(none.top.epoch.empty());
  CHECK(store.totals().topics == 1);
}

TEST_CASE_METHOD(store_fixture, "remove starts a new epoch") {
  in_use.insert("t");
  auto before = put("t", 1);
  auto after = store.remove("t", lim, now);
  CHECK(after.offset == 0);
  CHECK_FALSE(after.epoch.empty());
  CHECK(after.epoch != before.epoch);
  CHECK(put("t", 2).offset == 1);
  CHECK_FALSE(store.recover("t", before, 300, lim, now).recovered);
  // Not in use: nothing is started.
  put("u", 1);
  CHECK(store.remove("u", lim, now).epoch.empty());
  CHECK(store.read("u", 10, std::nullopt, lim, now).top.epoch.empty());
}

TEST_CASE("the byte bound evicts the oldest messages of the largest history") {
  constexpr auto cost = 10 + memory_history::message_overhead; // a 10-byte message
  std::set<std::string> in_use{"big", "small"};
  memory_history store{10 * cost, [&](const std::string& t) { return in_use.count(t) > 0; }};
  history_limits lim{100, std::chrono::minutes(5)};
  time_point now{};
  auto data = std::string(10, 'x');
  for (int i = 0; i < 2; ++i)
    store.append("small", data, lim, now);
  for (int i = 0; i < 8; ++i)
    store.append("big", data, lim, now);
  CHECK(store.totals().bytes == 10 * cost);
  CHECK(store.totals().evicted == 0);
  // One more message: the largest history loses its oldest.
  auto pos = store.append("big", data, lim, now);
  CHECK(pos.offset == 9);
  CHECK(store.totals().evicted == 1);
  CHECK(store.totals().bytes == 10 * cost);
  CHECK(store.read("small", 10, std::nullopt, lim, now).messages.size() == 2);
  auto big = store.read("big", 10, std::nullopt, lim, now);
  CHECK(offsets(big) == offs{2, 3, 4, 5, 6, 7, 8, 9});
  // Recovery below the evicted position: not recovered, same epoch.
  CHECK_FALSE(store.recover("big", {0, pos.epoch}, 300, lim, now).recovered);
  CHECK(store.recover("big", {1, pos.epoch}, 300, lim, now).recovered);
}

TEST_CASE("an evicted history nobody uses is forgotten") {
  constexpr auto overhead = memory_history::message_overhead;
  memory_history store{300 + 2 * overhead - 1, [](const std::string&) { return false; }};
  history_limits lim{100, std::chrono::minutes(5)};
  time_point now{};
  auto a = store.append("a", std::string(200, 'x'), lim, now);
  store.append("b", std::string(100, 'x'), lim, now); // one byte too many: "a" goes
  CHECK(store.totals().topics == 1);
  CHECK(store.totals().messages == 1);
  CHECK(store.totals().evicted == 1);
  CHECK(store.read("a", 10, std::nullopt, lim, now).top.epoch.empty());
  CHECK(store.read("b", 10, std::nullopt, lim, now).messages.size() == 1);
  // It comes back under a new epoch: the old one cannot be recovered.
  auto r = store.recover("a", a, 300, lim, now);
  CHECK_FALSE(r.recovered);
  CHECK(r.top.epoch != a.epoch);
}

TEST_CASE("random appends, reads, removals and expiry keep the store consistent") {
  // Every bound at once (size, TTL, bytes) on many topics, in a random but
  // repeatable order: each history stays contiguous up to its top, and the
  // totals add up to what the reads see.
  std::set<std::string> in_use{"t0", "t3"};
  constexpr std::size_t max_bytes = 40 * (20 + memory_history::message_overhead);
  memory_history store{max_bytes, [&](const std::string& t) { return in_use.count(t) > 0; }};
  history_limits lim{8, std::chrono::seconds(30)};
  std::mt19937 rng{42};
  time_point now{};
  for (int step = 0; step < 20000; ++step) {
    auto topic = "t" + std::to_string(rng() % 10);
    switch (rng() % 10) {
      case 0:
        store.remove(topic, lim, now);
        break;
      case 1:
        now += std::chrono::seconds(rng() % 10);
        store.expire(now);
        break;
      default:
        store.append(topic, std::string(rng() % 40, 'x'), lim, now);
    }
    REQUIRE(store.totals().bytes <= max_bytes);
  }
  std::uint64_t messages = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = store.read("t" + std::to_string(i), 100, std::nullopt, lim, now);
    messages += r.messages.size();
    for (std::size_t k = 0; k < r.messages.size(); ++k)
      REQUIRE(r.messages[k].offset == r.top.offset - r.messages.size() + 1 + k);
  }
  CHECK(messages == store.totals().messages);
  CHECK(store.totals().evicted > 0);
}
