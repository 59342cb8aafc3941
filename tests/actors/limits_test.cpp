// Limits the hub and the reader enforce on clients: topics per connection
// and per node, direct messages between clients, the command rate.

#include "hub/hub_state.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

std::string subscribe(int topic, int id) {
  return R"({"type":"subscribe","topic":"t)" + std::to_string(topic) + R"(","id":)"
         + std::to_string(id) + "}";
}

json::object last(const hub_fixture::client& c) {
  auto frames = c.transport->take();
  REQUIRE_FALSE(frames.empty());
  INFO(frames.back());
  return json::parse(frames.back()).as_object();
}

void check_error(const json::object& frame, const char* code, int id) {
  INFO(json::serialize(frame));
  CHECK(frame.at("type") == "error");
  CHECK(frame.at("code") == code);
  CHECK(frame.at("id") == id);
}

hub_settings topic_limits(std::size_t per_connection, std::size_t topics) {
  hub_settings s;
  s.max_topics_per_connection = per_connection;
  s.max_topics = topics;
  return s;
}

connection_settings rate(double per_second, std::size_t burst, caf::timespan grace) {
  connection_settings s;
  s.client_rate = per_second;
  s.client_burst = burst;
  s.client_rate_grace = grace;
  return s;
}

} // namespace

// -- topics --------------------------------------------------------------------------

TEST_CASE("past its topic limit a connection gets limit_exceeded and stays") {
  hub_fixture f{{}, topic_limits(3, 100)};
  auto c = f.connect();
  c.transport->take();
  for (int i = 0; i < 3; ++i) {
    f.send(c, subscribe(i, i));
    CHECK(last(c).at("type") == "subscribed");
  }
  f.send(c, subscribe(3, 3));
  check_error(last(c), "limit_exceeded", 3);
  // Subscribing again to one it has is fine; after leaving one, a new one is.
  f.send(c, subscribe(1, 4));
  CHECK(last(c).at("type") == "subscribed");
  f.send(c, R"({"type":"unsubscribe","topic":"t0"})");
  f.send(c, subscribe(3, 5));
  CHECK(last(c).at("type") == "subscribed");
  CHECK(f.alive(c.reader));
  CHECK(f.state().connections.at(c.id).topics.size == 3);
  CHECK(f.state().topics.find("t0") == nullptr);
  CHECK(f.state().stats.rejections.at("limit_exceeded") == 1);
}

TEST_CASE("past the node's topic limit new topics are refused, existing ones not") {
  hub_fixture f{{}, topic_limits(10, 2)};
  auto a = f.connect();
  auto b = f.connect();
  f.send(a, subscribe(0, 0));
  f.send(a, subscribe(1, 1));
  a.transport->take();
  f.send(b, subscribe(2, 2));
  check_error(last(b), "limit_exceeded", 2);
  f.send(b, subscribe(1, 3));
  CHECK(last(b).at("type") == "subscribed");
  // Server-side listeners count too.
  auto listener = f.spawn([](topic_listener_actor::pointer) -> topic_listener_actor::behavior_type {
    return {[](const topic_message&) {}};
  });
  CHECK(f.request<bool>(add_listener{"t9", listener}).error()
        == make_error(hub_errc::limit_exceeded));
  // A topic freed by a disconnect makes room.
  caf::anon_send_exit(a.reader, caf::exit_reason::kill);
  f.run();
  f.send(b, subscribe(2, 4));
  CHECK(last(b).at("type") == "subscribed");
  CHECK(f.state().stats.rejections.at("limit_exceeded") == 1);
}

// -- direct messages -------------------------------------------------------------------

TEST_CASE("with client-send off clients cannot address each other") {
  hub_settings s;
  s.client_send = false;
  hub_fixture f{{}, s};
  auto a = f.connect();
  auto b = f.connect();
  a.transport->take();
  b.transport->take();
  f.send(a, R"({"type":"send","to":)" + std::to_string(b.id) + R"(,"data":1,"id":1})");
  check_error(last(a), "forbidden", 1);
  CHECK(b.transport->take().empty());
  CHECK(f.state().stats.rejections.at("forbidden") == 1);
  // The server still can.
  CHECK(f.request<bool>(send_direct{b.id, "2"}) == true);
  CHECK(b.transport->take() == std::vector<std::string>{protocol::direct(0, "2")});
}

// -- rate --------------------------------------------------------------------------------

TEST_CASE("commands past the burst are refused until the bucket refills") {
  hub_fixture f{rate(10, 5, 10s)};
  auto c = f.connect();
  c.transport->take();
  for (int i = 0; i < 5; ++i)
    f.send(c, subscribe(i, i));
  CHECK(c.transport->take().size() == 5);
  f.send(c, subscribe(5, 5));
  check_error(last(c), "rate_limited", 5);
  CHECK(f.state().connections.at(c.id).topics.size == 5);
  // 10 per second: one token every 100 ms.
  f.advance(99ms);
  f.send(c, subscribe(6, 6));
  check_error(last(c), "rate_limited", 6);
  f.advance(1ms);
  f.send(c, subscribe(7, 7));
  CHECK(last(c).at("type") == "subscribed");
  f.advance(1s);
  for (int i = 10; i < 15; ++i)
    f.send(c, subscribe(i, i));
  CHECK(c.transport->take().size() == 5);
  CHECK(f.state().stats.rejections.at("rate_limited") == 2);
  CHECK(f.alive(c.reader));
}

TEST_CASE("a client over the rate for longer than the grace is disconnected") {
  hub_fixture f{rate(10, 5, 2s)};
  auto c = f.connect();
  auto other = f.connect();
  for (int i = 0; i < 5; ++i)
    f.send(c, subscribe(0, i));
  // Over the rate for 1.9 s (50 a second against 10): warned, not cut off.
  for (int i = 0; i < 95; ++i) {
    f.send(c, subscribe(0, 100 + i));
    f.advance(20ms);
  }
  REQUIRE(f.alive(c.reader));
  // Quiet long enough to earn the whole burst back: forgiven.
  f.advance(500ms);
  f.send(c, subscribe(0, 300));
  for (int i = 0; i < 4; ++i)
    f.send(c, subscribe(0, 301 + i));
  // Now 200 a second: every 20th command still gets a token, but the client
  // stays over the rate, and 2 s after its first refusal it is cut off.
  int sent = 0;
  for (; sent < 1000 && f.alive(c.reader); ++sent) {
    f.send(c, subscribe(0, 1000 + sent));
    f.advance(5ms);
  }
  CHECK(sent >= 400);
  CHECK(sent <= 402);
  CHECK_FALSE(f.alive(c.reader));
  CHECK(f.exit_reason(c.reader) == make_error(exit_code::rate_limited));
  CHECK(c.transport->closed == exit_code::rate_limited);
  CHECK(f.alive(other.reader));
}
