// Forwarding between simulated nodes (io_dsl): publishes reach the other
// nodes' subscribers only where there is interest, in order, batched; direct
// and user sends find the node a connection lives on; a peer that does not
// acknowledge is dropped and rejoined with its gap counted.

#include "cluster_fixture.hpp"

using namespace cluster_testing;

namespace {

void client_says(const client& c, std::string text) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), std::move(text));
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster: a publish reaches a remote subscriber, once") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto sub = connect(b);
  client_says(sub, R"({"type":"subscribe","topic":"news"})");
  auto box = listen(b, "news");
  auto local = listen(a, "news");
  received(sub);
  // From a client on earth, and from earth's server side.
  auto pub = connect(a);
  client_says(pub, R"({"type":"publish","topic":"news","data":1})");
  settle();
  publish_on(a, "news", "2");
  settle();
  CHECK(received(sub)
        == std::vector<std::string>{R"({"type":"message","topic":"news","data":1})",
                                    R"({"type":"message","topic":"news","data":2})"});
  REQUIRE(box->size() == 2);
  CHECK(box->at(0).from == pub.id); // the publisher's id travels along
  CHECK(box->at(1).from == 0);
  CHECK(local->size() == 2);
  // Mars delivered and did not forward back.
  CHECK(a.peer("mars:8001").forwarded == 2);
  CHECK(b.peer("earth:8000").received == 2);
  CHECK(b.peer("earth:8000").forwarded == 0);
  CHECK(local->size() == 2);
}

TEST_CASE_METHOD(fixture, "cluster: interest comes and goes; no interest, no traffic") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  publish_on(a, "t", "0");
  settle();
  CHECK(a.peer("mars:8001").forwarded == 0);
  CHECK(a.peer("mars:8001").next_seq == 0); // not even a batch
  auto box = listen(b, "t");
  CHECK(a.peer("mars:8001").interest.count("t") == 1);
  publish_on(a, "t", "1");
  settle();
  CHECK(box->size() == 1);
  unlisten(b, "t");
  CHECK(a.peer("mars:8001").interest.count("t") == 0);
  publish_on(a, "t", "2");
  settle();
  CHECK(a.peer("mars:8001").forwarded == 1);
  // A node joining later learns the interest from the hello.
  listen(a, "u");
  auto& c = start(jupiter, "jupiter", 8002, {"earth:8000"});
  open_route(a, jupiter);
  open_route(b, jupiter);
  settle();
  CHECK(c.peer("earth:8000").interest.count("u") == 1);
}

TEST_CASE_METHOD(fixture, "cluster: many publishes keep their order, in few batches") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto sub = connect(b);
  client_says(sub, R"({"type":"subscribe","topic":"t"})");
  settle();
  received(sub);
  constexpr int n = 1500;
  for (int i = 0; i < n; ++i)
    publish_on(a, "t", std::to_string(i));
  settle();
  auto got = received(sub);
  REQUIRE(got.size() == n);
  for (int i = 0; i < n; ++i)
    REQUIRE(got[static_cast<std::size_t>(i)]
            == R"({"type":"message","topic":"t","data":)" + std::to_string(i) + "}");
  auto& p = a.peer("mars:8001");
  CHECK(p.forwarded == n);
  CHECK(p.next_seq <= n / cluster_batch_items + 2);
  CHECK(p.unacked == 0); // every batch acknowledged
}

TEST_CASE_METHOD(fixture, "cluster: a direct send by id reaches the node it names") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  auto& c = start(jupiter, "jupiter", 8002, {"earth:8000"});
  open_route(a, jupiter);
  open_route(b, jupiter);
  settle();
  REQUIRE(c.members() == 2);
  auto target = connect(b);
  auto sender = connect(a);
  auto bystander = connect(c);
  client_says(sender, R"({"type":"send","to":)" + std::to_string(target.id)
                        + R"(,"data":"hi","id":1})");
  settle();
  earth.self->send(a.hub, send_direct{target.id, "2", "service:x"});
  settle();
  CHECK(received(target)
        == std::vector<std::string>{R"({"type":"direct","from":)" + std::to_string(sender.id)
                                      + R"(,"data":"hi"})",
                                    R"({"type":"direct","from":"service:x","data":2})"});
  CHECK(received(sender) == std::vector<std::string>{R"({"type":"ack","id":1})"});
  CHECK(received(bystander).empty());
  // Only mars was sent it: jupiter got nothing.
  CHECK(a.peer("jupiter:8002").next_seq == 0);
  // An id with our own tag that is not here is unknown, as before.
  auto missing = (conn_id{a.tag} << node_tag_shift) | 12345;
  client_says(sender, R"({"type":"send","to":)" + std::to_string(missing) + R"(,"data":1})");
  settle();
  auto answer = received(sender);
  REQUIRE(answer.size() == 1);
  CHECK(answer[0].find("unknown_connection") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "cluster: sends to a user and its disconnect reach every node") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto alice_on_mars = connect(b, "alice");
  auto alice_on_earth = connect(a, "alice");
  auto sender = connect(a);
  client_says(sender, R"({"type":"send","to":"user:alice","data":1})");
  settle();
  earth.self->send(a.hub, send_to_user{"alice", "2", {}});
  settle();
  auto from_client = R"({"type":"direct","from":)" + std::to_string(sender.id)
                     + R"(,"data":1})";
  auto from_server = std::string{R"({"type":"direct","from":0,"data":2})"};
  CHECK(received(alice_on_mars) == std::vector<std::string>{from_client, from_server});
  CHECK(received(alice_on_earth) == std::vector<std::string>{from_client, from_server});
  // A user with connections only elsewhere is no error on a clustered node.
  auto bob = connect(b, "bob");
  client_says(sender, R"({"type":"send","to":"user:bob","data":3,"id":9})");
  settle();
  CHECK(received(sender) == std::vector<std::string>{R"({"type":"ack","id":9})"});
  CHECK(received(bob).size() == 1);
  earth.self->send(a.hub, disconnect_user{"alice", 4000, "bye"});
  settle();
  CHECK(alice_on_mars.socket->closed == exit_code::disconnected);
  CHECK(alice_on_mars.socket->close_code == 4000);
  CHECK(alice_on_earth.socket->closed == exit_code::disconnected);
}

