// The hub with fake clients: membership, subscriptions, fan-out, direct
// messages and the order of replies. Time never moves here.

#include "connection/connection.hpp"
#include "testing/fake_transport.hpp"
#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace switchboard;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

std::string subscribe(const std::string& topic, const std::string& id = {}) {
  auto frame = R"({"type":"subscribe","topic":)" + protocol::quote(topic);
  return frame + (id.empty() ? "" : R"(,"id":)" + id) + "}";
}

std::string unsubscribe(const std::string& topic) {
  return R"({"type":"unsubscribe","topic":)" + protocol::quote(topic) + "}";
}

std::string publish_frame(const std::string& topic, const std::string& data,
                    const std::string& id = {}) {
  auto frame = R"({"type":"publish","topic":)" + protocol::quote(topic)
               + R"(,"data":)" + data;
  return frame + (id.empty() ? "" : R"(,"id":)" + id) + "}";
}

std::string message(const std::string& topic, const std::string& data) {
  return R"({"type":"message","topic":)" + protocol::quote(topic) + R"(,"data":)"
         + data + "}";
}

json::object parse(const std::string& frame) {
  INFO(frame);
  return json::parse(frame).as_object();
}

} // namespace

TEST_CASE("the welcome carries the ping interval the hub is told") {
  using namespace std::chrono_literals;
  hub_settings s;
  s.ping_interval = 1500ms;
  hub_fixture f{{}, s};
  auto a = f.connect();
  auto welcome = parse(a.transport->take().at(0));
  CHECK(welcome.at("type") == "welcome");
  CHECK(welcome.at("id") == a.id);
  CHECK(welcome.at("ping") == 1.5);
}

TEST_CASE_METHOD(hub_fixture, "a ping is answered in order with the other replies") {
  auto a = connect();
  a.transport->take();
  send(a, R"({"type":"subscribe","topic":"x","id":1})");
  send(a, R"({"type":"ping","id":2})");
  send(a, R"({"type":"unsubscribe","topic":"x","id":3})");
  auto frames = a.transport->take();
  REQUIRE(frames.size() == 3);
  CHECK(parse(frames[0]).at("type") == "subscribed");
  CHECK(frames[1] == R"({"type":"pong","id":2})");
  CHECK(parse(frames[2]).at("type") == "unsubscribed");
}

TEST_CASE_METHOD(hub_fixture, "join and leave keep the hub's books") {
  auto a = connect();
  auto b = connect();
  CHECK(a.id != b.id);
  CHECK(a.transport->take() == std::vector<std::string>{protocol::welcome(a.id)});
  CHECK(b.transport->take() == std::vector<std::string>{protocol::welcome(b.id)});
  CHECK(hub_state_of(*this).connections.size() == 2);
  CHECK(hub_state_of(*this).by_actor.size() == 4);
  CHECK(hub_state_of(*this).by_actor.at(a.writer.address()) == a.id);
  send(a, subscribe("x"));
  send(a, subscribe("y"));
  send(b, subscribe("x"));
  REQUIRE(hub_state_of(*this).topics.size() == 2);
  CHECK(hub_state_of(*this).topics.find("x")->subscribers.size() == 2);
  CHECK(hub_state_of(*this).connections.at(a.id).topics.size == 2);
  caf::anon_send(a.reader, closed_atom::value,
                 static_cast<std::uint8_t>(exit_code::socket_closed));
  run();
  CHECK_FALSE(alive(a.reader));
  CHECK_FALSE(alive(a.writer));
  CHECK(a.transport->closed == exit_code::socket_closed);
  CHECK_FALSE(remembers(a));
  CHECK(remembers(b));
  CHECK(hub_state_of(*this).connections.size() == 1);
  CHECK(hub_state_of(*this).by_actor.size() == 2);
  REQUIRE(hub_state_of(*this).topics.find("x") != nullptr);
  CHECK(hub_state_of(*this).topics.find("y") == nullptr);
  CHECK(hub_state_of(*this).topics.find("x")->subscribers.size() == 1);
  CHECK(hub_state_of(*this).dirty.empty());
  // Two down messages (reader and writer), one disconnect.
  CHECK(hub_state_of(*this).stats.disconnects == std::map<std::string, std::uint64_t>{
                                       {"socket_closed", 1}});
}

