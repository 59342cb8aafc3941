// The reader/writer pair on virtual time: heartbeat, slow consumers and
// transport failures, and that every exit leaves the hub without a trace.

#include "connection/connection.hpp"
#include "testing/fake_transport.hpp"
#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;

namespace {

connection_settings short_timers() {
  connection_settings s;
  s.ping_interval = 1s;
  s.pong_timeout = 300ms;
  return s;
}

connection_settings bounded(std::size_t frames, std::size_t bytes) {
  connection_settings s;
  s.send_queue_frames = frames;
  s.send_buffer_bytes = bytes;
  return s;
}

const std::string subscribe_t = R"({"type":"subscribe","topic":"t"})";

std::string publish_t(int i) {
  return R"({"type":"publish","topic":"t","data":"payload-)" + std::to_string(i)
         + R"("})";
}

std::string message_t(int i) {
  return protocol::message(R"("t")", "\"payload-" + std::to_string(i) + "\"");
}

/// The pair exited with `code`, told its transport, and the hub forgot it.
void check_gone(hub_fixture& f, const hub_fixture::client& c, exit_code code) {
  INFO("expected exit: " << to_string(code));
  CHECK_FALSE(f.alive(c.reader));
  CHECK_FALSE(f.alive(c.writer));
  CHECK(f.exit_reason(c.reader) == make_error(code));
  CHECK(f.exit_reason(c.writer) == make_error(code));
  CHECK(c.transport->closed == code);
  CHECK_FALSE(f.remembers(c));
  CHECK(hub_state_of(f).stats.disconnects[to_string(code)] == 1);
}

} // namespace

// -- heartbeat --------------------------------------------------------------------

TEST_CASE("the writer pings at every interval and pongs keep the pair alive") {
  hub_fixture f{short_timers()};
  auto c = f.connect();
  f.advance(1s - 1ns);
  CHECK(c.transport->pings == 0);
  f.advance(1ns);
  CHECK(c.transport->pings == 1);
  for (std::size_t i = 1; i <= 10; ++i) {
    f.advance(100ms);
    caf::anon_send(c.reader, alive_atom::value);
    f.run(); // now: left in the mailbox, it would be stamped at the next timer
    f.advance(900ms); // past this ping's deadline, up to the next ping
    CHECK(c.transport->pings == i + 1);
    REQUIRE(f.alive(c.reader));
  }
  CHECK(c.transport->closed == std::nullopt);
  CHECK(f.remembers(c));
  // Ping 11 went out just now and no pong follows: the deadline decides.
  f.advance(300ms - 1ns);
  REQUIRE(f.alive(c.reader));
  REQUIRE(f.alive(c.writer));
  f.advance(1ns);
  check_gone(f, c, exit_code::heartbeat_timeout);
  CHECK(c.transport->pings == 11);
}

TEST_CASE("data frames count as liveness for a client that never pongs") {
  hub_fixture f{short_timers()};
  auto c = f.connect();
  f.advance(1s);
  for (std::size_t i = 1; i <= 10; ++i) {
    f.advance(299ms);
    f.send(c, subscribe_t); // just before the deadline
    f.advance(701ms);
    REQUIRE(f.alive(c.reader));
  }
  CHECK(c.transport->pings == 11);
  f.advance(299ms);
  f.send(c, subscribe_t); // answers ping 11
  // Activity before a ping does not answer it.
  f.advance(701ms - 1ns);
  f.send(c, subscribe_t);
  f.advance(1ns);
  CHECK(c.transport->pings == 12);
  f.advance(300ms - 1ns);
  REQUIRE(f.alive(c.reader));
  f.advance(1ns);
  check_gone(f, c, exit_code::heartbeat_timeout);
}

TEST_CASE("a client that stays silent from the start times out after one ping") {
  hub_fixture f{short_timers()};
  auto c = f.connect();
  auto other = f.connect();
  // One step across the ping: its deadline still counts from the ping.
  f.advance(1s + 300ms - 1ns);
  CHECK(f.alive(c.reader));
  f.advance(1ns);
  CHECK_FALSE(f.alive(c.reader));
  CHECK_FALSE(f.alive(other.reader));
  CHECK(hub_state_of(f).stats.disconnects.at("heartbeat_timeout") == 2);
  CHECK(hub_state_of(f).connections.empty());
}

// -- slow consumer ----------------------------------------------------------------
// The bound is the writer's outbound_policy, the class the node's sessions
// use: the fake socket keeps no rule of its own, so these are the product's
// decisions.

