// The hub's server-API operations, deterministically: broadcast, the user
// index (send to a user, disconnect a user, a client's send to "user:ID"),
// and the queries of topics and connections.

#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

std::string subscribe(const std::string& topic) {
  return R"({"type":"subscribe","topic":)" + protocol::quote(topic) + "}";
}

json::object parse(const std::string& frame) {
  INFO(frame);
  return json::parse(frame).as_object();
}

topic_listener_actor::behavior_type quiet_listener(topic_listener_actor::pointer) {
  return {[](const topic_message&) {}};
}

// The connections the hub's user index lists for `user`.
std::set<conn_id> indexed(hub_fixture& f, const std::string& user) {
  std::set<conn_id> result;
  for (auto c = first_of_user(hub_state_of(f), user); c != nullptr; c = c->user_next)
    result.insert(c->id);
  return result;
}

} // namespace

// -- broadcast --------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "broadcast publishes once per topic and counts per topic") {
  auto a = connect();
  auto b = connect();
  send(a, subscribe("x"));
  send(b, subscribe("x"));
  send(b, subscribe("y"));
  a.transport->take();
  b.transport->take();
  auto counts = request<delivery_counts>(broadcast{{"x", "y", "z", "x"}, R"({"n": 1.0})"});
  REQUIRE(counts);
  CHECK(*counts == delivery_counts{{"x", 2}, {"y", 1}, {"z", 0}});
  CHECK(a.transport->take()
        == std::vector<std::string>{protocol::message(R"("x")", R"({"n": 1.0})")});
  CHECK(b.transport->take()
        == std::vector<std::string>{protocol::message(R"("x")", R"({"n": 1.0})"),
                                    protocol::message(R"("y")", R"({"n": 1.0})")});
}