TEST_CASE_METHOD(hub_fixture, "connection ids are random, distinct and JSON-safe") {
  std::vector<conn_id> ids;
  for (int i = 0; i < 64; ++i)
    ids.push_back(connect().id);
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(ids.front() >= 1);
  CHECK(ids.back() < (conn_id{1} << 53));
  // Not a sequence: knowing one id tells nothing about the next one. (The
  // chance that 64 random 53-bit ids span less than 2^40 is below 2^-700.)
  CHECK(ids.back() - ids.front() > (conn_id{1} << 40));
}

TEST_CASE_METHOD(hub_fixture, "killing one actor of a pair takes both out") {
  auto a = connect();
  send(a, subscribe("x"));
  caf::anon_send_exit(a.writer, caf::exit_reason::kill);
  run();
  CHECK_FALSE(alive(a.reader));
  CHECK_FALSE(remembers(a));
  CHECK(hub_state_of(*this).topics.size() == 0);
  CHECK(a.transport->closed == exit_code::socket_error);
}

TEST_CASE_METHOD(hub_fixture, "a publish reaches every subscriber once, in order, "
                              "as one shared frame") {
  auto pub = connect();
  std::vector<client> subs{connect(), connect(), connect()};
  for (auto& s : subs) {
    send(s, subscribe("news", "1"));
    CHECK(s.transport->take().back() == R"({"type":"subscribed","topic":"news","id":1})");
  }
  send(subs[0], subscribe("news")); // twice: still one delivery per publish
  subs[0].transport->delivered.clear();
  pub.transport->delivered.clear();
  for (int i = 0; i < 100; ++i)
    send(pub, publish_frame("news", R"({"n":)" + std::to_string(i) + ".0}"));
  CHECK(pub.transport->delivered.empty());
  for (auto& s : subs) {
    auto& got = s.transport->delivered;
    REQUIRE(got.size() == 100);
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("subscriber " << s.id << ", message " << i);
      CHECK(protocol::payload_of(*got[i])
            == message("news", R"({"n":)" + std::to_string(i) + ".0}"));
      CHECK(got[i].get() == subs[0].transport->delivered[i].get());
    }
  }
  // Serialized once: the three transports hold the only references.
  CHECK(subs[0].transport->delivered[7].use_count() == 3);
}

TEST_CASE_METHOD(hub_fixture, "the publisher gets its own message and an ack") {
  auto a = connect();
  send(a, subscribe("t"));
  a.transport->delivered.clear();
  send(a, publish_frame("t", R"("x")", R"("p1")"));
  CHECK(a.transport->take()
        == std::vector<std::string>{message("t", R"("x")"),
                                    R"({"type":"ack","id":"p1"})"});
  // Without subscribers, an ack still confirms the publish.
  send(a, publish_frame("elsewhere", "1", "2"));
  CHECK(a.transport->take() == std::vector<std::string>{R"({"type":"ack","id":2})"});
}

TEST_CASE_METHOD(hub_fixture, "two publishers interleaved keep each one's order") {
  auto a = connect();
  auto b = connect();
  auto s = connect();
  send(s, subscribe("t"));
  s.transport->delivered.clear();
  // No run in between: the hub sees one burst and flushes batches.
  for (int i = 0; i < 50; ++i) {
    caf::anon_send(a.reader, publish_frame("t", "\"a" + std::to_string(i) + "\""));
    caf::anon_send(b.reader, publish_frame("t", "\"b" + std::to_string(i) + "\""));
  }
  run();
  std::vector<std::string> from_a, from_b;
  for (auto& frame : s.transport->take()) {
    auto data = std::string{parse(frame).at("data").as_string()};
    (data[0] == 'a' ? from_a : from_b).push_back(data.substr(1));
  }
  REQUIRE(from_a.size() == 50);
  REQUIRE(from_b.size() == 50);
  for (int i = 0; i < 50; ++i) {
    CHECK(from_a[i] == std::to_string(i));
    CHECK(from_b[i] == std::to_string(i));
  }
}

