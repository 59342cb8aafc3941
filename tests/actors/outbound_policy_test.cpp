// The outbound policy on its own (actors/connection/outbound_policy.hpp):
// the bound in frames and bytes, the refusal that sticks, congestion, the
// drain mark, and the counts seen from a third thread while the sender and
// the socket work concurrently.

#include "connection/outbound_policy.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

using switchboard::outbound_policy;

namespace {

outbound_policy::limits bound(std::size_t frames, std::size_t bytes) {
  return {frames, bytes};
}

} // namespace

TEST_CASE("outbound policy: batches up to the frame bound are admitted, one past it is refused") {
  outbound_policy p{bound(4, 1000)};
  CHECK(p.admit(3, 30));
  CHECK(p.admit(1, 10)); // reaches the bound: still within it
  CHECK(p.queued().frames == 4);
  CHECK(p.queued().bytes == 40);
  CHECK_FALSE(p.refused());
  CHECK_FALSE(p.admit(1, 10));
  CHECK(p.refused());
  // Nothing of the refused batch was counted.
  CHECK(p.queued().frames == 4);
  CHECK(p.queued().bytes == 40);
}

TEST_CASE("outbound policy: the byte bound counts the bytes handed over") {
  outbound_policy p{bound(1000, 100)};
  CHECK(p.admit(1, 60));
  CHECK(p.admit(2, 40));
  CHECK_FALSE(p.admit(1, 1));
  CHECK(p.refused());
}

TEST_CASE("outbound policy: a refusal sticks, however much is written after it") {
  outbound_policy p{bound(2, 1000)};
  REQUIRE(p.admit(2, 20));
  REQUIRE_FALSE(p.admit(1, 10));
  p.written(2, 20);
  CHECK(p.queued().frames == 0);
  CHECK(p.queued().bytes == 0);
  CHECK_FALSE(p.admit(1, 10));
  CHECK_FALSE(p.admit(0, 0));
  CHECK(p.refused());
}

TEST_CASE("outbound policy: written frames make room again") {
  outbound_policy p{bound(4, 100)};
  REQUIRE(p.admit(4, 80));
  p.written(3, 60);
  CHECK(p.queued().frames == 1);
  CHECK(p.queued().bytes == 20);
  CHECK(p.admit(3, 80));
  CHECK_FALSE(p.refused());
  CHECK(p.queued().frames == 4);
  CHECK(p.queued().bytes == 100);
}

TEST_CASE("outbound policy: a batch bigger than the whole bound is refused, not wrapped around") {
  constexpr auto huge = std::numeric_limits<std::size_t>::max();
  SECTION("frames") {
    outbound_policy p{bound(4, 100)};
    REQUIRE(p.admit(1, 10));
    CHECK_FALSE(p.admit(huge, 10));
  }
  SECTION("bytes") {
    outbound_policy p{bound(4, 100)};
    REQUIRE(p.admit(1, 10));
    CHECK_FALSE(p.admit(1, huge));
  }
}

TEST_CASE("outbound policy: compressed frames count at the size they go out with") {
  outbound_policy p{bound(10, 100)};
  REQUIRE(p.admit(2, 100));
  CHECK(p.congested()); // all of the bytes are queued
  p.shrunk(70);
  CHECK(p.queued().frames == 2);
  CHECK(p.queued().bytes == 30);
  CHECK(p.admit(1, 70));
  p.written(3, 100);
  CHECK(p.queued().frames == 0);
  CHECK(p.queued().bytes == 0);
}

TEST_CASE("outbound policy: congested once more than half of either bound is queued") {
  SECTION("frames") {
    outbound_policy p{bound(8, 1000)};
    REQUIRE(p.admit(4, 4));
    CHECK_FALSE(p.congested()); // exactly half
    REQUIRE(p.admit(1, 1));
    CHECK(p.congested());
    p.written(1, 1);
    CHECK_FALSE(p.congested());
  }
  SECTION("bytes") {
    outbound_policy p{bound(1000, 100)};
    REQUIRE(p.admit(1, 50));
    CHECK_FALSE(p.congested());
    REQUIRE(p.admit(1, 1));
    CHECK(p.congested());
  }
  SECTION("a refused policy is not congested by what it refused") {
    outbound_policy p{bound(8, 1000)};
    REQUIRE_FALSE(p.admit(9, 9));
    CHECK_FALSE(p.congested());
    CHECK(p.refused());
  }
}

TEST_CASE("outbound policy: the drain mark waits for what was admitted before it only") {
  outbound_policy p{bound(100, 10000)};
  CHECK(p.drained(p.mark())); // nothing admitted: drained at once
  REQUIRE(p.admit(3, 30));
  auto mark = p.mark();
  CHECK(mark == 3);
  CHECK_FALSE(p.drained(mark));
  REQUIRE(p.admit(5, 50)); // after the mark
  p.written(2, 20);
  CHECK_FALSE(p.drained(mark));
  p.written(1, 10);
  CHECK(p.drained(mark));
  CHECK_FALSE(p.drained(p.mark()));
}

TEST_CASE("outbound policy: a sender and a socket on two threads, watched from a third") {
  // The sender admits batches and hands them over (a queue stands in for
  // the outbox), the socket writes them, and a watcher reads the counts
  // meanwhile: it must never see more than the bound queued (nor a count
  // that wrapped around below zero), and at the end nothing is left.
  constexpr std::size_t max_frames = 64;
  constexpr std::size_t max_bytes = 4096;
  constexpr std::size_t batches = 100'000;
  outbound_policy p{bound(max_frames, max_bytes)};
  std::mutex m;
  std::deque<std::pair<std::size_t, std::size_t>> outbox;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> bad{0};
  std::size_t admitted = 0;
  auto batch_of = [](std::size_t i) {
    auto frames = 1 + i % 7;
    return std::pair<std::size_t, std::size_t>{frames, frames * (1 + i % 61)};
  };
  std::thread sender([&] {
    for (std::size_t i = 0; i < batches; ++i) {
      auto [frames, bytes] = batch_of(i);
      // Wait for room first (as the hub holds back a congested socket).
      for (auto q = p.queued(); q.frames + frames > max_frames || q.bytes + bytes > max_bytes;
           q = p.queued())
        std::this_thread::yield();
      if (!p.admit(frames, bytes))
        break; // (there was room: a refusal here is the failure checked below)
      ++admitted;
      std::lock_guard<std::mutex> guard{m};
      outbox.emplace_back(frames, bytes);
    }
    done = true;
  });
  std::thread socket([&] {
    for (;;) {
      auto finished = done.load(); // before looking: nothing comes after it
      std::pair<std::size_t, std::size_t> batch{0, 0};
      {
        std::lock_guard<std::mutex> guard{m};
        if (!outbox.empty()) {
          batch = outbox.front();
          outbox.pop_front();
        }
      }
      if (batch.first != 0)
        p.written(batch.first, batch.second);
      else if (finished)
        break;
      else
        std::this_thread::yield();
    }
  });
  std::thread watcher([&] {
    while (!done) {
      auto q = p.queued();
      if (q.frames > max_frames || q.bytes > max_bytes)
        ++bad;
    }
  });
  sender.join();
  socket.join();
  watcher.join();
  CHECK(bad == 0);
  CHECK(admitted == batches);
  CHECK(p.queued().frames == 0);
  CHECK(p.queued().bytes == 0);
  CHECK(p.drained(p.mark()));
  CHECK_FALSE(p.refused());
}
