// The hub with a shared, asynchronous history store (hub_settings::
// history_store; hub_history_async.cpp, hub_history_reads.cpp). The store
// here is a fake: an actor that runs each request at once on the product's
// memory_history (so the store's order is the order requests arrive, as in
// Redis, where one script numbers atomically) but keeps every reply until
// the test releases it, in any order, or fails it.

#include "cluster/cluster_messages.hpp"
#include "hub/history.hpp"
#include "testing/hub_fixture_internals.hpp"
#include "switchboard/history_store.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;

struct fake_store_state {
  memory_history mem{std::size_t{64} << 20, [](const std::string&) { return true; }};
  /// Replies not sent yet, in the order their requests arrived.
  std::vector<std::function<void(bool ok)>> held;
  /// What each held reply answers ("append 3", "top", ...).
  std::vector<std::string> what;
  /// False: every reply goes out at once.
  bool holding = false;
  static inline const char* name = "fake_store";
};

using store_pointer = caf::stateful_actor<fake_store_state>*;

// Runs the request now; its reply waits while the store is holding.
template <class Reply>
void answer(store_pointer self, Reply reply, std::string what) {
  auto rp = self->make_response_promise();
  auto send = [rp, reply](bool ok) mutable {
    if (ok)
      rp.deliver(reply);
    else
      rp.deliver(make_error(hub_errc::unavailable));
  };
  if (!self->state.holding) {
    send(true);
    return;
  }
  self->state.held.emplace_back(std::move(send));
  self->state.what.push_back(std::move(what));
}

caf::behavior fake_store(store_pointer self) {
  auto now = [] { return caf::actor_clock::time_point{}; };
  return {
    [=](store_append& q) {
      auto pos = self->state.mem.append(q.topic, q.data, q.limits, now());
      answer(self, pos, "append " + std::to_string(pos.offset));
    },
    [=](store_top& q) { answer(self, self->state.mem.top(q.topic, q.limits, now()), "top"); },
    [=](store_recover& q) {
      answer(self, self->state.mem.recover(q.topic, q.since, q.max, q.limits, now()), "recover");
    },
    [=](store_read& q) {
      std::optional<stream_position> since;
      if (q.since)
        since = *q.since;
      answer(self, self->state.mem.read(q.topic, q.limit, since, q.limits, now()), "read");
    },
    [=](store_remove& q) { answer(self, self->state.mem.remove(q.topic, q.limits, now()), "remove"); },
    [=](store_totals&) { answer(self, self->state.mem.totals(), "totals"); },
    [=](release_atom, std::size_t i, bool ok) {
      auto& st = self->state;
      auto send = std::move(st.held.at(i));
      st.held.erase(st.held.begin() + static_cast<std::ptrdiff_t>(i));
      st.what.erase(st.what.begin() + static_cast<std::ptrdiff_t>(i));
      send(ok);
    },
  };
}

hub_settings with_store(hub_fixture& f) {
  auto store = f.spawn(fake_store);
  hub_settings h;
  h.namespaces["chat"] = topic_options{100, std::chrono::minutes(5), false, false};
  h.history_store = store;
  return h;
}

connection_settings unlimited() {
  connection_settings s;
  s.client_rate = 0;
  return s;
}

struct store_fixture : hub_fixture {
  store_fixture()
    : hub_fixture(unlimited(), with_store) {
    store = limits.history_store;
    // A stand-in cluster actor: records what the hub forwards, passes on
    // what "other nodes" sent.
    auto internal = caf::actor_cast<caf::actor>(hub);
    relay = spawn([this, internal](caf::event_based_actor* self) -> caf::behavior {
      return {
        [this](cluster_item& item) { forwarded.push_back(item); },
        [self, internal](cluster_delivery& d) { self->send(internal, std::move(d)); },
      };
    });
    caf::anon_send(caf::actor_cast<hub_internal_actor>(hub),
                   cluster_attach{caf::actor_cast<cluster_inbox_actor>(relay), 7});
    run();
  }

  fake_store_state& store_state() {
    auto p = caf::actor_cast<caf::abstract_actor*>(store);
    return dynamic_cast<caf::stateful_actor<fake_store_state>&>(*p).state;
  }

  void hold(bool on) {
    store_state().holding = on;
  }

  std::size_t held() {
    return store_state().held.size();
  }

  /// Sends the held reply to the request named `what` (ok, or an error).
  void release(const std::string& what, bool ok = true) {
    auto& names = store_state().what;
    auto i = std::find(names.begin(), names.end(), what);
    REQUIRE(i != names.end());
    tell(store, release_atom::value, static_cast<std::size_t>(i - names.begin()), ok);
  }

  client fresh() {
    auto c = connect();
    c.transport->take();
    return c;
  }

