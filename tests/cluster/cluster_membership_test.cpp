// Membership of a cluster on simulated nodes (io_dsl): hellos both ways, the
// full mesh from one seed, peer loss and redial, a new incarnation behind a
// known address, node-id clashes, and messages nobody expects.

#include "cluster_fixture.hpp"

using namespace cluster_testing;

namespace {

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster: a hello makes members of both sides") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  REQUIRE(a.members() == 1);
  REQUIRE(b.members() == 1);
  CHECK(a.peer("mars:8001").incarnation == b.incarnation);
  CHECK(a.peer("mars:8001").tag == b.tag);
  CHECK(b.peer("earth:8000").incarnation == a.incarnation);
  CHECK(contains(log_text(), "cluster: peer up address=mars:8001 incarnation="
                               + std::to_string(b.incarnation)));
  CHECK(contains(log_text(), "cluster: peer up address=earth:8000"));
  // Each hub knows its node's tag: its connection ids carry it.
  auto c = connect(b);
  CHECK(node_tag_of(c.id) == b.tag);
  CHECK(c.id < (conn_id{1} << 53));
}

TEST_CASE_METHOD(fixture, "cluster: one seed is enough for a full mesh") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  // Jupiter knows only earth; earth's hello names mars, which jupiter dials
  // itself (never through earth).
  auto& c = start(jupiter, "jupiter", 8002, {"earth:8000", "jupiter:8002"});
  open_route(a, jupiter);
  open_route(b, jupiter);
  settle();
  CHECK(a.members() == 2);
  CHECK(b.members() == 2);
  CHECK(c.members() == 2);
  // Its own address among the seeds was skipped.
  CHECK(c.state().peers.count("jupiter:8002") == 0);
}

TEST_CASE_METHOD(fixture, "cluster: a lost peer is removed at once and redialed") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  auto [server_side, client_side] = open_route(a, mars);
  settle();
  auto box = listen(b, "t");
  REQUIRE(a.peer("mars:8001").interest.count("t") == 1);
  // The connection breaks on both ends.
  earth.mpx.impl_ptr(server_side)->io_failure(&earth.mpx, caf::io::network::operation::read);
  mars.mpx.impl_ptr(client_side)->io_failure(&mars.mpx, caf::io::network::operation::read);
  settle();
  CHECK(a.members() == 0);
  CHECK(b.members() == 0);
  CHECK(a.peer("mars:8001").interest.empty());
  CHECK(a.state().peers_lost == 1);
  CHECK(contains(log_text(), "cluster: peer down address=mars:8001 reason="));
  // The redial (mars's) finds a connection again.
  open_route(a, mars);
  mars.sched.trigger_timeouts();
  settle();
  CHECK(a.members() == 1);
  CHECK(b.members() == 1);
  CHECK(a.peer("mars:8001").interest.count("t") == 1);
  publish_on(a, "t", "1");
  settle();
  CHECK(box->size() == 1);
}

TEST_CASE_METHOD(fixture, "cluster: a new incarnation at a known address resets the peer") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  listen(b, "t");
  REQUIRE(a.peer("mars:8001").interest.count("t") == 1);
  // Another actor on mars says hello as mars:8001 with a new incarnation
  // (as a restarted mars would, before earth saw the old one go).
  auto earth_handle = b.peer("earth:8000").handle;
  auto restarted = mars.sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[](cluster_ack&) {}};
  });
  caf::anon_send(earth_handle, cluster_hello{restarted, "mars:8001", 77, 0, 7, {}, {"x"}});
  settle();
  auto& p = a.peer("mars:8001");
  CHECK(p.up);
  CHECK(p.incarnation == 77);
  CHECK(p.tag == 7);
  CHECK(p.interest.count("t") == 0);
  CHECK(p.interest.count("x") == 1);
  CHECK(p.handle == restarted);
  CHECK(contains(log_text(), "cluster: peer restarted address=mars:8001 incarnation=77"));
  caf::anon_send_exit(restarted, caf::exit_reason::kill);
  settle();
}

TEST_CASE_METHOD(fixture, "cluster: a hello from another actor of our own node is a clash") {
  auto& a = start(earth, "earth", 8000);
  auto local = earth.sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[](cluster_ack&) {}};
  });
  caf::anon_send(a.cluster, cluster_hello{local, "impostor:9", 5, 0, 3, {}, {}});
  settle();
  CHECK(a.members() == 0);
  CHECK(a.state().peers.count("impostor:9") == 0);
  CHECK(contains(log_text(), "error cluster: node id clash address=impostor:9"));
  caf::anon_send_exit(local, caf::exit_reason::kill);
  settle();
}

TEST_CASE_METHOD(fixture, "cluster: an unexpected message is dropped, the cluster lives on") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto box = listen(b, "t");
  // From the other node (through its proxy) and locally; a batch from an
  // actor that is no member.
  auto earth_handle = b.peer("earth:8000").handle;
  caf::anon_send(earth_handle, std::string{"junk"}, 42);
  caf::anon_send(a.cluster, 1.5);
  caf::anon_send(a.cluster, cluster_batch{1, {cluster_item{}}});
  caf::anon_send(caf::actor_cast<caf::actor>(a.hub), std::string{"junk"}, 42);
  settle();
  CHECK(contains(log_text(), "cluster: dropped an unexpected message"));
  publish_on(a, "t", "1");
  settle();
  CHECK(box->size() == 1);
  CHECK(a.members() == 1);
}

TEST_CASE_METHOD(fixture, "cluster: query_cluster sums the nodes that answer") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  listen(a, "t");
  connect(b);
  auto c = connect(b);
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader),
                 std::string{R"({"type":"subscribe","topic":"t"})"});
  settle();
  earth.self->send(a.cluster, query_cluster{});
  settle();
  cluster_info info;
  bool answered = false;
  earth.self->receive(
    [&](cluster_info& x) {
      info = std::move(x);
      answered = true;
    },
    caf::after(caf::timespan{0}) >> [] {});
  REQUIRE(answered);
  CHECK(info.address == "earth:8000");
  REQUIRE(info.peers.size() == 1);
  CHECK(info.peers[0].address == "mars:8001");
  CHECK(info.peers[0].state == "up");
  CHECK(info.peers[0].incarnation == b.incarnation);
  CHECK(info.peers[0].answered);
  CHECK(info.nodes_answered == 2);
  CHECK(info.totals.connections == 2);
  CHECK(info.topics["t"] == 1); // one subscribed connection (the listener is no connection)
}

TEST_CASE_METHOD(fixture, "cluster: a seed that is down at start is dialed until it is up") {
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  settle();
  // Nothing answers at earth:8000 yet: the dial failed, a redial waits.
  CHECK(b.members() == 0);
  CHECK(b.peer("earth:8000").backoff == std::chrono::milliseconds(100));
  CHECK(!b.peer("earth:8000").dialing);
  mars.sched.trigger_timeouts();
  settle();
  CHECK(b.peer("earth:8000").backoff == std::chrono::milliseconds(200));
  auto& a = start(earth, "earth", 8000);
  open_route(a, mars);
  mars.sched.trigger_timeouts();
  settle();
  CHECK(b.members() == 1);
  CHECK(a.members() == 1);
  CHECK(b.peer("earth:8000").backoff == caf::timespan{0});
}
