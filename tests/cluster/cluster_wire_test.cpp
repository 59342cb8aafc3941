// What a peer sends is checked as what a client sends (simulated nodes,
// io_dsl): malformed items are dropped and counted, never delivered; a
// hello's members are dialed only when a seed names them; every message
// for connections counts toward the backlog; and the checks one by one
// (cluster_check.hpp).

#include "cluster_fixture.hpp"

using namespace cluster_testing;

namespace {

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

cluster_item user_disconnect(std::string user, std::uint16_t code, std::string reason) {
  return {cluster_item::user_disconnect, std::move(user), std::move(reason), 0, 0, {}, code};
}

cluster_item close_item(conn_id to, std::uint16_t code, std::string reason) {
  return {cluster_item::close, {}, std::move(reason), 0, to, {}, code};
}

cluster_item publish_item(std::string topic, std::string data) {
  return {cluster_item::publish, std::move(topic), std::move(data), 0, 0, {}, 0};
}

cluster_item direct_item(conn_id to, std::string data, std::string sender = {}) {
  return {cluster_item::direct, {}, std::move(data), 0, to, std::move(sender), 0};
}

cluster_item user_send(std::string user, std::string data) {
  return {cluster_item::user_send, std::move(user), std::move(data), 0, 0, {}, 0};
}

// A batch to `to`'s cluster actor as if from `from`'s (a member of it).
void batch_from(node& from, node& to, std::vector<cluster_item> items) {
  auto handle = from.peer(to.address).handle;
  REQUIRE(handle);
  caf::send_as(from.cluster, handle, cluster_batch{1000, std::move(items)});
}

} // namespace

TEST_CASE("cluster: items are checked as a client's or an application's request") {
  auto id = conn_id{5} << node_tag_shift | 1;
  auto check = [](const cluster_item& item) { return check_item(item, 100); };
  CHECK(check(publish_item("t", R"({"a":1})")) == wire_fault::none);
  CHECK(check(publish_item("", "1")) == wire_fault::topic);
  CHECK(check(publish_item(std::string(257, 't'), "1")) == wire_fault::topic);
  CHECK(check(publish_item("t\n", "1")) == wire_fault::topic);
  CHECK(check(publish_item("\xff", "1")) == wire_fault::topic);
  CHECK(check(publish_item("t", "{")) == wire_fault::data);
  CHECK(check(publish_item("t", "1 2")) == wire_fault::data);
  CHECK(check(publish_item("t", "")) == wire_fault::data);
  // No larger than a client of this node may send (max_data: 100 here).
  auto big = "\"" + std::string(98, 'x') + "\"";
  CHECK(check(publish_item("t", big)) == wire_fault::none);
  CHECK(check(publish_item("t", big + " ")) == wire_fault::size);
  CHECK(check(direct_item(id, big + " ")) == wire_fault::size);
  CHECK(check(user_send("u", big + " ")) == wire_fault::size);
  auto from_far = publish_item("t", "1");
  from_far.from = conn_id{1} << 53;
  CHECK(check(from_far) == wire_fault::id);
  CHECK(check(direct_item(id, "1", "service:x")) == wire_fault::none);
  CHECK(check(direct_item(0, "1")) == wire_fault::id);
  CHECK(check(direct_item(id, "x")) == wire_fault::data);
  CHECK(check(direct_item(id, "1", "\xc3")) == wire_fault::sender);
  CHECK(check(direct_item(id, "1", std::string(257, 's'))) == wire_fault::sender);
  CHECK(check(user_send("u", "1")) == wire_fault::none);
  CHECK(check(user_send("", "1")) == wire_fault::user);
  CHECK(check(user_send(std::string(257, 'u'), "1")) == wire_fault::user);
  CHECK(check(user_send("u", "[")) == wire_fault::data);
  CHECK(check(user_disconnect("u", 4000, "bye")) == wire_fault::none);
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2999, 5000})
    CHECK(check(user_disconnect("u", code, "")) == wire_fault::close);
  CHECK(check(user_disconnect("u", 1000, std::string(124, 'r'))) == wire_fault::close);
  CHECK(check(user_disconnect("u", 1000, std::string(123, 'r'))) == wire_fault::none);
  CHECK(check(user_disconnect("u", 1000, "\xff")) == wire_fault::close);
  CHECK(check(user_disconnect("", 1000, "")) == wire_fault::user);
  CHECK(check(close_item(id, 3000, "x")) == wire_fault::none);
  CHECK(check(close_item(id, 1005, "")) == wire_fault::close);
  CHECK(check(close_item(0, 1000, "")) == wire_fault::id);
  CHECK(check({cluster_item::interest_on, "t", {}, 0, 0, {}, 0}) == wire_fault::none);
  CHECK(check({cluster_item::interest_off, "", {}, 0, 0, {}, 0}) == wire_fault::topic);
  // A publish a shared history store numbered: offset in `to`, epoch in `sender`.
  auto numbered = [](std::uint64_t offset, std::string epoch) {
    return cluster_item{cluster_item::numbered_publish, "t", "1", 0, offset, std::move(epoch), 0};
  };
  CHECK(check(numbered(1, "e1")) == wire_fault::none);
  CHECK(check(numbered(0, "e1")) == wire_fault::id);
  CHECK(check(numbered(1, "")) == wire_fault::sender);
  CHECK(check(numbered(1, std::string(257, 'e'))) == wire_fault::sender);
  auto bad_topic = numbered(1, "e1");
  bad_topic.topic.clear();
  CHECK(check(bad_topic) == wire_fault::topic);
  auto bad_data = numbered(1, "e1");
  bad_data.data = "{";
  CHECK(check(bad_data) == wire_fault::data);
  cluster_item unknown;
  unknown.kind = static_cast<cluster_item::kind_t>(99);
  CHECK(check(unknown) == wire_fault::kind);
}

