// The public interface's server-side peers, deterministically: services,
// connection observers, close_connection, the authorizer hook, and the bound
// on what a server-side actor may leave unhandled.

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

/// A service that answers every message with {"echo":DATA} from its name.
service_actor::behavior_type echo_service(service_actor::pointer self, hub_actor hub,
                                          std::shared_ptr<std::vector<service_message>> got) {
  return {
    [self, hub, got](service_message& msg) {
      got->push_back(msg);
      self->request(hub, caf::infinite,
                    send_direct{msg.from, R"({"echo":)" + msg.data + "}",
                                "service:" + msg.service})
        .then([](bool) {});
    },
  };
}

connection_observer_actor::behavior_type
recorder(connection_observer_actor::pointer, std::shared_ptr<std::vector<connection_event>> got) {
  return {[got](connection_event& ev) { got->push_back(std::move(ev)); }};
}

/// An authorizer that answers from a list of allowed topics, or never.
struct authorizer_state {
  std::vector<std::string> allowed;
  std::vector<access_request> asked;
  bool silent = false;
};

authorizer_actor::behavior_type authorizer(authorizer_actor::pointer self,
                                           std::shared_ptr<authorizer_state> st) {
  return {
    [self, st](access_request& q) -> caf::result<bool> {
      st->asked.push_back(q);
      if (st->silent)
        return self->make_response_promise<bool>(); // never delivered
      return std::find(st->allowed.begin(), st->allowed.end(), q.topic)
             != st->allowed.end();
    },
  };
}

/// A listener that never gets to its mailbox: it blocks on nothing but is
/// only ever run when the test says so (see the backlog test).
topic_listener_actor::behavior_type counting_listener(topic_listener_actor::pointer,
                                                      std::shared_ptr<int> count) {
  return {[count](const topic_message&) { ++*count; }};
}

} // namespace

// -- services ------------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "a client reaches a service by name and gets its answer") {
  auto got = std::make_shared<std::vector<service_message>>();
  auto svc = spawn(echo_service, hub, got);
  REQUIRE(request<bool>(add_service{"echo", svc}) == true);
  auto c = connect("alice");
  c.transport->take();
  send(c, R"({"type":"send","to":"service:echo","data":{"q": 1},"id":"s1"})");
  REQUIRE(got->size() == 1);
  CHECK(got->at(0).service == "echo");
  CHECK(got->at(0).from == c.id);
  CHECK(got->at(0).user == "alice");
  CHECK(got->at(0).data == R"({"q": 1})");
  CHECK(c.transport->take()
        == std::vector<std::string>{R"({"type":"ack","id":"s1"})",
                                    R"({"type":"direct","from":"service:echo","data":{"echo":{"q": 1}}})"});
  // Unknown services are an error; the connection stays.
  send(c, R"({"type":"send","to":"service:nobody","data":1,"id":2})");
  auto err = parse(c.transport->take().at(0));
  CHECK(err.at("code") == "unknown_service");
  CHECK(err.at("id") == 2);
  CHECK(alive(c.reader));
  CHECK(stats().services == 1);
}