  void publish(const client& c, int value, const std::string& id = {}) {
    send(c, R"({"type":"publish","topic":"chat:x","data":)" + std::to_string(value)
              + (id.empty() ? "" : R"(,"id":)" + id) + "}");
  }

  /// Another node's publish that the store numbered `offset` in `epoch`.
  void remote(std::uint64_t offset, const std::string& epoch) {
    cluster_delivery d;
    d.items.push_back({cluster_item::numbered_publish, "chat:x", std::to_string(offset * 100),
                       0, offset, epoch, 0});
    caf::anon_send(relay, std::move(d));
    run();
  }

  caf::actor store;
  caf::actor relay;
  std::vector<cluster_item> forwarded;
};

std::vector<std::uint64_t> offsets(const std::vector<std::string>& frames) {
  std::vector<std::uint64_t> result;
  for (auto& f : frames) {
    auto obj = json::parse(f).as_object();
    if (obj.at("type") == "message")
      result.push_back(obj.at("offset").to_number<std::uint64_t>());
  }
  return result;
}

const std::string subscribe_x = R"({"type":"subscribe","topic":"chat:x"})";

} // namespace

TEST_CASE_METHOD(store_fixture, "appends answered out of order are delivered in offset order") {
  auto sub = fresh();
  auto pub = fresh();
  send(sub, subscribe_x);
  CHECK(sub.transport->take().size() == 1);
  hold(true);
  publish(pub, 1, "1");
  publish(pub, 2, "2");
  publish(pub, 3, "3");
  REQUIRE(held() == 3);
  CHECK(sub.transport->take().empty());
  CHECK(pub.transport->take().empty()); // no ack before it is stored
  release("append 3");
  CHECK(sub.transport->take().empty()); // 1 and 2 are not there yet
  release("append 1");
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1});
  release("append 2");
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{2, 3});
  CHECK(pub.transport->take().size() == 3); // the three acks
  // Forwarded to the cluster with the store's positions.
  std::vector<std::uint64_t> sent;
  for (auto& item : forwarded)
    if (item.kind == cluster_item::numbered_publish)
      sent.push_back(item.to);
  CHECK(sent == std::vector<std::uint64_t>{3, 1, 2});
}

TEST_CASE_METHOD(store_fixture, "a store error gives the publisher unavailable, nothing is delivered") {
  auto sub = fresh();
  auto pub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  hold(true);
  publish(pub, 1, "\"a\"");
  release("append 1", false);
  CHECK(pub.transport->take()
        == std::vector<std::string>{
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":"a"})"});
  CHECK(sub.transport->take().empty());
  // The API: 503's error.
  auto r = ask<std::uint64_t>(hub, publication{"chat:x", "1"});
  run();
  release("append 2", false);
  CHECK(r.get().error() == make_error(hub_errc::unavailable));
}

namespace {

// A client's frames: its message offsets, and whether its subscribe reply
// said recovered.
struct seen {
  std::vector<std::uint64_t> offsets;
  bool recovered = false;
};

seen look(const std::vector<std::string>& frames) {
  seen result;
  for (auto& f : frames) {
    auto obj = json::parse(f).as_object();
    if (obj.at("type") == "message")
      result.offsets.push_back(obj.at("offset").to_number<std::uint64_t>());
    else if (obj.at("type") == "subscribed" && obj.contains("recovered"))
      result.recovered = obj.at("recovered").as_bool();
  }
  return result;
}

std::string since(std::uint64_t offset, const std::string& epoch) {
  return R"({"type":"subscribe","topic":"chat:x","since":{"offset":)" + std::to_string(offset)
         + R"(,"epoch":")" + epoch + R"("}})";
}

const history_limits chat_limits{100, std::chrono::minutes(5)};

} // namespace

TEST_CASE("publishes of two nodes arrive in any order and go out in the store's order") {
  // Offsets 1 and 3 are this node's publishes (their appends answered in
  // the order under test), 2 and 4 another node's (forwarded with their
  // positions, after that node appended them to the same store).
  std::vector<std::string> events{"append 1", "remote 2", "append 3", "remote 4"};
  std::sort(events.begin(), events.end());
  std::size_t orders = 0;
  do {
    INFO("order " << events[0] << ", " << events[1] << ", " << events[2] << ", " << events[3]);
    store_fixture f;
    auto sub = f.fresh();
    auto pub = f.fresh();
    f.send(sub, subscribe_x);
    sub.transport->take();
    f.hold(true);
    f.publish(pub, 1);
    f.store_state().mem.append("chat:x", "200", chat_limits, {});
    f.publish(pub, 3);
    f.store_state().mem.append("chat:x", "400", chat_limits, {});
    auto epoch = f.store_state().mem.top("chat:x", chat_limits, {}).epoch;
    for (auto& e : events)
      if (e.rfind("remote", 0) == 0)
        f.remote(std::stoull(e.substr(7)), epoch);
      else
        f.release(e);
    CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1, 2, 3, 4});
    ++orders;
  } while (std::next_permutation(events.begin(), events.end()));
  CHECK(orders == 24);
}

