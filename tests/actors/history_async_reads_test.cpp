// The hub with a shared, asynchronous history store (hub_settings::
// history_store; hub_history_reads.cpp): subscribe and recovery with live
// messages during the store's round trip, history, errors, connections that
// leave, /stats. The store is a fake (store_fixture.hpp).

#include "store_fixture.hpp"

#include <catch2/catch.hpp>

using namespace store_test;

TEST_CASE("a recovery with live messages during the store's round trip: every offset once, in order") {
  // Requests in two orders (the recovery before or after the append of 4
  // reached the store), and the store's three replies in every order.
  for (auto recover_first : {true, false}) {
    std::vector<std::string> replies{"append 4", "append 5", "recover"};
    std::sort(replies.begin(), replies.end());
    do {
      INFO("recover first " << recover_first << ", replies " << replies[0] << ", "
                            << replies[1] << ", " << replies[2]);
      store_fixture f;
      auto pub = f.fresh();
      auto other = f.fresh();
      f.send(other, subscribe_x);
      for (int i = 1; i <= 3; ++i)
        f.publish(pub, i);
      other.transport->take();
      auto epoch = f.store_state().mem.top("chat:x", chat_limits, {}).epoch;
      auto r = f.fresh();
      f.hold(true);
      if (recover_first)
        f.send(r, since(1, epoch));
      f.publish(pub, 4);
      if (!recover_first)
        f.send(r, since(1, epoch));
      f.publish(pub, 5);
      for (auto& what : replies)
        f.release(what);
      auto got = look(r.transport->take());
      CHECK(got.recovered);
      CHECK(got.offsets == std::vector<std::uint64_t>{2, 3, 4, 5});
      CHECK(offsets(other.transport->take()) == std::vector<std::uint64_t>{4, 5});
    } while (std::next_permutation(replies.begin(), replies.end()));
  }
}

TEST_CASE_METHOD(store_fixture, "store errors on subscribe and history: unavailable, nothing changes") {
  auto c = fresh();
  auto pub = fresh();
  hold(true);
  send(c, R"({"type":"subscribe","topic":"chat:x","id":1})");
  send(c, R"({"type":"history","topic":"chat:x","id":2})"); // waits behind the subscribe
  release("top", false);
  release("read", false);
  CHECK(c.transport->take()
        == std::vector<std::string>{
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":1})",
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":2})"});
  hold(false);
  publish(pub, 1);
  CHECK(c.transport->take().empty()); // not subscribed
  auto page = request<history_page>(query_history{"chat:x", 10, caf::none});
  REQUIRE(page);
  CHECK(page->offset == 1);
  hold(true);
  auto removed = ask<stream_position>(hub, remove_history{"chat:x"});
  run();
  release("remove", false);
  CHECK(removed.get().error() == make_error(hub_errc::unavailable));
}

TEST_CASE_METHOD(store_fixture, "a connection that leaves while the store answers leaves nothing behind") {
  auto pub = fresh();
  publish(pub, 1);
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  auto r = fresh();
  auto h = fresh();
  hold(true);
  send(r, since(0, epoch));
  send(h, R"({"type":"history","topic":"chat:x"})");
  publish(pub, 2);
  disconnect(r);
  disconnect(h);
  disconnect(pub);
  release("recover");
  release("read");
  release("append 2");
  CHECK_FALSE(remembers(r));
  CHECK_FALSE(remembers(h));
  CHECK_FALSE(remembers(pub));
  auto& a = *testing::hub_state_of(*this).async;
  CHECK(a.in_flight == 0);
  advance(limits.history_gap_timeout);
  CHECK(a.topics.empty()); // the topic is gone, and its sequence with it
}

TEST_CASE_METHOD(store_fixture, "live messages past the budget while a recovery waits: recovered false, live from there") {
  auto& hs = testing::hub_state_of(*this).settings;
  auto pub = fresh();
  publish(pub, 1);
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  auto other = fresh();
  send(other, subscribe_x); // the topic is in use: its sequence hands out
  other.transport->take();
  hs.replay_max_bytes = 150; // two message frames
  auto r = fresh();
  hold(true);
  send(r, since(1, epoch));
  for (int i = 2; i <= 5; ++i) {
    publish(pub, i);
    release("append " + std::to_string(i));
  }
  release("recover");
  auto frames = r.transport->take();
  REQUIRE(frames.size() == 1);
  auto reply = json::parse(frames.front()).as_object();
  CHECK(reply.at("recovered") == false);
  CHECK(reply.at("offset") == 5); // the last one dropped: live from there
  hold(false);
  publish(pub, 6);
  CHECK(offsets(r.transport->take()) == std::vector<std::uint64_t>{6});
}

TEST_CASE_METHOD(store_fixture, "stats show the store's totals as last reported") {
  auto pub = fresh();
  publish(pub, 1);
  publish(pub, 2);
  stats(); // asks the store
  CHECK(stats().history_messages == 2);
}

TEST_CASE_METHOD(store_fixture, "a recovery where nobody else has the topic: reply and replay before live messages") {
  // Numbered elsewhere: this node has no sequence for the topic yet (it just
  // restarted, say). It cannot hand out what is forwarded during the store's
  // round trip before the store says where the topic stands; once it does,
  // those messages must reach the client behind its reply and replay, not in
  // front (a client drops messages of a subscription it has no reply for).
  // Found by test_redis_failover.py and clients/js/test/node/rolling.test.js.
  auto& mem = store_state().mem;
  for (int i = 1; i <= 5; ++i)
    mem.append("chat:x", std::to_string(i), chat_limits, {});
  auto epoch = mem.top("chat:x", chat_limits, {}).epoch;
  auto r = fresh();
  hold(true);
  send(r, since(1, epoch)); // the store's answer: up to 5
  // Forwarded by the publishing node while the answer is on its way.
  for (std::uint64_t offset : {6, 7}) {
    mem.append("chat:x", std::to_string(offset), chat_limits, {});
    remote(offset, epoch);
  }
  release("recover");
  auto frames = r.transport->take();
  REQUIRE(!frames.empty());
  CHECK(json::parse(frames.front()).as_object().at("type") == "subscribed");
  auto got = look(frames);
  CHECK(got.recovered);
  CHECK(got.offsets == std::vector<std::uint64_t>{2, 3, 4, 5, 6, 7});
}
