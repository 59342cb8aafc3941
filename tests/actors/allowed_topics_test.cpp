// The topics an authenticator allowed a connection (upgrade_verdict::topics),
// enforced by the hub before any authorizer, deterministically.

#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

json::object parse(const std::string& frame) {
  INFO(frame);
  return json::parse(frame).as_object();
}

using patterns = std::vector<std::string>;

/// An authorizer that allows everything and records what it was asked.
authorizer_actor::behavior_type
allow_all(authorizer_actor::pointer, std::shared_ptr<std::vector<access_request>> asked) {
  return {[asked](access_request& q) {
    asked->push_back(q);
    return true;
  }};
}

} // namespace

TEST_CASE_METHOD(hub_fixture, "a connection limited by its token subscribes and publishes "
                              "only where a pattern matches") {
  auto c = connect("carol", patterns{"news/*", "room-?"});
  auto other = connect();
  c.transport->take();
  other.transport->take();
  send(other, R"({"type":"subscribe","topic":"secret"})");
  other.transport->take();

  send(c, R"({"type":"subscribe","topic":"news/today","id":1})");
  send(c, R"({"type":"subscribe","topic":"room-7","id":2})");
  send(c, R"({"type":"subscribe","topic":"secret","id":3})");
  send(c, R"({"type":"publish","topic":"secret","data":1,"id":4})");
  send(c, R"({"type":"subscribe","topic":"room-77","id":5})");
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 5);
  CHECK(frames[0] == R"({"type":"subscribed","topic":"news/today","id":1})");
  CHECK(frames[1] == R"({"type":"subscribed","topic":"room-7","id":2})");
  for (auto i : {2, 3, 4}) {
    auto err = parse(frames[i]);
    CHECK(err.at("type") == "error");
    CHECK(err.at("code") == "forbidden");
    CHECK(err.at("reason") == "not allowed on this topic");
  }
  CHECK(parse(frames[3]).at("id") == 4);
  // The refused publish reached nobody, and nothing of it stays in the hub.
  CHECK(other.transport->take().empty());
  CHECK(stats().rejections.at("forbidden") == 3);
  CHECK(hub_state_of(*this).connections.at(c.id).topics.size == 2);
  // A publish where it may: delivered, acknowledged.
  send(other, R"({"type":"subscribe","topic":"news/x"})");
  other.transport->take();
  send(c, R"({"type":"publish","topic":"news/x","data":2,"id":6})");
  CHECK(other.transport->take()
        == std::vector<std::string>{protocol::message(R"("news/x")", "2")});
  CHECK(c.transport->take() == std::vector<std::string>{R"({"type":"ack","id":6})"});
  // Every command gave its read credit back.
  CHECK(c.transport->consumed_count == 6);
}

TEST_CASE_METHOD(hub_fixture, "unsubscribe, direct messages and anonymous connections are "
                              "not limited by patterns") {
  auto limited = connect("dave", patterns{});
  auto anon = connect();
  limited.transport->take();
  anon.transport->take();
  send(limited, R"({"type":"unsubscribe","topic":"anything","id":1})");
  send(limited, R"({"type":"send","to":)" + std::to_string(anon.id) + R"(,"data":1})");
  send(limited, R"({"type":"subscribe","topic":"anything","id":2})");
  auto frames = limited.transport->take();
  REQUIRE(frames.size() == 2);
  CHECK(frames[0] == R"({"type":"unsubscribed","topic":"anything","id":1})");
  CHECK(parse(frames[1]).at("code") == "forbidden"); // an empty list allows nothing
  CHECK(anon.transport->take().size() == 1);          // the direct message
  send(anon, R"({"type":"subscribe","topic":"anything","id":3})");
  CHECK(anon.transport->take()
        == std::vector<std::string>{R"({"type":"subscribed","topic":"anything","id":3})"});
}

TEST_CASE_METHOD(hub_fixture, "the patterns come before the authorizer: it is never asked "
                              "about a topic they refuse") {
  auto asked = std::make_shared<std::vector<access_request>>();
  auto auth = spawn(allow_all, asked);
  tell(set_authorizer{auth, 1s, false});
  auto c = connect("erin", patterns{"ok*"});
  c.transport->take();
  // In one burst: the allowed subscribe waits for the authorizer, and the
  // refused one behind it still answers in order.
  caf::anon_send(c.reader, std::string{R"({"type":"subscribe","topic":"ok1","id":1})"});
  caf::anon_send(c.reader, std::string{R"({"type":"subscribe","topic":"no","id":2})"});
  caf::anon_send(c.reader, std::string{R"({"type":"publish","topic":"ok2","data":0,"id":3})"});
  run();
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 3);
  CHECK(frames[0] == R"({"type":"subscribed","topic":"ok1","id":1})");
  CHECK(parse(frames[1]).at("code") == "forbidden");
  CHECK(parse(frames[1]).at("id") == 2);
  CHECK(frames[2] == R"({"type":"ack","id":3})");
  REQUIRE(asked->size() == 2);
  CHECK(asked->at(0).topic == "ok1");
  CHECK(asked->at(1).topic == "ok2");
  CHECK(c.transport->consumed_count == 3);
}