TEST_CASE("a recovery with live messages during the store's round trip: every offset once, in order") {
  // Requests in two orders (the recovery before or after the append of 4
  // reached the store), and the store's three replies in every order.
  for (auto recover_first : {true, false}) {
    std::vector<std::string> replies{"append 4", "append 5", "recover"};
    std::sort(replies.begin(), replies.end());
    do {
      INFO("recover first " << recover_first << ", replies " << replies[0] << ", "
                            << replies[1] << ", " << replies[2]);
      store_fixture f;
      auto pub = f.fresh();
      auto other = f.fresh();
      f.send(other, subscribe_x);
      for (int i = 1; i <= 3; ++i)
        f.publish(pub, i);
      other.transport->take();
      auto epoch = f.store_state().mem.top("chat:x", chat_limits, {}).epoch;
      auto r = f.fresh();
      f.hold(true);
      if (recover_first)
        f.send(r, since(1, epoch));
      f.publish(pub, 4);
      if (!recover_first)
        f.send(r, since(1, epoch));
      f.publish(pub, 5);
      for (auto& what : replies)
        f.release(what);
      auto got = look(r.transport->take());
      CHECK(got.recovered);
      CHECK(got.offsets == std::vector<std::uint64_t>{2, 3, 4, 5});
      CHECK(offsets(other.transport->take()) == std::vector<std::uint64_t>{4, 5});
    } while (std::next_permutation(replies.begin(), replies.end()));
  }
}

TEST_CASE_METHOD(store_fixture, "a gap is filled from the store after its timeout") {
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  publish(pub, 1);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{1});
  // Another node appended 2 and 3 and died before forwarding 2.
  store_state().mem.append("chat:x", "200", chat_limits, {});
  store_state().mem.append("chat:x", "300", chat_limits, {});
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  remote(3, epoch);
  CHECK(sub.transport->take().empty());
  advance(limits.history_gap_timeout / 2);
  CHECK(sub.transport->take().empty());
  advance(limits.history_gap_timeout);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE_METHOD(store_fixture, "a gap the store cannot fill is skipped") {
  auto sub = fresh();
  send(sub, subscribe_x);
  sub.transport->take();
  auto pub = fresh();
  publish(pub, 1);
  sub.transport->take();
  store_state().mem.append("chat:x", "200", chat_limits, {});
  store_state().mem.append("chat:x", "300", chat_limits, {});
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  remote(3, epoch);
  hold(true);
  advance(limits.history_gap_timeout * 2);
  release("read", false);
  CHECK(offsets(sub.transport->take()) == std::vector<std::uint64_t>{3});
  remote(2, epoch); // too late: never after 3
  CHECK(sub.transport->take().empty());
}

TEST_CASE_METHOD(store_fixture, "store errors on subscribe and history: unavailable, nothing changes") {
  auto c = fresh();
  auto pub = fresh();
  hold(true);
  send(c, R"({"type":"subscribe","topic":"chat:x","id":1})");
  send(c, R"({"type":"history","topic":"chat:x","id":2})"); // waits behind the subscribe
  release("top", false);
  release("read", false);
  CHECK(c.transport->take()
        == std::vector<std::string>{
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":1})",
          R"({"type":"error","code":"unavailable","reason":"the history store cannot be reached","id":2})"});
  hold(false);
  publish(pub, 1);
  CHECK(c.transport->take().empty()); // not subscribed
  auto page = request<history_page>(query_history{"chat:x", 10, caf::none});
  REQUIRE(page);
  CHECK(page->offset == 1);
  hold(true);
  auto removed = ask<stream_position>(hub, remove_history{"chat:x"});
  run();
  release("remove", false);
  CHECK(removed.get().error() == make_error(hub_errc::unavailable));
}

TEST_CASE_METHOD(store_fixture, "a connection that leaves while the store answers leaves nothing behind") {
  auto pub = fresh();
  publish(pub, 1);
  auto epoch = store_state().mem.top("chat:x", chat_limits, {}).epoch;
  auto r = fresh();
  auto h = fresh();
  hold(true);
  send(r, since(0, epoch));
  send(h, R"({"type":"history","topic":"chat:x"})");
  publish(pub, 2);
  disconnect(r);
  disconnect(h);
  disconnect(pub);
  release("recover");
  release("read");
  release("append 2");
  CHECK_FALSE(remembers(r));
  CHECK_FALSE(remembers(h));
  CHECK_FALSE(remembers(pub));
  auto& a = *testing::hub_state_of(*this).async;
  CHECK(a.in_flight == 0);
  advance(limits.history_gap_timeout);
  CHECK(a.topics.empty()); // the topic is gone, and its sequence with it
}