TEST_CASE_METHOD(hub_fixture, "service names are checked, taken once, and freed") {
  auto got = std::make_shared<std::vector<service_message>>();
  auto a = spawn(echo_service, hub, got);
  auto b = spawn(echo_service, hub, got);
  CHECK(request<bool>(add_service{"bad name!", a}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<bool>(add_service{std::string(65, 'x'), a}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<bool>(add_service{"svc", a}) == true);
  CHECK(request<bool>(add_service{"svc", a}) == true); // again: it is a's
  CHECK(request<bool>(add_service{"svc", b}) == false); // taken
  // Only the holder can remove it.
  tell(remove_service{"svc", b});
  CHECK(stats().services == 1);
  tell(remove_service{"svc", a});
  CHECK(stats().services == 0);
  CHECK(hub_state_of(*this).app_actors.empty()); // a holds nothing: no longer monitored
  // A service that exits frees its name.
  CHECK(request<bool>(add_service{"svc", b}) == true);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
  CHECK(stats().services == 0);
  CHECK(request<bool>(add_service{"svc", a}) == true);
}

TEST_CASE("clients cannot address services with a malformed name") {
  auto cmd = protocol::parse(R"({"type":"send","to":"service:a b","data":1})");
  REQUIRE(std::holds_alternative<client_error>(cmd));
  cmd = protocol::parse(R"({"type":"send","to":"svc:x","data":1})");
  REQUIRE(std::holds_alternative<client_error>(cmd));
  // (A user is addressed as "user:ID": tests/actors/protocol_test.cpp.)
  cmd = protocol::parse(R"({"type":"send","to":"service:ok.name-1_x","data":1})");
  REQUIRE(std::holds_alternative<client_send>(cmd));
  CHECK(std::get<client_send>(cmd).service == "ok.name-1_x");
}

// -- observers -----------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "observers see every connection join and leave") {
  auto got = std::make_shared<std::vector<connection_event>>();
  auto obs = spawn(recorder, got);
  tell(add_observer{obs});
  auto a = connect("ann");
  auto b = connect();
  disconnect(a, exit_code::socket_closed);
  REQUIRE(got->size() == 3);
  CHECK(got->at(0).kind == connection_event::joined);
  CHECK(got->at(0).conn == a.id);
  CHECK(got->at(0).user == "ann");
  CHECK(got->at(1).kind == connection_event::joined);
  CHECK(got->at(1).conn == b.id);
  CHECK(got->at(1).user.empty());
  CHECK(got->at(2).kind == connection_event::left);
  CHECK(got->at(2).conn == a.id);
  CHECK(got->at(2).reason == "socket_closed");
  tell(remove_observer{obs});
  connect();
  CHECK(got->size() == 3);
  CHECK(hub_state_of(*this).app_actors.empty());
}

// -- close_connection ----------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "an application closes a connection with its own code, "
                              "after what was queued") {
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"t"})");
  c.transport->take();
  c.transport->auto_complete = false;
  REQUIRE(request<std::uint64_t>(publication{"t", "1"}) == std::uint64_t{1});
  REQUIRE(request<std::uint64_t>(publication{"t", "2"}) == std::uint64_t{1});
  CHECK(request<bool>(close_connection{c.id, 4001, "kicked"}) == true);
  REQUIRE(alive(c.writer)); // its frames go first
  c.transport->complete_write();
  run();
  c.transport->complete_write();
  run();
  CHECK(c.transport->take()
        == std::vector<std::string>{protocol::message(R"("t")", "1"),
                                    protocol::message(R"("t")", "2")});
  CHECK_FALSE(alive(c.writer));
  CHECK_FALSE(alive(c.reader));
  CHECK(c.transport->closed == exit_code::disconnected);
  CHECK(c.transport->close_code == 4001);
  CHECK(c.transport->close_text == "kicked");
  CHECK_FALSE(remembers(c));
  CHECK(stats().disconnects.at("disconnected") == 1);
}

TEST_CASE_METHOD(hub_fixture, "close_connection refuses bad codes and unknown ids") {
  auto c = connect();
  for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 2999, 5000})
    CHECK(request<bool>(close_connection{c.id, bad, ""}).error()
          == make_error(hub_errc::invalid_argument));
  CHECK(request<bool>(close_connection{c.id, 1000, std::string(124, 'x')}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<bool>(close_connection{c.id, 1000, "\xff"}).error()
        == make_error(hub_errc::invalid_argument));
  CHECK(request<bool>(close_connection{c.id + 1, 1000, ""}) == false);
  CHECK(alive(c.reader));
}

// -- authorizer ----------------------------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "the authorizer decides subscribes and publishes, in order "
                              "with the other commands") {
  auto st = std::make_shared<authorizer_state>();
  st->allowed = {"open"};
  auto auth = spawn(authorizer, st);
  tell(set_authorizer{auth, 1s, false});
  auto c = connect("bob");
  c.transport->take();
  // A burst: the first subscribe waits for its answer, and everything after
  // it (even commands that need no answer) waits behind it.
  caf::anon_send(c.reader, std::string{R"({"type":"subscribe","topic":"open","id":1})"});
  caf::anon_send(c.reader, std::string{R"({"type":"unsubscribe","topic":"x","id":2})"});
  caf::anon_send(c.reader, std::string{R"({"type":"subscribe","topic":"closed","id":3})"});
  caf::anon_send(c.reader,
                 std::string{R"({"type":"publish","topic":"open","data":7,"id":4})"});
  caf::anon_send(c.reader,
                 std::string{R"({"type":"publish","topic":"closed","data":8,"id":5})"});
  run();
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 6);
  CHECK(frames[0] == R"({"type":"subscribed","topic":"open","id":1})");
  CHECK(frames[1] == R"({"type":"unsubscribed","topic":"x","id":2})");
  auto denied = parse(frames[2]);
  CHECK(denied.at("code") == "forbidden");
  CHECK(denied.at("id") == 3);
  CHECK(frames[3] == protocol::message(R"("open")", "7")); // it is subscribed
  CHECK(frames[4] == R"({"type":"ack","id":4})");
  CHECK(parse(frames[5]).at("code") == "forbidden");
  REQUIRE(st->asked.size() == 4);
  CHECK(st->asked[0].conn == c.id);
  CHECK(st->asked[0].user == "bob");
  CHECK(st->asked[0].what == access::subscribe);
  CHECK(st->asked[2].what == access::publish);
  CHECK(st->asked[2].topic == "open");
  CHECK(stats().rejections.at("forbidden") == 2);
  // Every command gave its read credit back.
  CHECK(c.transport->consumed_count == 5);
}