TEST_CASE_METHOD(hub_fixture, "broadcast checks everything before it publishes anything") {
  auto a = connect();
  send(a, subscribe("x"));
  a.transport->take();
  CHECK(request<delivery_counts>(broadcast{{"x", ""}, "1"}).error()
        == make_error(hub_errc::invalid_topic));
  CHECK(request<delivery_counts>(broadcast{{"x", std::string(257, 't')}, "1"}).error()
        == make_error(hub_errc::invalid_topic));
  CHECK(request<delivery_counts>(broadcast{{}, "1"}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<delivery_counts>(broadcast{{"x"}, "{"}).error()
        == make_error(hub_errc::invalid_data));
  CHECK(a.transport->take().empty());
  // A client with a frame in flight keeps the stopping hub up.
  a.transport->auto_complete = false;
  REQUIRE(request<std::uint64_t>(publication{"x", "0"}) == std::uint64_t{1});
  request_stop();
  CHECK(request<delivery_counts>(broadcast{{"x"}, "1"}).error()
        == make_error(hub_errc::shutting_down));
}

// -- users ------------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "send_to_user reaches every connection of that user only") {
  auto a1 = connect("alice");
  auto a2 = connect("alice");
  auto b = connect("bob");
  auto anon = connect();
  for (auto* c : {&a1, &a2, &b, &anon})
    c->transport->take();
  CHECK(request<std::uint64_t>(send_to_user{"alice", R"({"hi": 1})"}) == std::uint64_t{2});
  auto expected = std::vector<std::string>{protocol::direct(0, R"({"hi": 1})")};
  CHECK(a1.transport->take() == expected);
  CHECK(a2.transport->take() == expected);
  CHECK(b.transport->take().empty());
  CHECK(anon.transport->take().empty());
  // As a service would answer.
  CHECK(request<std::uint64_t>(send_to_user{"bob", "2", "service:svc"}) == std::uint64_t{1});
  CHECK(b.transport->take()
        == std::vector<std::string>{protocol::direct(R"("service:svc")", "2")});
  CHECK(request<std::uint64_t>(send_to_user{"carol", "1"}) == std::uint64_t{0});
  CHECK(request<std::uint64_t>(send_to_user{"", "1"}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<std::uint64_t>(send_to_user{std::string(257, 'u'), "1"}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<std::uint64_t>(send_to_user{"alice", "nope"}).error()
        == make_error(hub_errc::invalid_data));
  // A client with a frame in flight keeps the stopping hub up.
  a1.transport->auto_complete = false;
  REQUIRE(request<std::uint64_t>(send_to_user{"alice", "0"}) == std::uint64_t{2});
  request_stop();
  CHECK(request<std::uint64_t>(send_to_user{"alice", "1"}).error()
        == make_error(hub_errc::shutting_down));
}

TEST_CASE_METHOD(hub_fixture, "the user index follows every join and leave") {
  auto a1 = connect("alice");
  auto a2 = connect("alice");
  auto a3 = connect("alice");
  auto b = connect("bob");
  auto anon = connect();
  CHECK(indexed(*this, "alice") == std::set<conn_id>{a1.id, a2.id, a3.id});
  CHECK(indexed(*this, "bob") == std::set<conn_id>{b.id});
  CHECK(hub_state_of(*this).users.size() == 2); // anonymous connections are not indexed
  // The middle of the list, its head (the newest), then the last one.
  disconnect(a2);
  CHECK(indexed(*this, "alice") == std::set<conn_id>{a1.id, a3.id});
  disconnect(a3);
  CHECK(indexed(*this, "alice") == std::set<conn_id>{a1.id});
  auto a4 = connect("alice");
  CHECK(indexed(*this, "alice") == std::set<conn_id>{a1.id, a4.id});
  disconnect(a1);
  disconnect(a4);
  CHECK(hub_state_of(*this).users.count("alice") == 0);
  CHECK(request<std::uint64_t>(send_to_user{"alice", "1"}) == std::uint64_t{0});
  disconnect(b);
  disconnect(anon);
  CHECK(hub_state_of(*this).users.empty());
  CHECK(hub_state_of(*this).connections.empty());
}

TEST_CASE_METHOD(hub_fixture, "disconnect_user closes every connection of the user") {
  auto a1 = connect("alice");
  auto a2 = connect("alice");
  auto b = connect("bob");
  CHECK(request<std::uint64_t>(disconnect_user{"alice", 4001, "bye"}) == std::uint64_t{2});
  for (auto* c : {&a1, &a2}) {
    CHECK_FALSE(alive(c->writer));
    CHECK_FALSE(alive(c->reader));
    CHECK(c->transport->closed == exit_code::disconnected);
    CHECK(c->transport->close_code == 4001);
    CHECK(c->transport->close_text == "bye");
    CHECK_FALSE(remembers(*c));
  }
  CHECK(alive(b.reader));
  CHECK(hub_state_of(*this).users.count("alice") == 0);
  CHECK(request<std::uint64_t>(disconnect_user{"alice", 1000, ""}) == std::uint64_t{0});
  CHECK(request<std::uint64_t>(disconnect_user{"bob", 1005, ""}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<std::uint64_t>(disconnect_user{"bob", 1000, std::string(124, 'x')}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<std::uint64_t>(disconnect_user{"", 1000, ""}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(alive(b.reader));
  CHECK(stats().disconnects["disconnected"] == 2);
}

TEST_CASE_METHOD(hub_fixture, "a client sends to every connection of a user") {
  auto a1 = connect("alice");
  auto a2 = connect("alice");
  auto c = connect();
  for (auto* x : {&a1, &a2, &c})
    x->transport->take();
  send(c, R"({"type":"send","to":"user:alice","data":{"x": 1},"id":7})");
  auto expected = std::vector<std::string>{protocol::direct(c.id, R"({"x": 1})")};
  CHECK(a1.transport->take() == expected);
  CHECK(a2.transport->take() == expected);
  CHECK(c.transport->take() == std::vector<std::string>{R"({"type":"ack","id":7})"});
  // A user with no connection is an error, as an unknown connection is.
  send(c, R"({"type":"send","to":"user:carol","data":1,"id":8})");
  auto err = parse(c.transport->take().at(0));
  CHECK(err.at("code") == "unknown_user");
  CHECK(err.at("id") == 8);
  CHECK(alive(c.reader));
  // The sender is reached too when it is one of the user's connections.
  send(a1, R"({"type":"send","to":"user:alice","data":2})");
  expected = {protocol::direct(a1.id, "2")};
  CHECK(a1.transport->take() == expected);
  CHECK(a2.transport->take() == expected);
}

TEST_CASE("a client's send to a user is refused with --client-send=off") {
  hub_settings limits;
  limits.client_send = false;
  hub_fixture f{connection_settings{}, limits};
  auto a = f.connect("alice");
  auto c = f.connect();
  a.transport->take();
  c.transport->take();
  f.send(c, R"({"type":"send","to":"user:alice","data":1})");
  CHECK(parse(c.transport->take().at(0)).at("code") == "forbidden");
  CHECK(a.transport->take().empty());
  // The server side still can.
  CHECK(f.request<std::uint64_t>(send_to_user{"alice", "1"}) == std::uint64_t{1});
}

// -- queries ----------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "query_topics lists names and counts, by prefix, bounded") {
  auto a = connect();
  auto b = connect();
  for (auto t : {"news/a", "news/b", "sport"})
    send(a, subscribe(t));
  send(b, subscribe("news/a"));
  auto listener = spawn(quiet_listener);
  REQUIRE(request<bool>(add_listener{"news/a", listener}) == true);
  auto all = request<topic_list>(query_topics{});
  REQUIRE(all);
  CHECK(all->total == 3);
  CHECK_FALSE(all->truncated);
  REQUIRE(all->topics.size() == 3);
  for (auto& t : all->topics) {
    if (t.name == "news/a") {
      CHECK(t.subscribers == 2);
      CHECK(t.listeners == 1);
    } else {
      CHECK(t.subscribers == 1);
      CHECK(t.listeners == 0);
    }
  }
  auto news = request<topic_list>(query_topics{"news/", 100});
  REQUIRE(news);
  CHECK(news->topics.size() == 2);
  CHECK(news->total == 3);
  CHECK_FALSE(news->truncated);
  auto one = request<topic_list>(query_topics{"news/", 1});
  REQUIRE(one);
  CHECK(one->topics.size() == 1);
  CHECK(one->topics[0].name.rfind("news/", 0) == 0);
  CHECK(one->truncated);
  auto none = request<topic_list>(query_topics{"weather", 10});
  REQUIRE(none);
  CHECK(none->topics.empty());
  CHECK_FALSE(none->truncated);
}

TEST_CASE("query_topics never lists more than max_topics_listed") {
  connection_settings unlimited;
  unlimited.client_rate = 0;
  hub_settings limits;
  limits.max_topics_per_connection = 2000;
  hub_fixture f{unlimited, limits};
  auto a = f.connect();
  for (std::uint32_t i = 0; i <= max_topics_listed; ++i)
    f.send(a, subscribe("t" + std::to_string(i)));
  auto list = f.request<topic_list>(query_topics{"", 5000});
  REQUIRE(list);
  CHECK(list->total == max_topics_listed + 1);
  CHECK(list->topics.size() == max_topics_listed);
  CHECK(list->truncated);
}

TEST_CASE_METHOD(hub_fixture, "query_topic answers one topic's counts, or not_found") {
  auto a = connect();
  send(a, subscribe("a/b c"));
  auto listener = spawn(quiet_listener);
  REQUIRE(request<bool>(add_listener{"only-listened", listener}) == true);
  auto t = request<topic_info>(query_topic{"a/b c"});
  REQUIRE(t);
  CHECK(t->name == "a/b c");
  CHECK(t->subscribers == 1);
  CHECK(t->listeners == 0);
  auto l = request<topic_info>(query_topic{"only-listened"});
  REQUIRE(l);
  CHECK(l->subscribers == 0);
  CHECK(l->listeners == 1);
  CHECK(request<topic_info>(query_topic{"nobody"}).error()
        == make_error(hub_errc::not_found));
  // A topic lives only while someone is on it.
  send(a, R"({"type":"unsubscribe","topic":"a/b c"})");
  CHECK(request<topic_info>(query_topic{"a/b c"}).error()
        == make_error(hub_errc::not_found));
}

TEST_CASE_METHOD(hub_fixture, "query_connection answers id, user, topics and age") {
  auto before = caf::make_timestamp().time_since_epoch();
  auto a = connect("alice");
  send(a, subscribe("x"));
  send(a, subscribe("y"));
  advance(3s);
  auto info = request<connection_info>(query_connection{a.id});
  REQUIRE(info);
  CHECK(info->id == a.id);
  CHECK(info->user == "alice");
  CHECK(std::set<std::string>(info->topics.begin(), info->topics.end())
        == std::set<std::string>{"x", "y"});
  CHECK(info->age == caf::timespan{3s});
  // Wall-clock: the real time minus the (virtual) age.
  auto after = caf::make_timestamp().time_since_epoch();
  CHECK(info->connected_since >= before - caf::timespan{3s});
  CHECK(info->connected_since <= after - caf::timespan{3s});
  auto anon = connect();
  auto other = request<connection_info>(query_connection{anon.id});
  REQUIRE(other);
  CHECK(other->user.empty());
  CHECK(other->topics.empty());
  CHECK(other->age == caf::timespan{0});
  disconnect(a);
  CHECK(request<connection_info>(query_connection{a.id}).error()
        == make_error(hub_errc::not_found));
}
