// Presence and join/leave through the hub with fake clients (protocol
// v1.1): who is listed, the user counts, a leave on every way out of a
// connection, and the subscriber cap on events.

#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

hub_settings with_presence() {
  hub_settings h;
  h.namespaces["room"] = topic_options{0, std::chrono::minutes(5), true, true};
  return h;
}

connection_settings short_timers() {
  connection_settings s;
  s.ping_interval = 1s;
  s.pong_timeout = 300ms;
  s.send_queue_frames = 4;
  s.client_rate = 0;
  return s;
}

struct presence_fixture : hub_fixture {
  explicit presence_fixture(hub_settings h = with_presence())
    : hub_fixture(short_timers(), std::move(h)) {
  }

  client fresh(std::string user = {}) {
    auto c = connect(std::move(user));
    c.transport->take();
    return c;
  }

  /// `w` subscribes to room:a asking for join/leave events.
  void watch(const client& w) {
    send(w, R"({"type":"subscribe","topic":"room:a","join_leave":true})");
    w.transport->take();
  }
};

json::object parse(const std::string& frame) {
  INFO(frame);
  return json::parse(frame).as_object();
}

std::string event(const char* type, conn_id id, const std::string& user = {}) {
  std::string frame = R"({"type":")" + std::string{type}
                      + R"(","topic":"room:a","id":)" + std::to_string(id);
  if (!user.empty())
    frame += R"(,"user":")" + user + "\"";
  return frame + "}";
}

const std::string subscribe_a = R"({"type":"subscribe","topic":"room:a"})";

} // namespace

TEST_CASE_METHOD(presence_fixture, "presence lists the subscribers, stats count users") {
  auto a = fresh("alice");
  auto a2 = fresh("alice");
  auto anon = fresh();
  for (auto c : {a, a2, anon})
    send(c, subscribe_a);
  a.transport->take();
  send(a, R"({"type":"presence","topic":"room:a","id":1})");
  auto reply = parse(a.transport->take().at(0));
  CHECK(reply.at("truncated") == false);
  CHECK(reply.at("id") == 1);
  auto& clients = reply.at("clients").as_array();
  REQUIRE(clients.size() == 3);
  std::size_t with_user = 0;
  for (auto& c : clients)
    if (c.as_object().contains("user")) {
      CHECK(c.at("user") == "alice");
      ++with_user;
    }
  CHECK(with_user == 2);
  send(a, R"({"type":"presence_stats","topic":"room:a"})");
  CHECK(a.transport->take()
        == std::vector<std::string>{
          R"({"type":"presence_stats","topic":"room:a","clients":3,"users":1})"});
  disconnect(a2);
  send(a, R"({"type":"presence_stats","topic":"room:a"})");
  CHECK(parse(a.transport->take().at(0)).at("clients") == 2);
  send(a, R"({"type":"unsubscribe","topic":"room:a"})");
  send(anon, R"({"type":"presence_stats","topic":"room:a"})");
  CHECK(parse(anon.transport->take().back()).at("users") == 0);
  CHECK(hub_state_of(*this).stats.presence_queries == 4);
  // Nobody left: nothing is kept for the topic.
  send(anon, R"({"type":"unsubscribe","topic":"room:a"})");
  CHECK(hub_state_of(*this).presence.empty());
}

TEST_CASE("presence lists at most 1000 connections") {
  presence_fixture f;
  std::vector<hub_fixture::client> clients;
  for (std::size_t i = 0; i <= max_presence_listed; ++i) {
    clients.push_back(f.fresh());
    f.send(clients.back(), subscribe_a);
  }
  auto& c = clients.front();
  c.transport->take();
  f.send(c, R"({"type":"presence","topic":"room:a"})");
  auto reply = parse(c.transport->take().at(0));
  CHECK(reply.at("truncated") == true);
  CHECK(reply.at("clients").as_array().size() == max_presence_listed);
}

TEST_CASE_METHOD(presence_fixture, "join and leave reach the watchers, not the subject") {
  auto w = fresh();
  auto plain = fresh();
  watch(w);
  send(plain, subscribe_a); // does not ask for events
  auto s = fresh("bob");
  send(s, subscribe_a);
  send(s, subscribe_a); // a repeat is no join
  CHECK(w.transport->take()
        == std::vector<std::string>{event("join", plain.id), event("join", s.id, "bob")});
  s.transport->take();
  plain.transport->take();
  send(s, R"({"type":"unsubscribe","topic":"room:a"})");
  send(s, R"({"type":"unsubscribe","topic":"room:a"})"); // no longer in it: no leave
  CHECK(w.transport->take() == std::vector<std::string>{event("leave", s.id, "bob")});
  CHECK(plain.transport->take().empty());
  CHECK(hub_state_of(*this).stats.join_leave_sent == 3);
}

TEST_CASE("a leave goes out on every way a connection ends") {
  presence_fixture f;
  auto w = f.fresh();
  f.watch(w);
  auto s = f.fresh("carol");
  f.send(s, subscribe_a);
  f.send(s, R"({"type":"subscribe","topic":"t"})");
  CHECK(w.transport->take() == std::vector<std::string>{event("join", s.id, "carol")});
  SECTION("close") {
    f.disconnect(s);
  }
  SECTION("slow consumer") {
    s.transport->auto_complete = false;
    auto pub = f.fresh();
    for (int i = 0; i < 5; ++i)
      f.send(pub, R"({"type":"publish","topic":"t","data":1})");
    CHECK(f.exit_reason(s.writer) == make_error(exit_code::slow_consumer));
  }
  SECTION("heartbeat") {
    f.advance(1s);
    f.pong(w);
    f.advance(300ms);
    CHECK(f.exit_reason(s.reader) == make_error(exit_code::heartbeat_timeout));
    CHECK(f.alive(w.reader));
  }
  SECTION("kill") {
    caf::anon_send_exit(s.reader, caf::exit_reason::kill);
    f.run();
  }
  SECTION("the application closes it") {
    CHECK(f.request<bool>(close_connection{s.id, 4000, "bye"}) == true);
  }
  CHECK_FALSE(f.remembers(s));
  CHECK(w.transport->take() == std::vector<std::string>{event("leave", s.id, "carol")});
  CHECK(hub_state_of(f).presence.size() == 1);
}

TEST_CASE("past join-leave-max-subscribers no events are sent") {
  auto h = with_presence();
  h.join_leave_max_subscribers = 2;
  presence_fixture f{h};
  auto w = f.fresh();
  f.watch(w);
  auto s1 = f.fresh();
  f.send(s1, subscribe_a); // 2 subscribers: told
  auto s2 = f.fresh();
  f.send(s2, subscribe_a); // 3: not
  f.disconnect(s2);        // 3 while it leaves: not
  f.disconnect(s1);        // 2: told
  CHECK(w.transport->take()
        == std::vector<std::string>{event("join", s1.id), event("leave", s1.id)});
  CHECK(hub_state_of(f).stats.join_leave_suppressed == 2);
  CHECK(hub_state_of(f).stats.join_leave_sent == 2);
  // presence_stats still answers.
  f.send(w, R"({"type":"presence_stats","topic":"room:a"})");
  CHECK(parse(w.transport->take().at(0)).at("clients") == 1);
}