TEST_CASE("cluster: addresses to dial are host:port") {
  CHECK(valid_peer_address("10.0.0.1:7000"));
  CHECK(valid_peer_address("node-a.example:1"));
  CHECK(valid_peer_address("[::1]:65535"));
  for (auto bad : {"", ":7000", "host", "host:", "host:0", "host:65536", "host:12x",
                   "host:-1", "ho st:1", "host\n:1", "host:123456"})
    CHECK_FALSE(valid_peer_address(bad));
  CHECK_FALSE(valid_peer_address(std::string(256, 'h') + ":1"));
}

TEST_CASE_METHOD(fixture, "cluster: a peer's malformed items are dropped and counted") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto alice = connect(a, "alice");
  auto bob = connect(a, "bob");
  auto sub = connect(a);
  caf::anon_send(caf::actor_cast<reader_actor>(sub.reader),
                 std::string{R"({"type":"subscribe","topic":"t"})"});
  settle();
  received(sub);
  // Close codes a local close_connection refuses (1005 and 1006 must never
  // be sent, 999 is none), a reason that does not fit a close frame, data
  // that would corrupt the frame it goes into or is larger than a client
  // may send (max_data, 64 KiB by default), an unknown kind.
  cluster_item unknown = publish_item("t", "1");
  unknown.kind = static_cast<cluster_item::kind_t>(42);
  batch_from(b, a,
             {user_disconnect("alice", 1005, ""), user_disconnect("alice", 999, ""),
              user_disconnect("alice", 4000, std::string(124, 'r')),
              close_item(bob.id, 1006, ""), publish_item("t", R"({"a":)"),
              publish_item("t\x01", "1"), direct_item(sub.id, "nope"),
              publish_item("t", "\"" + std::string(64 * 1024, 'x') + "\""),
              user_send("bob", "{}}"), unknown,
              // and one that is fine, after them
              publish_item("t", "2")});
  settle();
  CHECK(alice.socket->closed == std::nullopt);
  CHECK(bob.socket->closed == std::nullopt);
  CHECK(received(sub) == std::vector<std::string>{R"({"type":"message","topic":"t","data":2})"});
  CHECK(received(bob).empty());
  auto& p = a.peer("mars:8001");
  CHECK(p.dropped == 10);
  CHECK(p.received == 1);
  CHECK(p.up); // a malformed item costs the peer nothing else
  CHECK(contains(log_text(), "warning cluster: dropped 10 malformed item(s) from "
                             "address=mars:8001 (last: unknown item kind)"));
  // The next bad batch within the second is counted, not logged.
  batch_from(b, a, {user_disconnect("alice", 1005, "")});
  settle();
  CHECK(p.dropped == 11);
  CHECK(a.state().drops_unlogged == 1);
  // Valid ones do what they say, with the code and reason given.
  batch_from(b, a, {user_disconnect("alice", 4000, std::string(123, 'r')),
                    close_item(bob.id, 3001, "moved")});
  settle();
  CHECK(alice.socket->closed == exit_code::disconnected);
  CHECK(alice.socket->close_code == 4000);
  CHECK(alice.socket->close_text == std::string(123, 'r'));
  CHECK(bob.socket->closed == exit_code::disconnected);
  CHECK(bob.socket->close_code == 3001);
  CHECK(bob.socket->close_text == "moved");
  CHECK(p.dropped == 11);
}

