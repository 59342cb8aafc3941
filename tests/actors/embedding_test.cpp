// The typed embedding API: server-side publish, send and subscribe (with a
// listener actor receiving topic_message), stats and shutdown.

#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;

namespace {

using inbox = std::shared_ptr<std::vector<topic_message>>;

/// A server-side subscriber that records what it receives.
topic_listener_actor::behavior_type listener(topic_listener_actor::pointer, inbox got) {
  return {[got](topic_message& msg) { got->push_back(std::move(msg)); }};
}

const std::string subscribe_t = R"({"type":"subscribe","topic":"t"})";

std::string message_t(const std::string& data) {
  return protocol::message(R"("t")", data);
}

bool is(const topic_message& msg, const std::string& data, conn_id from) {
  return msg.topic == "t" && msg.data == data && msg.from == from;
}

} // namespace

TEST_CASE_METHOD(hub_fixture, "a listener receives client and server publishes") {
  auto got = std::make_shared<std::vector<topic_message>>();
  auto l = spawn(listener, got);
  CHECK(request<bool>(add_listener{std::string{"t"}, l}) == true);
  CHECK(hub_state_of(*this).topics.find("t")->listeners.size() == 1);
  auto c = connect();
  auto pub = connect();
  send(c, subscribe_t);
  c.transport->delivered.clear();
  send(pub, R"({"type":"publish","topic":"t","data":{"a": 1.0}})");
  REQUIRE(got->size() == 1);
  CHECK(is(got->at(0), R"({"a": 1.0})", pub.id));
  // A server-side publish reaches both kinds of subscriber, data verbatim.
  CHECK(request<std::uint64_t>(publication{std::string{"t"}, std::string{"[1.0, 1e400]"}})
        == std::uint64_t{2});
  REQUIRE(got->size() == 2);
  CHECK(is(got->at(1), "[1.0, 1e400]", 0));
  CHECK(c.transport->take()
        == std::vector<std::string>{message_t(R"({"a": 1.0})"), message_t("[1.0, 1e400]")});
  CHECK(pub.transport->take().size() == 1); // the welcome only
  CHECK(request<std::uint64_t>(publication{std::string{"nobody"}, std::string{"1"}})
        == std::uint64_t{0});
}