TEST_CASE_METHOD(hub_fixture, "an authorizer that does not answer counts as the default") {
  auto st = std::make_shared<authorizer_state>();
  st->silent = true;
  auto auth = spawn(authorizer, st);
  tell(set_authorizer{auth, 500ms, false});
  auto c = connect();
  c.transport->take();
  send(c, R"({"type":"subscribe","topic":"a","id":1})");
  send(c, R"({"type":"unsubscribe","topic":"a","id":2})");
  CHECK(c.transport->take().empty()); // both wait for the answer
  CHECK(c.transport->consumed_count == 0);
  advance(499ms);
  CHECK(c.transport->take().empty());
  advance(1ms);
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 2);
  CHECK(parse(frames[0]).at("code") == "forbidden");
  CHECK(frames[1] == R"({"type":"unsubscribed","topic":"a","id":2})");
  // With default_allow the same silence lets the command through.
  tell(set_authorizer{auth, 500ms, true});
  send(c, R"({"type":"subscribe","topic":"b","id":3})");
  advance(500ms);
  CHECK(c.transport->take()
        == std::vector<std::string>{R"({"type":"subscribed","topic":"b","id":3})"});
  // Removing the authorizer: no more questions.
  tell(set_authorizer{});
  send(c, R"({"type":"subscribe","topic":"c","id":4})");
  CHECK(c.transport->take().size() == 1);
  CHECK(st->asked.size() == 2);
}

TEST_CASE_METHOD(hub_fixture, "a connection that leaves while its command waits leaves "
                              "no trace") {
  auto st = std::make_shared<authorizer_state>();
  st->silent = true;
  auto auth = spawn(authorizer, st);
  tell(set_authorizer{auth, 1s, true});
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"a"})");
  send(c, R"({"type":"publish","topic":"a","data":1})");
  disconnect(c);
  CHECK_FALSE(remembers(c));
  advance(1s); // the answer's timeout finds no connection
  CHECK_FALSE(remembers(c));
  CHECK(hub_state_of(*this).topics.size() == 0);
}

// -- bounded delivery ----------------------------------------------------------------------

TEST_CASE("a listener more than actor_backlog deliveries behind is dropped") {
  hub_settings h;
  h.actor_backlog = 3;
  hub_fixture f{{}, h};
  auto count = std::make_shared<int>(0);
  auto slow = f.spawn(counting_listener, count);
  auto fine = f.spawn(counting_listener, std::make_shared<int>(0));
  auto slow_actor = caf::actor_cast<caf::actor>(slow);
  REQUIRE(f.request<bool>(add_listener{"t", slow}) == true);
  REQUIRE(f.request<bool>(add_listener{"u", slow}) == true);
  REQUIRE(f.request<bool>(add_listener{"t", fine}) == true);
  // Publishes from a probe, with only the hub running: the slow listener's
  // mailbox fills (the fine one is kept up by hand).
  caf::scoped_actor probe{f.sys};
  for (int i = 0; i < 4; ++i) {
    probe->send(f.hub, publication{"t", std::to_string(i)});
    while (f.sched.prioritize(caf::actor_cast<caf::actor>(f.hub)) && f.sched.try_run_once()) {
    }
    if (auto fine_actor = caf::actor_cast<caf::actor>(fine); f.sched.prioritize(fine_actor))
      f.sched.run_once();
  }
  f.run();
  // Three unhandled deliveries were its bound; the fourth dropped it.
  CHECK(*count == 3);
  CHECK_FALSE(f.alive(slow_actor));
  CHECK(f.exit_reason(slow_actor) == make_error(exit_code::slow_listener));
  CHECK(f.stats().slow_listeners == 1);
  CHECK(f.stats().listeners == 1);            // the fine one
  CHECK(hub_state_of(f).topics.find("u") == nullptr); // all of its topics
  CHECK(f.request<std::uint64_t>(publication{"t", "9"}) == std::uint64_t{1});
}