TEST_CASE_METHOD(fixture, "cluster: a peer past the backlog is dropped, rejoined, its gap counted") {
  auto& a = start(earth, "earth", 8000, {}, /*backlog=*/10);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto box = listen(b, "t");
  // Mars does not run: nothing is acknowledged.
  for (int i = 0; i < 8; ++i)
    publish_on(a, "t", std::to_string(i));
  earth.sched.run();
  CHECK(a.peer("mars:8001").unacked == 8);
  // What /metrics shows as its backlog.
  earth.self->send(a.cluster, query_peers{});
  earth.sched.run();
  earth.self->receive([](cluster_info& info) {
    REQUIRE(info.peers.size() == 1);
    CHECK(info.peers[0].backlog == 8);
  });
  for (int i = 8; i < 16; ++i)
    publish_on(a, "t", std::to_string(i));
  earth.sched.run();
  auto& p = a.peer("mars:8001");
  CHECK(p.gaps == 8);
  CHECK(!p.up);
  CHECK(p.unacked == 0);
  CHECK(log_text().find("warning cluster: peer fell behind address=mars:8001") != std::string::npos);
  // Mars catches up, sees the new epoch, resets and answers: a member again.
  settle();
  CHECK(a.peer("mars:8001").up);
  CHECK(a.peer("mars:8001").reconnects == 1);
  CHECK(b.peer("earth:8000").up);
  publish_on(a, "t", "16");
  settle();
  std::vector<std::string> got;
  for (auto& m : *box)
    got.push_back(m.data);
  CHECK(got == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "16"});
  CHECK(a.peer("mars:8001").gaps == 8);
}

TEST_CASE_METHOD(fixture, "cluster: a close of another node's connection is forwarded to it") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  auto& c = start(jupiter, "jupiter", 8002, {"earth:8000"});
  open_route(a, jupiter);
  open_route(b, jupiter);
  settle();
  REQUIRE(c.members() == 2);
  auto target = connect(b);
  auto bystander = connect(c);
  // The hub answers true (forwarded), as for send_direct; only mars is told.
  earth.self->send(a.hub, close_connection{target.id, 4002, "moved"});
  settle();
  bool closed = false;
  earth.self->receive([&](bool x) { closed = x; }, caf::after(caf::timespan{0}) >> [] {});
  CHECK(closed);
  CHECK(target.socket->closed == exit_code::disconnected);
  CHECK(target.socket->close_code == 4002);
  CHECK(target.socket->close_text == "moved");
  CHECK(!bystander.socket->closed);
  CHECK(a.peer("jupiter:8002").next_seq == 0);
  // What a local close_connection refuses is refused before it leaves.
  earth.self->send(a.hub, close_connection{bystander.id, 1005, ""});
  settle();
  earth.self->receive([](bool) { FAIL("an invalid close code was accepted"); },
                      [](caf::error& err) { CHECK(err == make_error(hub_errc::invalid_argument)); },
                      caf::after(caf::timespan{0}) >> [] { FAIL("no answer"); });
  CHECK(!bystander.socket->closed);
  // An id with our own tag that is not here: no such connection.
  auto missing = (conn_id{a.tag} << node_tag_shift) | 12345;
  earth.self->send(a.hub, close_connection{missing, 1000, ""});
  settle();
  closed = true;
  earth.self->receive([&](bool x) { closed = x; }, caf::after(caf::timespan{0}) >> [] {});
  CHECK(!closed);
}
