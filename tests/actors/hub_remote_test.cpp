// What the hub does with a batch from another node (hub_cluster.cpp): the
// publishes are delivered in chunks, pausing while a receiving socket is
// congested, so that a burst a local publisher could never send at once does
// not cut off a healthy client; and a client that really does not read
// meets its bound all the same, without holding the hub up for long.

#include "cluster/cluster_messages.hpp"
#include "hub/hub_state.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;

namespace {

connection_settings bounded(std::size_t frames) {
  connection_settings s;
  s.send_queue_frames = frames;
  s.send_buffer_bytes = 64 * 1024 * 1024;
  return s;
}

/// A hub attached to a stand-in cluster actor that passes deliveries on.
struct remote_fixture : hub_fixture {
  remote_fixture() : hub_fixture(bounded(256)) {
    auto internal = caf::actor_cast<caf::actor>(hub);
    relay = spawn([internal](caf::event_based_actor* self) -> caf::behavior {
      return {
        [](cluster_item&) {}, // what the hub sends other nodes: not under test
        [self, internal](cluster_delivery& d) { self->send(internal, std::move(d)); },
      };
    });
    caf::anon_send(caf::actor_cast<hub_internal_actor>(hub),
                   cluster_attach{caf::actor_cast<cluster_inbox_actor>(relay), 7});
    run();
  }

  /// `n` publishes on "t" arrive from another node.
  void burst(int n) {
    cluster_delivery d;
    for (int i = 0; i < n; ++i)
      d.items.push_back({cluster_item::publish, "t", std::to_string(i), 0, 0, {}, 0});
    caf::anon_send(relay, std::move(d));
    run();
  }

  caf::actor relay;
};

const std::string subscribe_t = R"({"type":"subscribe","topic":"t"})";

} // namespace

TEST_CASE("remote burst: delivered in chunks while the socket catches up") {
  remote_fixture f;
  auto c = f.connect();
  f.send(c, subscribe_t);
  c.transport->delivered.clear();
  c.transport->auto_complete = false;
  f.burst(300); // more than the bound of 256
  // Three chunks of 64 are handed over; the third leaves the socket
  // congested (more than half of 256 queued), so the hub pauses.
  CHECK(c.transport->in_flight.size() == 192);
  CHECK(f.state().remote_paused);
  // It serves everything else meanwhile.
  CHECK(f.stats().connections == 1);
  c.transport->complete_write();
  f.advance(1ms);
  c.transport->complete_write();
  CHECK(c.transport->delivered.size() == 300);
  CHECK(f.alive(c.writer));
  CHECK(f.state().remote.empty());
  CHECK(f.state().remote_items == 0);
  CHECK(f.state().stats.disconnects["slow_consumer"] == 0);
}

TEST_CASE("remote burst: publishes keep their order across pauses and batches") {
  remote_fixture f;
  auto c = f.connect();
  f.send(c, subscribe_t);
  c.transport->delivered.clear();
  c.transport->auto_complete = false;
  f.burst(200);
  f.burst(200); // waits behind the first
  for (int i = 0; i < 20 && c.transport->delivered.size() < 400; ++i) {
    c.transport->complete_write();
    f.advance(1ms);
  }
  c.transport->complete_write();
  auto got = c.transport->take();
  REQUIRE(got.size() == 400);
  for (int i = 0; i < 400; ++i) {
    INFO(got[static_cast<std::size_t>(i)]);
    CHECK(got[static_cast<std::size_t>(i)].find("\"data\":" + std::to_string(i % 200) + "}")
          != std::string::npos);
  }
  CHECK(f.alive(c.writer));
}

TEST_CASE("remote burst: a client that does not read is cut off, the hub does not wait "
          "for it for long") {
  remote_fixture f;
  auto stuck = f.connect();
  f.send(stuck, subscribe_t);
  stuck.transport->auto_complete = false;
  f.burst(1000);
  // At most max_waits (20) pauses of 1 ms, then the hub goes on and the
  // client passes its bound.
  f.advance(25ms);
  CHECK(f.state().remote.empty());
  CHECK_FALSE(f.state().remote_paused);
  CHECK_FALSE(f.alive(stuck.writer));
  CHECK(f.state().stats.disconnects["slow_consumer"] == 1);
}
