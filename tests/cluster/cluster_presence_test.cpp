// Presence across simulated nodes (io_dsl): a presence query on one node
// lists the subscribers of every node; join and leave events reach the
// watchers of every node; a lost node's members leave (with leave events)
// and are gone from presence.

#include "cluster_fixture.hpp"

#include <boost/json.hpp>

#include <set>

using namespace cluster_testing;
namespace json = boost::json;

namespace {

void client_says(const client& c, std::string text) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), std::move(text));
}

// The frames of `c` since the last call, parsed.
std::vector<json::object> frames(fixture& f, client& c) {
  std::vector<json::object> result;
  for (auto& text : f.received(c))
    result.push_back(json::parse(text).as_object());
  return result;
}

// The ids a presence frame lists.
std::set<conn_id> ids_of(const json::object& frame) {
  std::set<conn_id> result;
  for (auto& c : frame.at("clients").as_array())
    result.insert(c.as_object().at("id").to_number<conn_id>());
  return result;
}

// The join or leave events among `got`, as "join ID" / "leave ID".
std::vector<std::string> events(const std::vector<json::object>& got) {
  std::vector<std::string> result;
  for (auto& x : got) {
    auto type = x.at("type").as_string();
    if (type == "join" || type == "leave")
      result.push_back(std::string{type} + " "
                       + std::to_string(x.at("id").to_number<conn_id>()));
  }
  return result;
}

struct mesh {
  node* a = nullptr;
  node* b = nullptr;
  node* c = nullptr;
  // The routes from a to the others (both ends), to cut a off.
  std::vector<std::pair<planet*, caf::io::connection_handle>> a_routes;
};

// Earth, mars and jupiter with presence and join/leave on every topic.
mesh three_nodes(fixture& f) {
  topic_options topics;
  topics.presence = true;
  topics.join_leave = true;
  mesh m;
  m.a = &f.start(f.earth, "earth", 8000, {}, 10000, {}, topics);
  m.b = &f.start(f.mars, "mars", 8001, {"earth:8000"}, 10000, {}, topics);
  auto [a_mars, mars_a] = f.open_route(*m.a, f.mars);
  m.c = &f.start(f.jupiter, "jupiter", 8002, {"earth:8000"}, 10000, {}, topics);
  auto [a_jupiter, jupiter_a] = f.open_route(*m.a, f.jupiter);
  f.open_route(*m.b, f.jupiter);
  f.settle();
  REQUIRE(m.a->members() == 2);
  REQUIRE(m.b->members() == 2);
  REQUIRE(m.c->members() == 2);
  m.a_routes = {{&f.earth, a_mars}, {&f.mars, mars_a},
                {&f.earth, a_jupiter}, {&f.jupiter, jupiter_a}};
  return m;
}

// Node a's connections to the others break (as when its process dies).
void cut_off_a(fixture& f, mesh& m) {
  for (auto& [where, handle] : m.a_routes)
    where->mpx.impl_ptr(handle)->io_failure(&where->mpx, caf::io::network::operation::read);
  f.settle();
  REQUIRE(m.b->members() == 1);
  REQUIRE(m.c->members() == 1);
}

client subscriber(fixture& f, node& n, std::string user, bool watch = false) {
  auto c = f.connect(n, std::move(user));
  client_says(c, watch ? R"({"type":"subscribe","topic":"room","join_leave":true})"
                       : R"({"type":"subscribe","topic":"room"})");
  f.settle();
  f.received(c);
  return c;
}

// What `c` is told when it asks for presence (or presence_stats).
json::object ask(fixture& f, client& c, bool stats = false) {
  client_says(c, stats ? R"({"type":"presence_stats","topic":"room","id":7})"
                       : R"({"type":"presence","topic":"room","id":7})");
  f.settle();
  auto got = frames(f, c);
  REQUIRE(got.size() == 1);
  return got[0];
}

} // namespace

TEST_CASE_METHOD(fixture, "cluster presence: a query on one node lists every node's clients") {
  auto m = three_nodes(*this);
  auto alice_a = subscriber(*this, *m.a, "alice");
  auto bob_b = subscriber(*this, *m.b, "bob");
  auto alice_c = subscriber(*this, *m.c, "alice");
  auto anon_c = subscriber(*this, *m.c, "");
  auto answer = ask(*this, bob_b);
  CHECK(answer.at("type").as_string() == "presence");
  CHECK(ids_of(answer) == std::set<conn_id>{alice_a.id, bob_b.id, alice_c.id, anon_c.id});
  CHECK(answer.at("nodes").as_int64() == 3);
  CHECK(answer.at("partial").as_bool() == false);
  CHECK(answer.at("truncated").as_bool() == false);
  CHECK(answer.at("id").as_int64() == 7);
  // Counts: alice on two nodes is one user.
  auto stats = ask(*this, bob_b, true);
  CHECK(stats.at("clients").as_int64() == 4);
  CHECK(stats.at("users").as_int64() == 2);
  CHECK(stats.at("nodes").as_int64() == 3);
  // The server API's typed query answers the same.
  mars.self->send(m.b->hub, query_presence{"room"});
  settle();
  mars.self->receive(
    [&](presence_info& info) {
      CHECK(info.clients.size() == 4);
      CHECK(info.nodes == 3);
      CHECK_FALSE(info.partial);
    },
    caf::after(caf::timespan{0}) >> [] { FAIL("no presence_info"); });
  mars.self->send(m.b->hub, query_presence_stats{"room"});
  settle();
  mars.self->receive(
    [&](presence_counts& counts) {
      CHECK(counts.clients == 4);
      CHECK(counts.users == 2);
    },
    caf::after(caf::timespan{0}) >> [] { FAIL("no presence_counts"); });
}

