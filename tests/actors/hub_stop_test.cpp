// What the server-side actors (listeners, services, observers) are told when
// the hub ends: an exit with reason shutdown after a requested stop, hub_down
// when the hub died, so that an application's actor system does not wait for
// them for ever. Deterministic (the fixture's test_coordinator).

#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace switchboard;
using testing::hub_fixture;

namespace {

topic_listener_actor::behavior_type idle_listener(topic_listener_actor::pointer) {
  return {[](const topic_message&) {}};
}

service_actor::behavior_type idle_service(service_actor::pointer) {
  return {[](const service_message&) {}};
}

connection_observer_actor::behavior_type
recorder(connection_observer_actor::pointer, std::shared_ptr<std::vector<connection_event>> got) {
  return {[got](connection_event& ev) { got->push_back(std::move(ev)); }};
}

/// A listener that outlives the node: it traps exits and records them.
topic_listener_actor::behavior_type trapping_listener(topic_listener_actor::pointer self,
                                                      std::shared_ptr<std::vector<caf::error>> got) {
  self->set_exit_handler([got](caf::exit_msg& em) { got->push_back(std::move(em.reason)); });
  return {[](const topic_message&) {}};
}

template <class Handle>
caf::actor untyped(const Handle& handle) {
  return caf::actor_cast<caf::actor>(handle);
}

} // namespace

TEST_CASE("a requested stop ends every server-side actor with reason shutdown") {
  hub_fixture f;
  auto listener = f.spawn(idle_listener);
  auto service = f.spawn(idle_service);
  auto events = std::make_shared<std::vector<connection_event>>();
  auto observer = f.spawn(recorder, events);
  auto gone = f.spawn(idle_listener); // unregistered before the stop
  REQUIRE(f.request<bool>(add_listener{"t", listener}) == true);
  REQUIRE(f.request<bool>(add_service{"svc", service}) == true);
  f.tell(add_observer{observer});
  REQUIRE(f.request<bool>(add_listener{"t", gone}) == true);
  f.tell(remove_listener{"t", gone});
  auto c = f.connect();

  f.request_stop();

  CHECK_FALSE(f.alive(untyped(f.hub)));
  CHECK(f.exit_reason(untyped(listener)) == make_error(exit_code::shutdown));
  CHECK(f.exit_reason(untyped(service)) == make_error(exit_code::shutdown));
  CHECK(f.exit_reason(untyped(observer)) == make_error(exit_code::shutdown));
  // The observer heard the connection leave before its own exit came.
  REQUIRE(events->size() == 2);
  CHECK(events->back().kind == connection_event::left);
  CHECK(events->back().reason == "shutdown");
  // The hub told only the actors registered with it.
  CHECK(f.alive(untyped(gone)));
}

TEST_CASE("a server-side actor that traps exits is told of the stop and may live on") {
  hub_fixture f;
  auto got = std::make_shared<std::vector<caf::error>>();
  auto listener = f.spawn(trapping_listener, got);
  REQUIRE(f.request<bool>(add_listener{"t", listener}) == true);
  f.request_stop();
  REQUIRE(got->size() == 1);
  CHECK(got->front() == make_error(exit_code::shutdown));
  CHECK(f.alive(untyped(listener)));
}

TEST_CASE("a hub that dies ends the server-side actors with reason hub_down") {
  hub_fixture f;
  auto listener = f.spawn(idle_listener);
  REQUIRE(f.request<bool>(add_listener{"t", listener}) == true);
  caf::anon_send_exit(f.hub, caf::exit_reason::kill);
  f.run();
  CHECK_FALSE(f.alive(untyped(f.hub)));
  CHECK(f.exit_reason(untyped(listener)) == make_error(exit_code::hub_down));
}
