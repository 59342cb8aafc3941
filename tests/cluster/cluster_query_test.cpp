// query_cluster's cost is bounded (simulated nodes, io_dsl): one fan-out to
// the members at a time, its numbers reused for a second unless a member
// came or went; the peers' states are always current.

#include "cluster_fixture.hpp"

using namespace cluster_testing;
using namespace std::chrono_literals;

namespace {

// Every cluster_info that reached `self` so far.
std::vector<cluster_info> answers(caf::scoped_actor& self) {
  std::vector<cluster_info> result;
  for (bool more = true; more;)
    self->receive([&](cluster_info& x) { result.push_back(std::move(x)); },
                  caf::after(caf::timespan{0}) >> [&] { more = false; });
  return result;
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster: queries share one fan-out and reuse it for a second") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  connect(b);
  auto& rounds = a.state().gather.rounds;
  // Three at once: one fan-out answers all three.
  for (int i = 0; i < 3; ++i)
    earth.self->send(a.cluster, query_cluster{});
  settle();
  auto got = answers(earth.self);
  REQUIRE(got.size() == 3);
  CHECK(rounds == 1);
  for (auto& info : got) {
    CHECK(info.nodes_answered == 2);
    CHECK(info.totals.connections == 1);
    REQUIRE(info.peers.size() == 1);
    CHECK(info.peers[0].answered);
  }
  // Within the second: the same numbers, no new fan-out, even though mars
  // has a new connection by now.
  connect(b);
  earth.self->send(a.cluster, query_cluster{});
  settle();
  got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(rounds == 1);
  CHECK(got[0].totals.connections == 1);
  // A second later: asked again.
  earth.sched.advance_time(cluster_query_reuse);
  settle();
  earth.self->send(a.cluster, query_cluster{});
  settle();
  got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(rounds == 2);
  CHECK(got[0].totals.connections == 2);
}

TEST_CASE_METHOD(fixture, "cluster: a member that comes or goes makes the next query ask again") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  auto [server_side, client_side] = open_route(a, mars);
  settle();
  connect(b);
  earth.self->send(a.cluster, query_cluster{});
  settle();
  REQUIRE(answers(earth.self).size() == 1);
  CHECK(a.state().gather.rounds == 1);
  // Mars goes: the next answer says so at once, without its numbers.
  earth.mpx.impl_ptr(server_side)->io_failure(&earth.mpx, caf::io::network::operation::read);
  mars.mpx.impl_ptr(client_side)->io_failure(&mars.mpx, caf::io::network::operation::read);
  settle();
  earth.self->send(a.cluster, query_cluster{});
  settle();
  auto got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(a.state().gather.rounds == 2);
  REQUIRE(got[0].peers.size() == 1);
  CHECK(got[0].peers[0].state == "down");
  CHECK_FALSE(got[0].peers[0].answered);
  CHECK(got[0].nodes_answered == 1);
  CHECK(got[0].totals.connections == 0);
  // It comes back: asked again.
  open_route(a, mars);
  mars.sched.trigger_timeouts();
  settle();
  REQUIRE(a.members() == 1);
  earth.self->send(a.cluster, query_cluster{});
  settle();
  got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(a.state().gather.rounds == 3);
  CHECK(got[0].nodes_answered == 2);
  CHECK(got[0].totals.connections == 1);
}

TEST_CASE_METHOD(fixture, "cluster: query_peers answers at once, without a fan-out") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  auto [server_side, client_side] = open_route(a, mars);
  settle();
  connect(b);
  earth.self->send(a.cluster, query_peers{});
  settle();
  auto got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(a.state().gather.rounds == 0);
  CHECK(got[0].address == "earth:8000");
  CHECK(got[0].incarnation == a.state().incarnation);
  CHECK(got[0].tag == a.state().tag);
  CHECK(got[0].backlog_limit == a.state().settings.backlog);
  CHECK(got[0].nodes_answered == 0);
  REQUIRE(got[0].peers.size() == 1);
  CHECK(got[0].peers[0].state == "up");
  CHECK(got[0].peers[0].reconnects == 0);
  CHECK(got[0].peers[0].backlog == 0);
  CHECK_FALSE(got[0].peers[0].answered);
  // Mars goes: down (it was a member), then back: one reconnect.
  earth.mpx.impl_ptr(server_side)->io_failure(&earth.mpx, caf::io::network::operation::read);
  mars.mpx.impl_ptr(client_side)->io_failure(&mars.mpx, caf::io::network::operation::read);
  settle();
  earth.self->send(a.cluster, query_peers{});
  settle();
  got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(got[0].peers[0].state == "down");
  open_route(a, mars);
  mars.sched.trigger_timeouts();
  settle();
  REQUIRE(a.members() == 1);
  earth.self->send(a.cluster, query_peers{});
  settle();
  got = answers(earth.self);
  REQUIRE(got.size() == 1);
  CHECK(got[0].peers[0].state == "up");
  CHECK(got[0].peers[0].reconnects == 1);
  CHECK(a.state().gather.rounds == 0);
}