TEST_CASE_METHOD(fixture, "cluster presence: a member that does not answer makes it partial") {
  auto m = three_nodes(*this);
  auto bob_b = subscriber(*this, *m.b, "bob");
  auto alice_a = subscriber(*this, *m.a, "alice");
  // Jupiter's cluster actor is busy elsewhere: it never runs again.
  client_says(bob_b, R"({"type":"presence","topic":"room","id":7})");
  for (int i = 0; i < 200; ++i) {
    if (!(mars.sched.try_run_once() || mars.mpx.try_exec_runnable() || mars.mpx.read_data()
          || earth.sched.try_run_once() || earth.mpx.try_exec_runnable()
          || earth.mpx.read_data() || mars.mpx.try_read_data() || earth.mpx.try_read_data()))
      break;
  }
  mars.sched.advance_time(std::chrono::seconds(1));
  for (int i = 0; i < 200 && mars.sched.try_run_once(); ++i) {
  }
  auto got = frames(*this, bob_b);
  REQUIRE(got.size() == 1);
  CHECK(ids_of(got[0]) == std::set<conn_id>{alice_a.id, bob_b.id});
  CHECK(got[0].at("nodes").as_int64() == 2);
  CHECK(got[0].at("partial").as_bool() == true);
  settle();
}

TEST_CASE_METHOD(fixture, "cluster presence: join and leave reach watchers on other nodes") {
  auto m = three_nodes(*this);
  auto watcher_b = subscriber(*this, *m.b, "bob", true);
  auto watcher_c = subscriber(*this, *m.c, "carol", true);
  frames(*this, watcher_b);
  auto alice = subscriber(*this, *m.a, "alice");
  auto on_b = frames(*this, watcher_b);
  REQUIRE(on_b.size() == 1);
  CHECK(on_b[0].at("type").as_string() == "join");
  CHECK(on_b[0].at("topic").as_string() == "room");
  CHECK(on_b[0].at("id").to_number<conn_id>() == alice.id);
  CHECK(on_b[0].at("user").as_string() == "alice");
  CHECK(events(frames(*this, watcher_c)) == std::vector<std::string>{"join " + std::to_string(alice.id)});
  client_says(alice, R"({"type":"unsubscribe","topic":"room"})");
  settle();
  CHECK(events(frames(*this, watcher_b))
        == std::vector<std::string>{"leave " + std::to_string(alice.id)});
  CHECK(events(frames(*this, watcher_c))
        == std::vector<std::string>{"leave " + std::to_string(alice.id)});
}

TEST_CASE_METHOD(fixture, "cluster presence: a lost node's members leave and are gone") {
  auto m = three_nodes(*this);
  // Alice joined before anyone on mars watched: mars learns of her from
  // earth's snapshot when its interest begins (no join event for it).
  auto alice = subscriber(*this, *m.a, "alice");
  auto watcher_b = subscriber(*this, *m.b, "bob", true);
  CHECK(frames(*this, watcher_b).empty());
  auto anon = subscriber(*this, *m.a, "");
  CHECK(events(frames(*this, watcher_b))
        == std::vector<std::string>{"join " + std::to_string(anon.id)});
  auto carol = subscriber(*this, *m.c, "carol");
  frames(*this, watcher_b);
  CHECK(ids_of(ask(*this, watcher_b)).size() == 4);
  cut_off_a(*this, m);
  auto left = events(frames(*this, watcher_b));
  std::sort(left.begin(), left.end());
  auto expected = std::vector<std::string>{"leave " + std::to_string(alice.id),
                                           "leave " + std::to_string(anon.id)};
  std::sort(expected.begin(), expected.end());
  CHECK(left == expected);
  auto answer = ask(*this, watcher_b);
  CHECK(ids_of(answer) == std::set<conn_id>{watcher_b.id, carol.id});
  CHECK(answer.at("nodes").as_int64() == 2);
  CHECK(answer.at("partial").as_bool() == false);
  CHECK(log_text().find("cluster: members of address=earth:8000 gone: 2 leave(s)")
        != std::string::npos);
}

TEST_CASE_METHOD(fixture, "cluster presence: only members and the node's own hub may ask") {
  auto m = three_nodes(*this);
  subscriber(*this, *m.b, "bob");
  // An actor that is no member asks for mars's part, or for a fan-out.
  caf::error refused;
  auto part = mars.self->request(m.b->cluster, std::chrono::seconds(1),
                                 cluster_presence_atom::value, std::string{"room"}, false);
  settle(); // (the answer is waiting when receive looks)
  part.receive([&](presence_part&) { FAIL("a stranger got mars's subscribers"); },
             [&](caf::error& err) { refused = err; });
  CHECK(refused == caf::sec::unexpected_message);
  refused = caf::error{};
  auto parts = mars.self->request(m.b->cluster, std::chrono::seconds(1),
                                  cluster_presence_query{"room", false});
  settle();
  parts.receive([&](cluster_presence_parts&) { FAIL("a stranger started a fan-out"); },
             [&](caf::error& err) { refused = err; });
  CHECK(refused == caf::sec::unexpected_message);
}