TEST_CASE("a client past the frame bound is cut off while others get everything") {
  hub_fixture f{bounded(4, 1 << 20)};
  auto pub = f.connect();
  auto slow = f.connect();
  auto fast = f.connect();
  f.send(slow, subscribe_t);
  f.send(fast, subscribe_t);
  fast.transport->delivered.clear();
  slow.transport->delivered.clear();
  slow.transport->auto_complete = false;
  for (int i = 1; i <= 4; ++i) {
    f.send(pub, publish_t(i));
    REQUIRE(f.alive(slow.writer));
  }
  CHECK(slow.transport->in_flight.size() == 4); // queued, none written
  f.send(pub, publish_t(5)); // the fifth would pass the bound
  check_gone(f, slow, exit_code::slow_consumer);
  CHECK(slow.transport->delivered.empty());
  for (int i = 6; i <= 20; ++i)
    f.send(pub, publish_t(i));
  auto got = fast.transport->take();
  REQUIRE(got.size() == 20);
  for (int i = 1; i <= 20; ++i)
    CHECK(got[i - 1] == message_t(i));
  CHECK(hub_state_of(f).topics.find("t")->subscribers.size() == 1);
}

TEST_CASE("a client past the byte bound is cut off, one reaching it is not") {
  // The bound counts whole frames: payload and WebSocket header (2 bytes).
  auto size = message_t(1).size() + 2;
  hub_fixture f{bounded(1000, 3 * size)};
  auto pub = f.connect();
  auto slow = f.connect();
  auto fast = f.connect();
  f.send(slow, subscribe_t);
  f.send(fast, subscribe_t);
  slow.transport->auto_complete = false;
  for (int i = 1; i <= 3; ++i) {
    f.send(pub, publish_t(i));
    REQUIRE(f.alive(slow.writer));
  }
  CHECK(slow.transport->in_flight.size() == 3);
  f.send(pub, publish_t(4));
  check_gone(f, slow, exit_code::slow_consumer);
  fast.transport->delivered.clear();
  f.send(pub, publish_t(5));
  CHECK(fast.transport->take() == std::vector<std::string>{message_t(5)});
}

TEST_CASE("a batch that would pass the bound is refused whole, and nothing is taken after it") {
  hub_fixture f{bounded(4, 1 << 20)};
  auto pub = f.connect();
  auto slow = f.connect();
  f.send(slow, subscribe_t);
  slow.transport->delivered.clear();
  slow.transport->auto_complete = false;
  for (int i = 1; i <= 3; ++i)
    f.send(pub, publish_t(i));
  REQUIRE(slow.transport->in_flight.size() == 3);
  auto writes = slow.transport->writes;
  // Two publishes in one round: one batch of two frames, one more than the
  // bound has room for. Neither is taken (not even the one that would fit).
  caf::anon_send(pub.reader, publish_t(4));
  caf::anon_send(pub.reader, publish_t(5));
  f.run();
  CHECK(slow.transport->writes == writes);
  CHECK(slow.transport->in_flight.size() == 3);
  check_gone(f, slow, exit_code::slow_consumer);
  // Cut off: the socket catching up brings nothing more.
  slow.transport->complete_write();
  f.send(pub, publish_t(6));
  CHECK(slow.transport->writes == writes);
  CHECK(slow.transport->delivered.size() == 3);
}

TEST_CASE("frames count against the bound until they are written") {
  hub_fixture f{bounded(4, 1 << 20)};
  auto pub = f.connect();
  auto c = f.connect();
  f.send(c, subscribe_t);
  c.transport->delivered.clear();
  c.transport->auto_complete = false;
  for (int i = 1; i <= 4; ++i)
    f.send(pub, publish_t(i));
  CHECK(c.transport->in_flight.size() == 4);
  // Written: room for four more, none per write asked of the writer.
  c.transport->complete_write();
  f.run();
  for (int i = 5; i <= 8; ++i)
    f.send(pub, publish_t(i));
  REQUIRE(f.alive(c.writer));
  c.transport->complete_write();
  f.run();
  auto got = c.transport->take();
  REQUIRE(got.size() == 8);
  for (int i = 1; i <= 8; ++i)
    CHECK(got[i - 1] == message_t(i));
  CHECK(hub_state_of(f).stats.disconnects.empty());
}

// -- transport failures -------------------------------------------------------------