TEST_CASE_METHOD(hub_fixture, "invalid server-side requests are refused") {
  auto got = std::make_shared<std::vector<topic_message>>();
  auto l = spawn(listener, got);
  auto res = request<std::uint64_t>(publication{std::string{}, std::string{"1"}});
  REQUIRE_FALSE(res);
  CHECK(res.error() == make_error(hub_errc::invalid_topic));
  CHECK(request<bool>(add_listener{std::string(257, 'x'), l}).error()
        == make_error(hub_errc::invalid_topic));
  CHECK(request<bool>(add_listener{std::string{"a\tb"}, l}).error()
        == make_error(hub_errc::invalid_topic));
  CHECK(request<bool>(add_listener{std::string{"t"}, topic_listener_actor{}}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(hub_state_of(*this).topics.size() == 0);
  CHECK(request<bool>(send_direct{conn_id{1}, std::string{"1"}}) == false);
}

TEST_CASE_METHOD(hub_fixture, "listeners subscribe once, unsubscribe, and are "
                              "forgotten when they exit") {
  auto got = std::make_shared<std::vector<topic_message>>();
  auto l = spawn(listener, got);
  auto other = spawn(listener, std::make_shared<std::vector<topic_message>>());
  CHECK(request<bool>(add_listener{std::string{"t"}, l}) == true);
  CHECK(request<bool>(add_listener{std::string{"t"}, l}) == false); // already
  CHECK(request<bool>(add_listener{std::string{"u"}, l}) == true);
  CHECK(request<bool>(add_listener{std::string{"t"}, other}) == true);
  CHECK(request<std::uint64_t>(publication{std::string{"t"}, std::string{"1"}})
        == std::uint64_t{2});
  CHECK(got->size() == 1);
  tell(remove_listener{std::string{"u"}, l});
  run();
  CHECK(hub_state_of(*this).topics.find("u") == nullptr);
  tell(remove_listener{std::string{"t"}, l});
  run();
  CHECK(request<std::uint64_t>(publication{std::string{"t"}, std::string{"2"}})
        == std::uint64_t{1});
  CHECK(got->size() == 1);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
  run();
  CHECK(hub_state_of(*this).topics.size() == 0);
}

TEST_CASE_METHOD(hub_fixture, "the server sends direct messages from id 0") {
  auto c = connect();
  c.transport->delivered.clear();
  CHECK(request<bool>(send_direct{c.id, std::string{R"({"x": 1.0})"}}) == true);
  CHECK(c.transport->take()
        == std::vector<std::string>{R"({"type":"direct","from":0,"data":{"x": 1.0}})"});
  CHECK(request<bool>(send_direct{c.id + 1, std::string{"1"}}) == false);
}

TEST_CASE_METHOD(hub_fixture, "stats count connections, topics, traffic and "
                              "disconnects") {
  auto a = connect();                                    // out 1
  auto b = connect();                                    // out 2
  send(a, subscribe_t);                                  // in 1, out 3
  send(b, R"({"type":"publish","topic":"t","data":1,"id":1})"); // in 2, out 5
  request<std::uint64_t>(publication{std::string{"t"}, std::string{"2"}}); // in 3, out 6
  request<bool>(send_direct{b.id, std::string{"3"}});      // in 4, out 7
  send(b, "not json");                                   // in 5, out 8
  auto s = request<hub_stats>(query_stats{});
  REQUIRE(s);
  CHECK(s->connections == 2);
  CHECK(s->topics == 1);
  CHECK(s->messages_in == 5);
  CHECK(s->messages_out == 8);
  CHECK(s->disconnects.empty());
  caf::anon_send(a.reader, closed_atom::value,
                 static_cast<std::uint8_t>(exit_code::socket_closed));
  caf::anon_send(b.writer, closed_atom::value,
                 static_cast<std::uint8_t>(exit_code::socket_error));
  run();
  s = request<hub_stats>(query_stats{});
  REQUIRE(s);
  CHECK(s->connections == 0);
  CHECK(s->topics == 0);
  CHECK(s->disconnects
        == std::map<std::string, std::uint64_t>{{"socket_closed", 1}, {"socket_error", 1}});
}

TEST_CASE("shutdown flushes every writer, then stops the hub") {
  hub_fixture f;
  auto hub = caf::actor_cast<caf::actor>(f.hub);
  auto pub = f.connect();
  auto slow = f.connect();
  f.send(slow, subscribe_t);
  slow.transport->delivered.clear();
  slow.transport->auto_complete = false;
  f.send(pub, R"({"type":"publish","topic":"t","data":1})");
  f.send(pub, R"({"type":"publish","topic":"t","data":2})");
  f.request_stop();
  f.run();
  CHECK_FALSE(f.alive(pub.reader));
  CHECK(f.exit_reason(pub.writer) == make_error(exit_code::shutdown));
  CHECK(pub.transport->closed == exit_code::shutdown);
  CHECK_FALSE(f.remembers(pub));
  REQUIRE(f.alive(slow.writer)); // two frames not written yet
  REQUIRE(f.alive(hub));
  CHECK(hub_state_of(f).stats.disconnects.at("shutdown") == 1);
  // A latecomer is welcomed and sent away.
  auto late = f.connect();
  CHECK(late.transport->take() == std::vector<std::string>{protocol::welcome(late.id)});
  CHECK(late.transport->closed == exit_code::shutdown);
  slow.transport->complete_write();
  f.run();
  CHECK(slow.transport->take() == std::vector<std::string>{message_t("1"), message_t("2")});
  CHECK(f.exit_reason(slow.reader) == make_error(exit_code::shutdown));
  CHECK(slow.transport->closed == exit_code::shutdown);
  CHECK_FALSE(f.alive(hub));
}

TEST_CASE("a writer that cannot flush goes after shutdown_timeout") {
  connection_settings s;
  s.shutdown_timeout = 2s;
  hub_fixture f{s};
  auto hub = caf::actor_cast<caf::actor>(f.hub);
  auto pub = f.connect();
  auto slow = f.connect();
  f.send(slow, subscribe_t);
  slow.transport->auto_complete = false;
  f.send(pub, R"({"type":"publish","topic":"t","data":1})");
  f.request_stop();
  f.run();
  f.advance(2s - 1ns);
  REQUIRE(f.alive(slow.writer));
  REQUIRE(f.alive(hub));
  f.advance(1ns);
  CHECK(f.exit_reason(slow.writer) == make_error(exit_code::shutdown));
  CHECK(slow.transport->closed == exit_code::shutdown);
  CHECK_FALSE(f.alive(hub));
}

TEST_CASE("shutdown without connections stops the hub at once") {
  hub_fixture f;
  f.request_stop();
  f.run();
  CHECK_FALSE(f.alive(caf::actor_cast<caf::actor>(f.hub)));
}

TEST_CASE_METHOD(hub_fixture, "server-side data that is not JSON is refused") {
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"t"})");
  c.transport->take();
  CHECK(request<std::uint64_t>(publication{std::string{"t"}, std::string{"{not json"}})
          .error()
        == make_error(hub_errc::invalid_data));
  CHECK(request<bool>(send_direct{c.id, std::string{"1 2"}}).error()
        == make_error(hub_errc::invalid_data));
  CHECK(c.transport->take().empty());
}

