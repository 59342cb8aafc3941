// The hub's membership table on its own: subscribe, unsubscribe and
// disconnect keep every index consistent, and the limits hold.

#include "hub/hub_state.hpp"
#include "hub/topic_table.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <string>

using namespace switchboard;
using outcome = topic_table::outcome;

namespace {

constexpr topic_table::limits unlimited{1'000'000, 1'000'000};

/// Every subscription knows its position, and every connection's list
/// holds exactly its subscriptions.
void check_consistent(topic_table& table, std::deque<hub_connection>& conns) {
  std::size_t listed = 0;
  for (auto& c : conns) {
    std::size_t n = 0;
    for (auto s = c.topics.head; s != nullptr; s = s->next, ++n) {
      REQUIRE(s->conn == &c);
      REQUIRE(s->index < s->topic->subscribers.size());
      REQUIRE(s->topic->subscribers[s->index] == s);
      if (s->next != nullptr)
        REQUIRE(s->next->prev == s);
    }
    REQUIRE(n == c.topics.size);
    listed += n;
  }
  std::size_t counted = 0;
  table.for_each([&](const hub_topic& t) {
    REQUIRE_FALSE(t.empty());
    REQUIRE(table.find(*t.name) == &t);
    counted += t.subscribers.size();
  });
  REQUIRE(counted == listed);
}

std::string name(int i) {
  return "topic-" + std::to_string(i);
}

} // namespace

TEST_CASE("subscriptions are counted once and topics live while used") {
  topic_table table;
  std::deque<hub_connection> conns(2);
  auto& a = conns[0];
  auto& b = conns[1];
  auto [r1, t1] = table.subscribe(a, a.topics, "x", unlimited);
  CHECK(r1 == outcome::subscribed);
  REQUIRE(t1 != nullptr);
  CHECK(t1->quoted == R"("x")");
  CHECK(table.subscribe(a, a.topics, "x", unlimited).first == outcome::already);
  CHECK(table.subscribe(b, b.topics, "x", unlimited).first == outcome::subscribed);
  CHECK(t1->subscribers.size() == 2);
  CHECK(a.topics.size == 1);
  check_consistent(table, conns);
  CHECK(table.unsubscribe(a, a.topics, "x"));
  CHECK_FALSE(table.unsubscribe(a, a.topics, "x"));
  CHECK_FALSE(table.unsubscribe(a, a.topics, "never"));
  CHECK(table.size() == 1);
  CHECK(table.unsubscribe(b, b.topics, "x"));
  CHECK(table.size() == 0);
  CHECK(table.find("x") == nullptr);
}

TEST_CASE("leaving in any order keeps every index right") {
  topic_table table;
  std::deque<hub_connection> conns(50);
  for (int t = 0; t < 20; ++t)
    for (auto& c : conns)
      REQUIRE(table.subscribe(c, c.topics, name(t), unlimited).first
              == outcome::subscribed);
  check_consistent(table, conns);
  // Leave from the middle, the front and the back of subscriber vectors
  // and connection lists.
  for (std::size_t i = 0; i < conns.size(); i += 3)
    for (int t = 0; t < 20; t += 2)
      REQUIRE(table.unsubscribe(conns[i], conns[i].topics, name(t)));
  check_consistent(table, conns);
  for (std::size_t i = 1; i < conns.size(); i += 4)
    table.unsubscribe_all(conns[i].topics);
  check_consistent(table, conns);
  for (auto& c : conns)
    table.unsubscribe_all(c.topics);
  CHECK(table.size() == 0);
}

TEST_CASE("a connection at its limit is refused, and so is a node at its limit") {
  topic_table table;
  std::deque<hub_connection> conns(3);
  topic_table::limits lim{3, 5};
  auto& a = conns[0];
  for (int t = 0; t < 3; ++t)
    REQUIRE(table.subscribe(a, a.topics, name(t), lim).first == outcome::subscribed);
  CHECK(table.subscribe(a, a.topics, name(3), lim) == std::make_pair(outcome::connection_limit,
                                                                     (hub_topic*) nullptr));
  // Subscribing again to a topic it has is not a new subscription.
  CHECK(table.subscribe(a, a.topics, name(0), lim).first == outcome::already);
  auto& b = conns[1];
  REQUIRE(table.subscribe(b, b.topics, name(3), lim).first == outcome::subscribed);
  REQUIRE(table.subscribe(b, b.topics, name(4), lim).first == outcome::subscribed);
  // Five topics exist: a new one is refused, an existing one is not.
  CHECK(table.subscribe(b, b.topics, name(5), lim).first == outcome::node_limit);
  CHECK(table.subscribe(b, b.topics, name(0), lim).first == outcome::subscribed);
  CHECK(table.ensure(name(6), lim.topics) == nullptr);
  CHECK(table.ensure(name(1), lim.topics) != nullptr);
  // Room again once a topic is gone.
  table.unsubscribe_all(conns[1].topics);
  CHECK(table.size() == 3);
  CHECK(table.subscribe(b, b.topics, name(5), lim).first == outcome::subscribed);
  check_consistent(table, conns);
}

TEST_CASE("a connection with many topics leaves all of them") {
  // Not a timing test: it shows that 100k subscriptions of one connection
  // and their removal go through the same bookkeeping.
  topic_table table;
  std::deque<hub_connection> conns(2);
  for (int t = 0; t < 100'000; ++t)
    REQUIRE(table.subscribe(conns[0], conns[0].topics, name(t), unlimited).first
            == outcome::subscribed);
  REQUIRE(table.subscribe(conns[1], conns[1].topics, name(7), unlimited).first
          == outcome::subscribed);
  CHECK(table.size() == 100'000);
  table.unsubscribe_all(conns[0].topics);
  CHECK(table.size() == 1);
  CHECK(conns[0].topics.head == nullptr);
  check_consistent(table, conns);
}