TEST_CASE("a failed write ends the pair with socket_error") {
  hub_fixture f;
  auto pub = f.connect();
  auto c = f.connect();
  f.send(c, subscribe_t);
  c.transport->auto_complete = false;
  f.send(pub, publish_t(1));
  REQUIRE(c.transport->in_flight.size() == 1);
  c.transport->complete_write(false);
  f.run();
  check_gone(f, c, exit_code::socket_error);
  CHECK(hub_state_of(f).topics.size() == 0);
  CHECK(f.alive(pub.reader));
}

TEST_CASE("a closed socket ends the pair with the reason it names") {
  auto code = GENERATE(exit_code::socket_closed, exit_code::protocol_error);
  hub_fixture f{short_timers()};
  auto c = f.connect();
  f.send(c, subscribe_t);
  caf::anon_send(c.reader, closed_atom::value, static_cast<std::uint8_t>(code));
  f.run();
  check_gone(f, c, code);
  CHECK(hub_state_of(f).topics.size() == 0);
  // Its timers fire into the void.
  f.advance(5s);
  CHECK(c.transport->pings == 0);
  CHECK(hub_state_of(f).stats.disconnects.size() == 1);
}

TEST_CASE("a close code off the list ends the pair with socket_error") {
  // Code 0 would be a normal exit, which links do not pass on: the writer and
  // its socket would outlive the reader.
  auto code = GENERATE(std::uint8_t{0}, std::uint8_t{42});
  hub_fixture f;
  auto c = f.connect();
  caf::anon_send(c.reader, closed_atom::value, code);
  f.run();
  check_gone(f, c, exit_code::socket_error);
}

TEST_CASE_METHOD(hub_fixture, "the read credit comes back once the hub handled the command") {
  auto c = connect();
  auto before = c.transport->consumed_count;
  caf::anon_send(c.reader, std::string{R"({"type":"subscribe","topic":"t"})"});
  // Only the reader runs: the command now waits in the hub's mailbox, and the
  // transport must not read more on its behalf yet.
  REQUIRE(sched.prioritize(c.reader));
  sched.run_once();
  CHECK(c.transport->consumed_count == before);
  run();
  CHECK(c.transport->consumed_count == before + 1);
  CHECK(hub_state_of(*this).topics.find("t") != nullptr);
}

// -- heartbeat while the node is behind ------------------------------------------------

namespace {

/// Stands in for a hub that is far behind: it takes commands and answers
/// none until told to (`(drain_atom)` answers everything held).
caf::behavior busy_hub(caf::event_based_actor* self) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {
    [](enroll_atom, const reader_actor&, const writer_actor&, const transport_ptr&,
       const std::string&, const topic_filter&) {},
    [self, held](client_subscribe&) { held->push_back(self->make_response_promise()); },
    [held](drain_atom) {
      for (auto& p : *held)
        p.deliver(caf::unit);
      held->clear();
    },
  };
}

} // namespace

TEST_CASE("a client whose commands wait on the hub is not reaped for its silence") {
  hub_fixture f{short_timers()};
  auto slow_hub = f.spawn(busy_hub);
  auto socket = std::make_shared<testing::fake_socket>();
  auto settings = std::make_shared<const connection_settings>(f.settings);
  auto transport = testing::make_fake_transport(socket, settings);
  auto pair = spawn_connection(f.sys, caf::actor_cast<hub_internal_actor>(slow_hub), transport,
                               settings);
  auto reader = caf::actor_cast<caf::actor>(pair.reader);
  f.run();
  // The client sends a command; the hub sits on it, so (read credit) its
  // pongs would not be read: nothing reaches the reader from now on.
  caf::anon_send(reader, subscribe_t);
  f.run();
  f.advance(1s + 300ms); // ping, and its deadline
  CHECK(socket->pings == 1);
  f.advance(5s);
  REQUIRE(f.alive(reader));
  // The hub catches up at t0: the client gets a whole pong-timeout of reading.
  caf::anon_send(slow_hub, drain_atom::value);
  f.run();
  CHECK(socket->consumed_count == 1);
  f.advance(299ms);
  REQUIRE(f.alive(reader));
  // Its pong (read now that the transport reads again) answers the ping.
  caf::anon_send(reader, alive_atom::value);
  f.run();
  f.advance(1ms);
  REQUIRE(f.alive(reader));
  // With the hub caught up, silence after a ping is judged as usual: the
  // ping at t = 7 s is not answered by its deadline.
  f.advance(700ms - 1ns);
  REQUIRE(f.alive(reader));
  f.advance(1ns);
  CHECK_FALSE(f.alive(reader));
  CHECK(f.exit_reason(reader) == make_error(exit_code::heartbeat_timeout));
  CHECK(socket->closed == exit_code::heartbeat_timeout);
}
