// Limits the hub and the reader enforce on clients: topics per connection
// and per node, direct messages between clients, the command rate (a client
// over it waits for tokens, unparsed, and is cut off after the grace).

#include "connection/connection.hpp"
#include "testing/hub_fixture_internals.hpp"
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
  CHECK(hub_state_of(f).connections.at(c.id).topics.size == 3);
  CHECK(hub_state_of(f).topics.find("t0") == nullptr);
  CHECK(hub_state_of(f).stats.rejections.at("limit_exceeded") == 1);
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
  CHECK(hub_state_of(f).stats.rejections.at("limit_exceeded") == 1);
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
  CHECK(hub_state_of(f).stats.rejections.at("forbidden") == 1);
  // The server still can.
  CHECK(f.request<bool>(send_direct{b.id, "2"}) == true);
  CHECK(b.transport->take() == std::vector<std::string>{protocol::direct(0, "2")});
}

// -- rate --------------------------------------------------------------------------------

namespace {

reader_state& reader_of(const hub_fixture::client& c) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(c.reader);
  return dynamic_cast<reader_actor::stateful_base<reader_state>&>(*ptr).state;
}

// Inbound messages the reader has not given the read credit back for.
std::size_t unhandled(const hub_fixture::client& c, std::size_t sent) {
  return sent - c.transport->consumed_count;
}

// A client that always has another command ready, as a flooder does: like
// the real transport (ws_session), it gets a message to the reader whenever
// fewer than 8 are unhandled. Runs for `t` (or until the reader is gone) in
// steps of 10 ms; returns the messages sent.
std::size_t flood(hub_fixture& f, const hub_fixture::client& c, caf::timespan t,
                  std::size_t& sent) {
  std::size_t before = sent;
  for (caf::timespan elapsed{0}; elapsed < t && f.alive(c.reader); elapsed += 10ms) {
    while (f.alive(c.reader) && unhandled(c, sent) < 8)
      f.send(c, subscribe(0, static_cast<int>(sent++)));
    f.advance(10ms);
  }
  return sent - before;
}

constexpr const char* invalid_json = R"({"type":"publish","topic":"t","data":"never closed)";

} // namespace

TEST_CASE("past the burst a message waits unparsed, with its read credit, for a token") {
  hub_fixture f{rate(10, 5, 10s)};
  auto c = f.connect();
  c.transport->take();
  for (int i = 0; i < 5; ++i)
    f.send(c, subscribe(i, i));
  CHECK(c.transport->take().size() == 5);
  CHECK(c.transport->consumed_count == 5);
  // No token: nothing is parsed nor answered, and the read credit stays out
  // (the real transport stops reading: TCP holds the client back).
  for (int i = 0; i < 3; ++i)
    f.send(c, invalid_json);
  f.send(c, subscribe(9, 9));
  CHECK(c.transport->take().empty());
  CHECK(c.transport->consumed_count == 5);
  auto& held = reader_of(c).held;
  REQUIRE(held.size() == 4);
  CHECK(held.front().text == invalid_json);
  // 10 per second: one token every 100 ms, and one message goes on with it.
  f.advance(99ms);
  CHECK(c.transport->take().empty());
  f.advance(1ms);
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 1);
  CHECK(json::parse(frames[0]).at("code") == "bad_json");
  CHECK(c.transport->consumed_count == 6);
  f.advance(200ms);
  CHECK(c.transport->take().size() == 2);
  CHECK(c.transport->consumed_count == 8);
  f.advance(100ms);
  CHECK(last(c).at("type") == "subscribed");
  CHECK(c.transport->consumed_count == 9);
  CHECK(reader_of(c).held.empty());
  CHECK(hub_state_of(f).connections.at(c.id).topics.size == 6);
  // The held messages are counted as the rate limit's, none is refused.
  CHECK(f.stats().rejections.at("rate_limited") == 4);
  CHECK(f.alive(c.reader));
}

TEST_CASE("a flood costs the node the rate, not the flood") {
  hub_fixture f{rate(10, 5, 10s)};
  auto c = f.connect();
  c.transport->take();
  // A hundred invalid frames at once: the burst is parsed and answered, the
  // rest waits unparsed (the real transport would not even have read it).
  for (int i = 0; i < 100; ++i)
    f.send(c, invalid_json);
  CHECK(c.transport->take().size() == 5);
  CHECK(reader_of(c).held.size() == 95);
  f.advance(1s);
  CHECK(c.transport->take().size() == 10);
  CHECK(reader_of(c).held.size() == 85);
  CHECK(f.alive(c.reader));
}

TEST_CASE("a client over the rate for longer than the grace is disconnected") {
  hub_fixture f{rate(10, 5, 2s)};
  auto c = f.connect();
  auto other = f.connect();
  std::size_t sent = 0;
  // Flooding for 1 s: slowed down to the rate (10 of its commands ran after
  // the burst); what it left waiting runs in 0.8 s more, within the grace.
  c.transport->take();
  flood(f, c, 1s, sent);
  REQUIRE(f.alive(c.reader));
  CHECK(c.transport->take().size() == 5 + 10);
  f.advance(800ms);
  REQUIRE(f.alive(c.reader));
  CHECK(reader_of(c).held.empty());
  // Quiet long enough to earn the whole burst back (5 tokens): forgiven.
  f.advance(500ms);
  // Flooding again: the burst, then held back; 2 s after it first had to
  // wait it is cut off, having had one command per token until then.
  c.transport->take();
  auto start = f.sched.clock().now();
  flood(f, c, 5s, sent);
  CHECK_FALSE(f.alive(c.reader));
  auto lasted = f.sched.clock().now() - start;
  CHECK(lasted >= 2s);
  CHECK(lasted <= 2010ms);
  CHECK(c.transport->take().size() == 5 + 19);
  CHECK(f.exit_reason(c.reader) == make_error(exit_code::rate_limited));
  CHECK(c.transport->closed == exit_code::rate_limited);
  CHECK(f.alive(other.reader));
}

TEST_CASE("a client held back for the rate is not judged by the heartbeat") {
  auto s = rate(1, 1, 100s);
  s.ping_interval = 1s;
  s.pong_timeout = 1s;
  hub_fixture f{s};
  auto c = f.connect();
  // Ten commands at once: nine wait, one a second; the transport stops
  // reading meanwhile, so a pong could sit unread in the socket.
  for (int i = 0; i < 10; ++i)
    f.send(c, subscribe(i, i));
  f.advance(9500ms);
  REQUIRE(f.alive(c.reader));
  CHECK(c.transport->pings >= 8);
  // Caught up at 9 s: from then on a pong-timeout after the next ping.
  f.advance(4s);
  CHECK_FALSE(f.alive(c.reader));
  CHECK(f.exit_reason(c.reader) == make_error(exit_code::heartbeat_timeout));
}
