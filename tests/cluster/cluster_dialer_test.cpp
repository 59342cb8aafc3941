// The middleman actor a cluster actor dials through is the one the node
// started it with (CAF's plain one, or the OpenSSL module's for cluster
// TLS: net/node/node.cpp chooses), and a dial whose handshake fails is said
// once until the peer joins.

#include "cluster_fixture.hpp"

using namespace cluster_testing;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// A middleman actor that counts the connects it is asked for and answers
// them with `answer` (the planet's own middleman actor: a relay; an error:
// a handshake that failed, as CAF reports one).
caf::behavior dialer(caf::event_based_actor* self, std::shared_ptr<int> connects,
                     caf::io::middleman_actor relay, caf::error answer) {
  return {
    [=](caf::connect_atom atm, std::string& host, std::uint16_t port)
      -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
      ++*connects;
      if (answer)
        return answer;
      return self->delegate(relay, atm, std::move(host), port);
    },
  };
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster: peers are dialed through the middleman actor it was given") {
  auto connects = std::make_shared<int>(0);
  auto relay = caf::actor_cast<caf::io::middleman_actor>(
    mars.sys.spawn(dialer, connects, mars.sys.middleman().actor_handle(), caf::error{}));
  auto& a = start(earth, "earth", 8000);
  open_route(a, mars);
  auto& b = start(mars, "mars", 8001, {"earth:8000"}, 10000, relay);
  settle();
  CHECK(*connects == 1);
  CHECK(b.members() == 1);
  CHECK(a.members() == 1);
  caf::anon_send_exit(relay, caf::exit_reason::kill);
}

TEST_CASE_METHOD(fixture, "cluster: a failed handshake is a warning once until the peer joins") {
  auto connects = std::make_shared<int>(0);
  auto failing = caf::actor_cast<caf::io::middleman_actor>(
    mars.sys.spawn(dialer, connects, caf::io::middleman_actor{},
                   caf::make_error(caf::sec::disconnect_during_handshake)));
  auto& b = start(mars, "mars", 8001, {"earth:8000"}, 10000, failing);
  settle();
  auto warning = "warning cluster: cannot join address=earth:8000 reason=";
  CHECK(count(log_text(), warning) == 1);
  CHECK(count(log_text(), "disconnect_during_handshake") == 1);
  mars.sched.trigger_timeouts();
  settle();
  // Dialed again, failed the same way: a debug line, no second warning.
  CHECK(*connects == 2);
  CHECK(count(log_text(), warning) == 1);
  CHECK(count(log_text(), "debug cluster: dial failed address=earth:8000") == 1);
  CHECK(b.members() == 0);
  CHECK(!b.peer("earth:8000").dialing);
  caf::anon_send_exit(failing, caf::exit_reason::kill);
}
