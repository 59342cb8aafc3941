// The chat example's actors against a hub on CAF's deterministic scheduler
// (switchboard::testing): fake clients, no sockets, no threads, and time
// moves only when the test says so.
#define CATCH_CONFIG_MAIN
#include "chat.hpp"

#include <switchboard/testing.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using switchboard::testing::hub_fixture;

namespace {

boost::json::value parse(const std::string& frame) {
  return boost::json::parse(frame);
}

/// A hub with the moderator installed as its authorizer.
struct moderated : hub_fixture {
  moderated()
    : hub_fixture({}, [](hub_fixture& f) {
        switchboard::hub_settings s;
        s.authorizer = f.spawn(chat::moderator);
        return s;
      }) {
  }
};

} // namespace

TEST_CASE_METHOD(hub_fixture, "the bot answers a client with what it said") {
  spawn(chat::bot, hub);
  run();
  auto ann = connect("ann");
  ann.transport->take(); // the welcome
  send(ann, R"({"type":"send","to":"service:bot","data":{"q":"hi \"there\""},"id":1})");
  auto got = ann.transport->take();
  REQUIRE(got.size() == 2);
  CHECK(parse(got[0]) == parse(R"({"type":"ack","id":1})"));
  CHECK(parse(got[1]) == parse(R"({"type":"direct","from":"service:bot",
                                   "data":{"you_said":{"q":"hi \"there\""},"user":"ann"}})"));
}

TEST_CASE_METHOD(moderated, "only admin announces; anyone subscribes") {
  auto bob = connect("bob");
  auto admin = connect("admin");
  bob.transport->take();
  admin.transport->take();
  send(bob, R"({"type":"subscribe","topic":"announce/all","id":1})");
  CHECK(parse(bob.transport->take().at(0)).at("type") == "subscribed");
  send(bob, R"({"type":"publish","topic":"announce/all","data":1,"id":2})");
  auto refused = parse(bob.transport->take().at(0));
  CHECK(refused.at("type") == "error");
  CHECK(refused.at("code") == "forbidden");
  send(admin, R"({"type":"publish","topic":"announce/all","data":2,"id":3})");
  CHECK(parse(admin.transport->take().at(0)).at("type") == "ack");
  auto announced = parse(bob.transport->take().at(0));
  CHECK(announced.at("data") == 2);
}

TEST_CASE_METHOD(hub_fixture, "every lobby message is counted on chat/stats") {
  spawn(chat::lobby_stats, hub);
  run();
  auto ann = connect();
  auto watcher = connect();
  send(watcher, R"({"type":"subscribe","topic":"chat/stats"})");
  watcher.transport->take();
  send(ann, R"({"type":"publish","topic":"chat/lobby","data":"hello"})");
  auto got = watcher.transport->take();
  REQUIRE(got.size() == 1);
  auto stats = parse(got[0]);
  CHECK(stats.at("topic") == "chat/stats");
  CHECK(stats.at("data").at("bytes") == 7); // "hello" with its quotes
  CHECK(stats.at("data").at("from") == ann.id);
}

TEST_CASE_METHOD(hub_fixture, "the ticker publishes on its interval and stops when told") {
  auto ticker = spawn(chat::ticker, hub, caf::timespan{std::chrono::milliseconds{100}});
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"ticks"})");
  c.transport->take();
  advance(250ms);
  auto got = c.transport->take();
  REQUIRE(got.size() == 2);
  CHECK(parse(got[1]).at("data").at("tick") == 2);
  caf::anon_send_exit(ticker, caf::exit_reason::user_shutdown);
  run();
  advance(1s);
  CHECK(c.transport->take().empty());
}