TEST_CASE_METHOD(hub_fixture, "unsubscribe stops delivery and drops empty topics") {
  auto a = connect();
  auto b = connect();
  send(a, subscribe("t"));
  send(b, subscribe("t"));
  a.transport->delivered.clear();
  send(a, unsubscribe("t"));
  CHECK(a.transport->take()
        == std::vector<std::string>{R"({"type":"unsubscribed","topic":"t"})"});
  CHECK(hub_state_of(*this).topics.find("t")->subscribers.size() == 1);
  b.transport->delivered.clear();
  send(b, publish_frame("t", "1"));
  CHECK(a.transport->take().empty());
  CHECK(b.transport->take() == std::vector<std::string>{message("t", "1")});
  send(b, unsubscribe("t"));
  CHECK(hub_state_of(*this).topics.size() == 0);
  CHECK(hub_state_of(*this).connections.at(b.id).topics.size == 0);
  // Unsubscribing from a topic one never joined is confirmed all the same.
  send(b, R"({"type":"unsubscribe","topic":"never","id":5})");
  CHECK(b.transport->take().back()
        == R"({"type":"unsubscribed","topic":"never","id":5})");
  CHECK(hub_state_of(*this).topics.size() == 0);
}

TEST_CASE_METHOD(hub_fixture, "send delivers a direct message to one connection") {
  auto a = connect();
  auto b = connect();
  auto c = connect();
  for (auto& x : {a, b, c})
    x.transport->delivered.clear();
  send(a, R"({"type":"send","to":)" + std::to_string(b.id)
            + R"(,"data":{"k": [1.0]},"id":"d1"})");
  CHECK(b.transport->take()
        == std::vector<std::string>{R"({"type":"direct","from":)" + std::to_string(a.id)
                                    + R"(,"data":{"k": [1.0]}})"});
  CHECK(a.transport->take() == std::vector<std::string>{R"({"type":"ack","id":"d1"})"});
  CHECK(c.transport->take().empty());
  send(a, R"({"type":"send","to":99,"data":1,"id":7})");
  auto frames = a.transport->take();
  REQUIRE(frames.size() == 1);
  auto err = parse(frames[0]);
  CHECK(err.at("type") == "error");
  CHECK(err.at("code") == "unknown_connection");
  CHECK(err.at("id") == 7);
  CHECK(alive(a.reader));
  // A connection that is gone is unknown too.
  caf::anon_send(c.reader, closed_atom::value,
                 static_cast<std::uint8_t>(exit_code::socket_closed));
  run();
  send(a, R"({"type":"send","to":3,"data":1})");
  CHECK(parse(a.transport->take().at(0)).at("code") == "unknown_connection");
}

TEST_CASE_METHOD(hub_fixture, "errors keep the connection open and the replies "
                              "in request order") {
  auto a = connect();
  a.transport->delivered.clear();
  for (auto text : {"{oops", R"({"type":"subscribe","topic":"t","id":1})",
                    R"({"type":"dance","id":2})", R"({"type":"subscribe","topic":""})",
                    R"({"type":"unsubscribe","topic":"t","id":3})"})
    caf::anon_send(a.reader, std::string{text});
  caf::anon_send(a.reader, binary_atom::value);
  run();
  auto frames = a.transport->take();
  REQUIRE(frames.size() == 6);
  CHECK(parse(frames[0]).at("code") == "bad_json");
  CHECK(frames[1] == R"({"type":"subscribed","topic":"t","id":1})");
  CHECK(parse(frames[2]).at("code") == "unknown_type");
  CHECK(parse(frames[2]).at("id") == 2);
  CHECK(parse(frames[3]).at("code") == "bad_request");
  CHECK(frames[4] == R"({"type":"unsubscribed","topic":"t","id":3})");
  CHECK(parse(frames[5]).at("code") == "bad_request"); // binary frame
  CHECK(alive(a.reader));
  CHECK(alive(a.writer));
  CHECK(a.transport->consumed_count == 6);
}