TEST_CASE_METHOD(hub_fixture, "a listener is monitored once, whatever its topics, "
                              "and no longer once it left them all") {
  auto l = spawn(listener, std::make_shared<std::vector<topic_message>>());
  for (auto topic : {"a", "b", "c"})
    REQUIRE(request<bool>(add_listener{std::string{topic}, l}) == true);
  CHECK(hub_state_of(*this).app_actors.size() == 1);
  CHECK(hub_state_of(*this).app_actors.begin()->second.topics.size() == 3);
  // Its exit: the listener's own run and one down message for the hub (one
  // monitor), which clears all three topics.
  caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  CHECK(run() == 2);
  CHECK(hub_state_of(*this).app_actors.empty());
  CHECK(hub_state_of(*this).topics.size() == 0);
  // A listener that left its last topic is no longer monitored: its exit
  // sends the hub nothing.
  auto m = spawn(listener, std::make_shared<std::vector<topic_message>>());
  REQUIRE(request<bool>(add_listener{std::string{"a"}, m}) == true);
  REQUIRE(request<bool>(add_listener{std::string{"b"}, m}) == true);
  tell(remove_listener{std::string{"a"}, m});
  tell(remove_listener{std::string{"b"}, m});
  run();
  CHECK(hub_state_of(*this).app_actors.empty());
  caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  CHECK(run() == 1);
}

TEST_CASE("once stopping, the hub refuses publishes and sends, and writers do "
          "not wait for what came after the notice") {
  hub_fixture f;
  auto sub = f.connect();
  auto pub = f.connect();
  f.send(sub, subscribe_t);
  f.send(pub, subscribe_t);
  sub.transport->take();
  pub.transport->take();
  // Both hold one frame in flight when the shutdown comes.
  sub.transport->auto_complete = false;
  pub.transport->auto_complete = false;
  f.send(pub, R"({"type":"publish","topic":"t","data":1})");
  f.request_stop();
  f.run();
  f.send(pub, R"({"type":"publish","topic":"t","data":2,"id":7})");
  f.send(pub, R"({"type":"send","to":)" + std::to_string(sub.id) + R"(,"data":3})");
  CHECK(f.request<std::uint64_t>(publication{std::string{"t"}, std::string{"4"}})
          .error()
        == make_error(hub_errc::shutting_down));
  CHECK(f.request<bool>(send_direct{sub.id, std::string{"5"}}).error()
        == make_error(hub_errc::shutting_down));
  CHECK(hub_state_of(f).stats.rejections.at("shutting_down") == 2);
  // The frame in flight was the last one from before the notice: once it is
  // written, each writer goes, although error replies queued up after it.
  CHECK(pub.transport->in_flight.size() == 3);
  sub.transport->complete_frames(1);
  pub.transport->complete_frames(1);
  f.run();
  CHECK(sub.transport->take() == std::vector<std::string>{message_t("1")});
  CHECK(f.exit_reason(sub.writer) == make_error(exit_code::shutdown));
  CHECK(f.exit_reason(pub.writer) == make_error(exit_code::shutdown));
  CHECK(pub.transport->take() == std::vector<std::string>{message_t("1")});
  CHECK_FALSE(f.alive(caf::actor_cast<caf::actor>(f.hub)));
}

TEST_CASE("when the hub dies, every pair goes down with it") {
  hub_fixture f;
  auto a = f.connect();
  auto b = f.connect();
  f.send(a, subscribe_t);
  caf::anon_send_exit(f.hub, caf::exit_reason::kill);
  f.run();
  for (auto* c : {&a, &b}) {
    CHECK_FALSE(f.alive(c->reader));
    CHECK_FALSE(f.alive(c->writer));
    CHECK(f.exit_reason(c->reader) == make_error(exit_code::hub_down));
    CHECK(c->transport->closed == exit_code::hub_down);
  }
}
