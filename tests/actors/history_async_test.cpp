// The hub with a shared, asynchronous history store (hub_settings::
// history_store; hub_history_async.cpp): publishes handed out in the store's
// order, from this node and from others, gaps, epochs, errors and bounds.
// The store is a fake (store_fixture.hpp).

#include "store_fixture.hpp"

#include <catch2/catch.hpp>

using namespace store_test;

TEST_CASE_METHOD(store_fixture, "appends answered out of order are delivered in offset order") {
  auto sub = fresh();
  auto pub = fresh();
  send(sub, subscribe_x);
  CHECK(sub.transport->take().size() == 1);
  hold(true);
  auto credits = pub.transport->consumed_count;
  publish(pub, 1, "1");
  publish(pub, 2, "2");
  publish(pub, 3, "3");
  REQUIRE(held() == 3);
  CHECK(pub.transport->consumed_count == credits); // read credit once stored
  CHECK(sub.transport->take().empty());
  CHECK(pub.transport->take().empty()); // no ack before it is stored
  release("append 3");
  CHECK(sub.transport->take().empty()); // 1 and 2 are not there yet
  release("append 1");
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1});
  release("append 2");
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{2, 3});
  CHECK(pub.transport->take().size() == 3); // the three acks
  CHECK(pub.transport->consumed_count == credits + 3);
  // Forwarded to the cluster with the store's positions.
  std::vector<std::uint64_t> sent;
  for (auto& item : forwarded)
    if (item.kind == cluster_item::numbered_publish)
      sent.push_back(item.to);
  CHECK(sent == std::vector<std::uint64_t>{3, 1, 2});
}

TEST_CASE_METHOD(store_fixture, "a store error gives the publisher unavailable, nothing is delivered") {
  auto sub = fresh();
  auto pub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  hold(true);
  publish(pub, 1, "\"a\"");
  release("append 1", false);
  CHECK(pub.transport->take()
        == std::vector<std::string>{
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":"a"})"});
  CHECK(sub.transport->take().empty());
  // The API: 503's error.
  auto r = ask<std::uint64_t>(hub, publication{"chat:x", "1"});
  run();
  release("append 2", false);
  CHECK(r.get().error() == make_error(hub_errc::unavailable));
}

TEST_CASE("publishes of two nodes arrive in any order and go out in the store's order") {
  // Offsets 1 and 3 are this node's publishes (their appends answered in
  // the order under test), 2 and 4 another node's (forwarded with their
  // positions, after that node appended them to the same store).
  std::vector<std::string> events{"append 1", "remote 2", "append 3", "remote 4"};
  std::sort(events.begin(), events.end());
  std::size_t orders = 0;
  do {
    INFO("order " << events[0] << ", " << events[1] << ", " << events[2] << ", " << events[3]);
    store_fixture f;
    auto sub = f.fresh();
    auto pub = f.fresh();
    f.send(sub, subscribe_x);
    sub.transport->take();
    f.hold(true);
    f.publish(pub, 1);
    f.store_state().mem.append("chat:x", "200", chat_limits, {});
    f.publish(pub, 3);
    f.store_state().mem.append("chat:x", "400", chat_limits, {});
    auto epoch = f.store_state().mem.top("chat:x", chat_limits, {}).epoch;
    for (auto& e : events)
      if (e.rfind("remote", 0) == 0)
        f.remote(std::stoull(e.substr(7)), epoch);
      else
        f.release(e);
    CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1, 2, 3, 4});
    ++orders;
  } while (std::next_permutation(events.begin(), events.end()));
  CHECK(orders == 24);
}

TEST_CASE_METHOD(store_fixture, "a gap is filled from the store after its timeout") {
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  publish(pub, 1);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1});
  // Another node appended 2 and 3 and died before forwarding 2.
  store_state().mem.append("chat:x", "200", chat_limits, {});
  store_state().mem.append("chat:x", "300", chat_limits, {});
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  remote(3, epoch);
  CHECK(sub.transport->take().empty());
  advance(limits.history_gap_timeout / 2);
  CHECK(sub.transport->take().empty());
  advance(limits.history_gap_timeout);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE_METHOD(store_fixture, "a gap the store cannot fill is skipped") {
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  publish(pub, 1);
  sub.transport->take();
  store_state().mem.append("chat:x", "200", chat_limits, {});
  store_state().mem.append("chat:x", "300", chat_limits, {});
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  remote(3, epoch);
  hold(true);
  advance(limits.history_gap_timeout * 2);
  release("read", false);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{3});
  remote(2, epoch); // too late: never after 3
  CHECK(sub.transport->take().empty());
}

TEST_CASE_METHOD(store_fixture, "a new epoch hands out what was held of the old one and starts over") {
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  publish(pub, 1);
  sub.transport->take();
  auto old_epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  remote(3, old_epoch); // 2 is on its way
  CHECK(sub.transport->take().empty());
  remote(1, "a-new-epoch"); // the store lost the topic: 2 will never come
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{3, 1});
  remote(2, old_epoch); // of the epoch before: too late
  remote(2, "a-new-epoch");
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{2});
}

TEST_CASE_METHOD(store_fixture, "a store that does not answer: timeouts and a bound on what is in flight") {
  auto& hs = testing::hub_state_of(*this).settings;
  hs.history_store_max_in_flight = 2;
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  hold(true);
  publish(pub, 1, "1");
  publish(pub, 2, "2");
  publish(pub, 3, "3"); // past the bound: refused at once, not sent to the store
  CHECK(held() == 2);
  auto refused = R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":)";
  CHECK(pub.transport->take() == std::vector<std::string>{refused + std::string("3}")});
  advance(hs.history_store_timeout);
  CHECK(pub.transport->take()
        == std::vector<std::string>{refused + std::string("1}"), refused + std::string("2}")});
  CHECK(testing::hub_state_of(*this).async->in_flight == 0);
  CHECK(sub.transport->take().empty());
  release("append 1"); // too late: dropped by the hub
  release("append 2");
  CHECK(sub.transport->take().empty());
  CHECK(alive(caf::actor_cast<caf::actor>(hub)));
}
