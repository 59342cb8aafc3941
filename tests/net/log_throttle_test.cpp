// The bound on log lines an attacker controls: so many a second, the rest
// counted and reported with the next line that goes out. Time is given.

#include "observe/log_throttle.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

using namespace std::chrono_literals;
using switchboard::net::log_throttle;

TEST_CASE("log_throttle: at most N lines a second, then the count of the rest") {
  log_throttle t{3};
  log_throttle::clock::time_point start{100s};
  std::uint64_t held = 99;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(t.allow(start + i * 100ms, held));
    CHECK(held == 0);
  }
  // The fourth and later lines of this second are held back.
  for (int i = 0; i < 5; ++i)
    CHECK_FALSE(t.allow(start + 500ms, held));
  // The next second: the first line goes out and tells how many were held.
  REQUIRE(t.allow(start + 1s, held));
  CHECK(held == 5);
  REQUIRE(t.allow(start + 1s + 1ms, held));
  CHECK(held == 0);
}

TEST_CASE("log_throttle: a quiet spell resets the window") {
  log_throttle t{1};
  log_throttle::clock::time_point start{7s};
  std::uint64_t held = 0;
  REQUIRE(t.allow(start, held));
  CHECK_FALSE(t.allow(start + 10ms, held));
  REQUIRE(t.allow(start + 1h, held));
  CHECK(held == 1);
}
