// A real node's lifetime, the CAF way: its lifetime actor (monitored,
// linked both ways) and the server-side actors the hub ends when it stops,
// so that the application's actor system shuts down.

#include "quiet_config.hpp"
#include "switchboard/node.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

using namespace switchboard;
using namespace std::chrono_literals;

using switchboard::testing::quiet_config;

namespace {

std::unique_ptr<node> start(caf::actor_system& sys) {
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  auto started = node::start(sys, nc);
  REQUIRE(started);
  return std::move(*started);
}

bool terminated(const caf::actor& a) {
  return caf::actor_cast<caf::abstract_actor*>(a)->getf(caf::abstract_actor::is_terminated_flag);
}

/// The reason of the next down message `probe` gets from `a`, waiting at
/// most 10 s (none: no down message came).
std::optional<caf::error> down_reason(caf::scoped_actor& probe, const caf::actor& a) {
  std::optional<caf::error> result;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!result && std::chrono::steady_clock::now() < deadline) {
    probe->receive(
      [&](caf::down_msg& dm) {
        if (dm.source == a.address())
          result = std::move(dm.reason);
      },
      caf::after(deadline - std::chrono::steady_clock::now()) >> [] {});
  }
  return result;
}

/// node::wait() on a thread of its own, at most 10 s (none: it did not return).
std::optional<caf::error> wait_bounded(node& n) {
  auto done = std::make_shared<std::promise<caf::error>>();
  auto result = done->get_future();
  std::thread{[&n, done] { done->set_value(n.wait()); }}.detach();
  if (result.wait_for(10s) != std::future_status::ready)
    return std::nullopt;
  return result.get();
}

/// Links itself to `other`; quits with `reason` when told any int.
caf::behavior linked_worker(caf::event_based_actor* self, caf::actor other) {
  self->link_to(other);
  return {[self](int) { self->quit(caf::exit_reason::user_shutdown); }};
}

topic_listener_actor::behavior_type idle_listener(topic_listener_actor::pointer) {
  return {[](const topic_message&) {}};
}

} // namespace

TEST_CASE("the lifetime actor exits normally after a requested stop, before stop() returns") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto n = start(sys);
  auto lifetime = n->lifetime();
  REQUIRE(lifetime);
  caf::scoped_actor probe{sys};
  probe->monitor(lifetime);
  auto survivor = sys.spawn(linked_worker, lifetime);
  probe->monitor(survivor);
  CHECK_FALSE(terminated(lifetime));
  n->request_stop();
  CHECK_FALSE(n->wait());
  n->stop();
  CHECK(terminated(lifetime));
  auto reason = down_reason(probe, lifetime);
  REQUIRE(reason);
  CHECK_FALSE(*reason);
  // A normal exit takes no linked actor along.
  CHECK_FALSE(terminated(survivor));
  caf::anon_send_exit(survivor, caf::exit_reason::user_shutdown);
}

TEST_CASE("a linked actor that dies stops the node, and the node takes its other links along") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto n = start(sys);
  auto lifetime = n->lifetime();
  caf::scoped_actor probe{sys};
  probe->monitor(lifetime);
  auto failing = sys.spawn(linked_worker, lifetime);
  auto other = sys.spawn(linked_worker, lifetime);
  probe->monitor(other);
  caf::anon_send(failing, 1);
  // The node stopped by itself, gracefully: the hub ended normally.
  auto waited = wait_bounded(*n);
  REQUIRE(waited);
  CHECK_FALSE(*waited);
  CHECK(down_reason(probe, lifetime) == caf::error{caf::exit_reason::user_shutdown});
  CHECK(down_reason(probe, other) == caf::error{caf::exit_reason::user_shutdown});
  n->stop();
}

TEST_CASE("when the hub dies, the lifetime actor exits with the hub's reason") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto n = start(sys);
  caf::scoped_actor probe{sys};
  probe->monitor(n->lifetime());
  caf::anon_send_exit(n->hub(), caf::exit_reason::user_shutdown);
  auto waited = wait_bounded(*n);
  REQUIRE(waited);
  CHECK(*waited == caf::error{caf::exit_reason::user_shutdown});
  CHECK(down_reason(probe, n->lifetime()) == caf::error{caf::exit_reason::user_shutdown});
  n->stop();
}

TEST_CASE("a killed hub ends the lifetime actor with hub_down, which links can trap") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto n = start(sys);
  caf::scoped_actor probe{sys};
  probe->monitor(n->lifetime());
  caf::anon_send_exit(n->hub(), caf::exit_reason::kill);
  auto waited = wait_bounded(*n);
  REQUIRE(waited);
  CHECK(*waited == caf::error{caf::exit_reason::kill});
  CHECK(down_reason(probe, n->lifetime()) == make_error(exit_code::hub_down));
  n->stop();
}

TEST_CASE("a killed lifetime actor stops the node") {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto n = start(sys);
  caf::anon_send_exit(n->lifetime(), caf::exit_reason::kill);
  auto waited = wait_bounded(*n);
  REQUIRE(waited);
  CHECK_FALSE(*waited);
  n->stop();
}

TEST_CASE("the actor system shuts down after the node stopped although a listener was never "
          "stopped") {
  // The whole life of the system runs on a thread of its own (CAF 0.17
  // must destroy a system on the thread that made it: that thread holds a
  // reference to its logger, which the destructor waits for), so that a
  // destructor that hangs fails the test instead of blocking it.
  auto setup = std::make_shared<std::promise<bool>>();
  auto destroyed = std::make_shared<std::promise<void>>();
  auto added = setup->get_future();
  auto done = destroyed->get_future();
  std::thread life{[setup, destroyed] {
    {
      quiet_config cfg;
      caf::actor_system sys{cfg};
      auto n = node::start(sys, [] {
        node_config nc;
        nc.port = 0;
        nc.io_threads = 1;
        return nc;
      }());
      if (!n) {
        setup->set_value(false);
        return;
      }
      // A named listener: the registry holds it, so it never becomes
      // unreachable; only an exit ends it.
      auto listener = sys.spawn(idle_listener);
      sys.registry().put(caf::atom("listener"), caf::actor_cast<caf::strong_actor_ptr>(listener));
      {
        caf::scoped_actor probe{sys};
        bool ok = false;
        probe->request((*n)->hub(), 10s, add_listener{"t", listener})
          .receive([&](bool x) { ok = x; }, [](caf::error&) {});
        setup->set_value(ok);
      }
      (*n)->stop();
    }
    destroyed->set_value();
  }};
  if (added.wait_for(10s) != std::future_status::ready) {
    life.detach();
    FAIL("the node did not start, or the listener was not added, within 10 s");
  }
  CHECK(added.get());
  if (done.wait_for(10s) != std::future_status::ready) {
    life.detach(); // stuck in ~actor_system for good
    FAIL("~actor_system did not return within 10 s of the node's stop");
  }
  life.join();
}