namespace {

caf::actor bystander(planet& p) {
  return p.sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[](cluster_ack&) {}};
  });
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster: only a seed's hello makes a node dial the members it names") {
  auto& a = start(earth, "earth", 8000);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  // An actor on mars (no seed of earth's) says hello under an address of
  // its own and names members: it becomes a member, its members are not
  // dialed.
  auto rogue = bystander(mars);
  auto earth_handle = b.peer("earth:8000").handle;
  caf::anon_send(earth_handle,
                 cluster_hello{rogue, "rogue:9", 5, 0, 9, {"victim:22", "jupiter:8002"}, {"x"}});
  settle();
  CHECK(a.peer("rogue:9").up);
  CHECK(a.peer("rogue:9").interest.count("x") == 1);
  CHECK(a.state().peers.count("victim:22") == 0);
  CHECK(a.state().peers.count("jupiter:8002") == 0);
  // The same member cannot take another address.
  caf::anon_send(earth_handle, cluster_hello{rogue, "other:10", 5, 0, 9, {}, {}});
  settle();
  CHECK(a.state().peers.count("other:10") == 0);
  CHECK(contains(log_text(), "warning cluster: refused a hello address=\"other:10\""));
  CHECK(contains(log_text(), "a member under another address"));
  // A hello that names no host:port is refused (within the same second as
  // the line above: counted for the next line, not logged).
  auto stranger = bystander(mars);
  caf::anon_send(earth_handle, cluster_hello{stranger, "no-port", 6, 0, 8, {}, {}});
  settle();
  CHECK(a.state().peers.count("no-port") == 0);
  CHECK(a.state().drops_unlogged == 1);
  // Malformed topics and members of a hello are dropped and counted, the
  // rest is taken.
  auto third = bystander(mars);
  caf::anon_send(earth_handle,
                 cluster_hello{third, "third:11", 7, 0, 7, {"bad address"}, {"y", "\x01"}});
  settle();
  CHECK(a.peer("third:11").up);
  CHECK(a.peer("third:11").interest == std::unordered_set<std::string>{"y"});
  CHECK(a.peer("third:11").dropped == 2);
  // A seed our own dial reached is trusted with the members it names (one
  // seed is enough: the membership tests).
  CHECK(b.peer("earth:8000").dialed == b.peer("earth:8000").handle);
  for (auto& x : {rogue, stranger, third})
    caf::anon_send_exit(x, caf::exit_reason::kill);
  settle();
}

TEST_CASE_METHOD(fixture, "cluster: sends to users and connections count toward the backlog") {
  auto& a = start(earth, "earth", 8000, {}, /*backlog=*/10);
  auto& b = start(mars, "mars", 8001, {"earth:8000"});
  open_route(a, mars);
  settle();
  auto alice = connect(b, "alice");
  auto target = connect(b);
  // Mars does not run: nothing is acknowledged.
  for (int i = 0; i < 4; ++i)
    caf::anon_send(a.hub, send_to_user{"alice", std::to_string(i), {}});
  for (int i = 0; i < 4; ++i)
    caf::anon_send(a.hub, send_direct{target.id, std::to_string(i), {}});
  earth.sched.run();
  CHECK(a.peer("mars:8001").unacked == 8);
  for (int i = 0; i < 4; ++i)
    caf::anon_send(a.hub, send_to_user{"alice", std::to_string(i), {}});
  for (int i = 0; i < 4; ++i)
    caf::anon_send(a.hub, disconnect_user{"nobody", 1000, {}});
  earth.sched.run();
  auto& p = a.peer("mars:8001");
  CHECK(p.gaps == 8);
  CHECK(!p.up);
  CHECK(p.unacked == 0);
  CHECK(contains(log_text(), "warning cluster: peer fell behind address=mars:8001"));
  settle();
  CHECK(a.peer("mars:8001").up);
  CHECK(received(alice).size() == 4);
  CHECK(received(target).size() == 4);
}