TEST_CASE_METHOD(hub_fixture, "a pair that dies before its join leaves no trace") {
  auto socket = std::make_shared<testing::fake_socket>();
  auto shared_settings = std::make_shared<const connection_settings>(settings);
  auto pair = spawn_connection(sys, caf::actor_cast<hub_internal_actor>(hub),
                               testing::make_fake_transport(socket, shared_settings),
                               shared_settings);
  auto reader = caf::actor_cast<caf::actor>(pair.reader);
  auto writer = caf::actor_cast<caf::actor>(pair.writer);
  caf::anon_send(reader, closed_atom::value,
                 static_cast<std::uint8_t>(exit_code::protocol_error));
  // The reader goes first; the join is still in the hub's mailbox.
  REQUIRE(sched.prioritize(reader));
  sched.run_once();
  REQUIRE_FALSE(alive(reader));
  CHECK(hub_state_of(*this).connections.empty());
  run();
  CHECK_FALSE(alive(reader));
  CHECK_FALSE(alive(writer));
  CHECK(socket->closed == exit_code::protocol_error);
  CHECK(hub_state_of(*this).connections.empty());
  CHECK(hub_state_of(*this).by_actor.empty());
  CHECK(hub_state_of(*this).dirty.empty());
  CHECK(hub_state_of(*this).stats.disconnects.at("protocol_error") == 1);
}

TEST_CASE("a burst is handed over in slices that each fit the bound") {
  // The reader hands all 200 publishes over before the hub runs, so they
  // make one flush round. The hub still hands them over in slices of at
  // most 64 frames, so the socket can write the first while the hub works
  // on the rest. With a bound of 64 frames, one batch of more would be
  // refused by the writer's policy (slow_consumer): the client surviving
  // with everything, in order, shows no slice passed the bound.
  connection_settings s;
  s.send_queue_frames = 64;
  hub_fixture f{s};
  auto pub = f.connect();
  auto sub = f.connect();
  f.send(sub, subscribe("burst"));
  sub.transport->take();
  auto writes_before = sub.transport->writes;
  for (int i = 0; i < 200; ++i)
    caf::anon_send(pub.reader, publish_frame("burst", std::to_string(i)));
  f.run();
  INFO(caf::to_string(f.exit_reason(sub.writer)));
  REQUIRE(f.alive(sub.writer));
  CHECK(hub_state_of(f).stats.disconnects.empty());
  // 64 + 64 + 64 + 8: as few slices as the bound allows.
  CHECK(sub.transport->writes - writes_before == 4);
  auto frames = sub.transport->take();
  REQUIRE(frames.size() == 200);
  for (int i = 0; i < 200; ++i)
    CHECK(frames[i] == message("burst", std::to_string(i)));
}

TEST_CASE("a burst that stays queued stays within the bound, and one frame more does not") {
  // Nothing is written: every frame handed over stays queued and counts.
  connection_settings s; // the default bound: 256 frames
  s.client_rate = 0;     // (the publisher's burst is larger than its default)
  hub_fixture f{s};
  auto pub = f.connect();
  auto sub = f.connect();
  f.send(sub, subscribe("burst"));
  sub.transport->take();
  sub.transport->auto_complete = false;
  for (int i = 0; i < 256; ++i)
    caf::anon_send(pub.reader, publish_frame("burst", std::to_string(i)));
  f.run();
  REQUIRE(f.alive(sub.writer));
  CHECK(sub.transport->in_flight.size() == 256); // the whole bound, nothing lost
  f.send(pub, publish_frame("burst", "256"));
  CHECK_FALSE(f.alive(sub.writer));
  CHECK(f.exit_reason(sub.writer) == make_error(exit_code::slow_consumer));
  // Nothing beyond the bound was ever handed over, and what was is in order.
  REQUIRE(sub.transport->in_flight.size() == 256);
  sub.transport->complete_write();
  auto frames = sub.transport->take();
  REQUIRE(frames.size() == 256);
  for (int i = 0; i < 256; ++i)
    CHECK(frames[i] == message("burst", std::to_string(i)));
}
