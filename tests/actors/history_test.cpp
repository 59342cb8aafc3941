// History and recovery through the hub with fake clients (protocol v1.1):
// offsets on message frames, the subscribe reply, recovery at every
// boundary, replay and live delivery with the subscribe at every place among
// the publishes, TTL on virtual time, the byte bound, namespaces.

#include "testing/hub_fixture_internals.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

hub_settings with_history(std::size_t size = 10) {
  hub_settings h;
  h.namespaces["chat"] = topic_options{size, std::chrono::minutes(5), true, true};
  return h;
}

struct history_fixture : hub_fixture {
  explicit history_fixture(hub_settings h = with_history())
    : hub_fixture(unlimited(), std::move(h)) {
  }

  static connection_settings unlimited() {
    connection_settings s;
    s.client_rate = 0; // tests publish in bursts
    return s;
  }

  /// The one frame `c` got since the last take.
  std::string pop_one(const client& c) {
    auto frames = c.transport->take();
    REQUIRE(frames.size() == 1);
    return frames.front();
  }

  /// A connected client with its welcome taken.
  client fresh(std::string user = {}) {
    auto c = connect(std::move(user));
    c.transport->take();
    return c;
  }

  void publish(const client& c, const std::string& topic, int value) {
    send(c, R"({"type":"publish","topic":")" + topic + R"(","data":)"
              + std::to_string(value) + "}");
  }
};

json::object parse(const std::string& frame) {
  INFO(frame);
  return json::parse(frame).as_object();
}

std::string since(std::uint64_t offset, const std::string& epoch) {
  return R"(,"since":{"offset":)" + std::to_string(offset) + R"(,"epoch":")" + epoch
         + R"("})";
}

std::string subscribe(const std::string& topic, const std::string& extra = {}) {
  return R"({"type":"subscribe","topic":")" + topic + "\"" + extra + "}";
}

// The offsets of the message frames among `frames`, in order.
std::vector<std::uint64_t> offsets(const std::vector<std::string>& frames) {
  std::vector<std::uint64_t> result;
  for (auto& f : frames) {
    auto obj = parse(f);
    if (obj.at("type") == "message")
      result.push_back(obj.at("offset").to_number<std::uint64_t>());
  }
  return result;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> result;
  for (auto i = first; i <= last; ++i)
    result.push_back(i);
  return result;
}

} // namespace

TEST_CASE_METHOD(history_fixture, "messages on a history topic carry their offset") {
  auto a = fresh();
  send(a, subscribe("chat:x", R"(,"id":1)"));
  auto reply = parse(a.transport->take().at(0));
  CHECK(reply.at("type") == "subscribed");
  CHECK(reply.at("offset") == 0);
  auto epoch = std::string{reply.at("epoch").as_string()};
  CHECK(epoch.size() == 16);
  CHECK(reply.at("id") == 1);
  CHECK_FALSE(reply.contains("recovered"));
  publish(a, "chat:x", 7);
  publish(a, "chat:x", 8);
  CHECK(a.transport->take()
        == std::vector<std::string>{
          R"({"type":"message","topic":"chat:x","offset":1,"data":7})",
          R"({"type":"message","topic":"chat:x","offset":2,"data":8})"});
  // A topic without history is v1 as it was.
  send(a, subscribe("plain"));
  publish(a, "plain", 1);
  CHECK(a.transport->take()
        == std::vector<std::string>{R"({"type":"subscribed","topic":"plain"})",
                                    R"({"type":"message","topic":"plain","data":1})"});
}

TEST_CASE_METHOD(history_fixture, "a recovering subscribe is exact at every boundary") {
  auto pub = fresh();
  for (int i = 1; i <= 15; ++i)
    publish(pub, "chat:x", i); // history-size 10: 6..15 kept
  auto epoch = hub_state_of(*this).history->top("chat:x", {10, 5min}, {}).epoch;
  auto c = fresh();
  auto recover = [&](std::uint64_t o, const std::string& e) {
    send(c, subscribe("chat:x", since(o, e)));
    auto frames = c.transport->take();
    send(c, R"({"type":"unsubscribe","topic":"chat:x"})");
    c.transport->take();
    REQUIRE_FALSE(frames.empty());
    auto reply = parse(frames.front());
    CHECK(reply.at("offset") == 15);
    CHECK(reply.at("epoch") == json::string{epoch});
    return std::make_pair(reply.at("recovered").as_bool(), offsets(frames));
  };
  using result = std::pair<bool, std::vector<std::uint64_t>>;
  CHECK(recover(15, epoch) == result{true, {}});           // O = TOP
  CHECK(recover(14, epoch) == result{true, {15}});         // O = TOP - 1
  CHECK(recover(5, epoch) == result{true, range(6, 15)});  // just below the oldest kept
  CHECK(recover(4, epoch) == result{false, {}});           // older than kept
  CHECK(recover(15, "feedfeedfeedfeed") == result{false, {}}); // wrong epoch
  CHECK(recover(16, epoch) == result{false, {}});          // never given out
  CHECK(hub_state_of(*this).stats.recovered == 3);
  CHECK(hub_state_of(*this).stats.not_recovered == 3);
}

TEST_CASE("more than recovery-max missing is not recovered") {
  auto h = with_history(100);
  h.recovery_max = 3;
  history_fixture f{h};
  auto pub = f.fresh();
  for (int i = 1; i <= 5; ++i)
    f.publish(pub, "chat:x", i);
  auto epoch = hub_state_of(f).history->top("chat:x", {100, 5min}, {}).epoch;
  auto c = f.fresh();
  f.send(c, subscribe("chat:x", since(2, epoch)));
  CHECK(offsets(c.transport->take()) == range(3, 5));
  f.send(c, subscribe("chat:x", since(1, epoch)));
  auto frames = c.transport->take();
  CHECK(parse(frames.at(0)).at("recovered") == false);
  CHECK(offsets(frames).empty());
}

TEST_CASE("replay and live delivery meet without gap or duplicate, whatever the order") {
  // The hub sees the recovering subscribe before, between or after the
  // publishes of another client: every such order is tried, from every
  // point of recovery.
  constexpr int before = 4; // published before the client went away
  constexpr int during = 5; // published around its subscribe
  for (int o = 0; o <= before; ++o) {
    for (int place = 0; place <= during; ++place) {
      history_fixture f;
      auto pub = f.fresh();
      for (int i = 1; i <= before; ++i)
        f.publish(pub, "chat:x", i);
      auto epoch = hub_state_of(f).history->top("chat:x", {10, 5min}, {}).epoch;
      auto c = f.fresh();
      for (int i = 1; i <= during; ++i) {
        if (i == place + 1)
          f.send(c, subscribe("chat:x", since(static_cast<std::uint64_t>(o), epoch)));
        f.publish(pub, "chat:x", before + i);
      }
      if (place == during)
        f.send(c, subscribe("chat:x", since(static_cast<std::uint64_t>(o), epoch)));
      INFO("since " << o << ", subscribe after " << place << " publishes");
      auto frames = c.transport->take();
      auto reply = parse(frames.at(0));
      CHECK(reply.at("recovered") == true);
      CHECK(reply.at("offset") == before + place);
      CHECK(offsets(frames) == range(static_cast<std::uint64_t>(o) + 1, before + during));
    }
  }
}

TEST_CASE("a recovery and publishes already queued in the hub's mailbox meet exactly") {
  // Two publishers' commands and the recovering subscribe reach the hub's
  // mailbox before it runs (A's, the subscribe, B's): the hub then handles
  // them in one go, and the replay must still sit between A's and B's.
  for (int ahead = 0; ahead <= 3; ++ahead) {
    history_fixture f;
    auto a = f.fresh();
    auto b = f.fresh();
    for (int i = 1; i <= 4; ++i)
      f.publish(a, "chat:x", i);
    auto epoch = hub_state_of(f).history->top("chat:x", {10, 5min}, {}).epoch;
    auto c = f.fresh();
    auto say = [&](const hub_fixture::client& who, const std::string& text) {
      caf::anon_send(caf::actor_cast<caf::actor>(who.reader), text);
    };
    for (int i = 1; i <= ahead; ++i)
      say(a, R"({"type":"publish","topic":"chat:x","data":0})");
    say(c, subscribe("chat:x", since(2, epoch)));
    for (int i = ahead + 1; i <= 3; ++i)
      say(b, R"({"type":"publish","topic":"chat:x","data":0})");
    f.run();
    INFO(ahead << " publishes ahead of the subscribe");
    auto frames = c.transport->take();
    CHECK(parse(frames.at(0)).at("offset") == 4 + ahead);
    CHECK(offsets(frames) == range(3, 7));
  }
}

TEST_CASE_METHOD(history_fixture, "an emptied topic keeps its history until the TTL") {
  auto c = fresh();
  send(c, subscribe("chat:x"));
  auto epoch = std::string{parse(c.transport->take().at(0)).at("epoch").as_string()};
  publish(c, "chat:x", 1);
  c.transport->take();
  disconnect(c);
  CHECK(hub_state_of(*this).topics.find("chat:x") == nullptr);
  // Published while nobody listens: stored and numbered all the same.
  auto pub = fresh();
  publish(pub, "chat:x", 2);
  advance(4min);
  auto back = fresh();
  send(back, subscribe("chat:x", since(1, epoch)));
  auto frames = back.transport->take();
  CHECK(parse(frames.at(0)).at("recovered") == true);
  CHECK(offsets(frames) == range(2, 2));
  disconnect(back);
  // Past the TTL of the last message, the history is gone: a new epoch.
  advance(5min + 1s);
  CHECK(hub_state_of(*this).history->totals().topics == 0);
  auto late = fresh();
  send(late, subscribe("chat:x", since(2, epoch)));
  auto reply = parse(late.transport->take().at(0));
  CHECK(reply.at("recovered") == false);
  CHECK(reply.at("offset") == 0);
  CHECK(reply.at("epoch") != json::string{epoch});
}

TEST_CASE("the byte bound evicts, and recovery below the eviction fails") {
  auto h = with_history(100'000);
  h.history_max_bytes = 1 << 20;
  history_fixture f{h};
  auto pub = f.fresh();
  auto c = f.fresh();
  f.send(c, subscribe("chat:x"));
  auto epoch = std::string{parse(c.transport->take().at(0)).at("epoch").as_string()};
  auto big = "\"" + std::string(1000, 'x') + "\"";
  int n = 0;
  while (hub_state_of(f).history->totals().evicted == 0) {
    f.send(pub, R"({"type":"publish","topic":"chat:x","data":)" + big + "}");
    REQUIRE(++n < 2000);
  }
  CHECK(hub_state_of(f).history->totals().bytes <= h.history_max_bytes);
  CHECK(f.stats().history_evicted == 1);
  f.disconnect(c);
  auto back = f.fresh();
  f.send(back, subscribe("chat:x", since(0, epoch)));
  auto reply = parse(back.transport->take().at(0));
  CHECK(reply.at("recovered") == false);
  CHECK(reply.at("epoch") == json::string{epoch}); // the same history, missing its oldest
}

TEST_CASE("a replay larger than the budget answers recovered:false") {
  auto h = with_history(100);
  h.replay_max_bytes = 400;
  history_fixture f{h};
  auto pub = f.fresh();
  for (int i = 1; i <= 10; ++i)
    f.publish(pub, "chat:x", i);
  auto epoch = hub_state_of(f).history->top("chat:x", {100, 5min}, {}).epoch;
  auto c = f.fresh();
  f.send(c, subscribe("chat:x", since(8, epoch))); // two messages fit
  CHECK(offsets(c.transport->take()) == range(9, 10));
  f.send(c, subscribe("chat:x", since(0, epoch))); // ten do not
  auto frames = c.transport->take();
  CHECK(parse(frames.at(0)).at("recovered") == false);
  CHECK(offsets(frames).empty());
}

TEST_CASE_METHOD(history_fixture, "since and join_leave need their namespace's options") {
  auto c = fresh();
  send(c, subscribe("plain", since(0, "x") + R"(,"id":2)"));
  send(c, subscribe("plain", R"(,"join_leave":true)"));
  send(c, R"({"type":"history","topic":"plain"})");
  send(c, R"({"type":"presence","topic":"other:y"})");
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 4);
  for (auto& f : frames)
    CHECK(parse(f).at("code") == "not_enabled");
  CHECK(parse(frames[0]).at("id") == 2);
  // Nothing changed.
  CHECK(hub_state_of(*this).topics.find("plain") == nullptr);
}

TEST_CASE_METHOD(history_fixture, "bad v1.1 members are bad requests") {
  auto c = fresh();
  for (auto extra : {R"(,"since":5)", R"(,"since":{"offset":-1,"epoch":"e"})",
                     R"(,"since":{"offset":1})", R"(,"since":{"offset":1,"epoch":7})",
                     R"(,"join_leave":"yes")"})
    send(c, subscribe("chat:x", extra));
  send(c, R"({"type":"history","topic":"chat:x","limit":"all"})");
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 6);
  for (auto& f : frames)
    CHECK(parse(f).at("code") == "bad_request");
}

TEST_CASE("the history command gives the last messages, or those after since") {
  auto h = with_history(100);
  h.recovery_max = 4;
  history_fixture f{h};
  auto c = f.fresh();
  for (int i = 1; i <= 6; ++i)
    f.publish(c, "chat:x", i * 10);
  f.send(c, R"({"type":"history","topic":"chat:x","limit":2,"id":"h"})");
  auto reply = parse(f.pop_one(c));
  CHECK(reply.at("type") == "history");
  CHECK(reply.at("offset") == 6);
  CHECK(reply.at("id") == "h");
  CHECK(json::serialize(reply.at("messages"))
        == R"([{"offset":5,"data":50},{"offset":6,"data":60}])");
  auto epoch = std::string{reply.at("epoch").as_string()};
  // No limit: capped at recovery-max.
  f.send(c, R"({"type":"history","topic":"chat:x"})");
  CHECK(parse(f.pop_one(c)).at("messages").as_array().size() == 4);
  f.send(c, R"({"type":"history","topic":"chat:x","limit":10)" + since(1, epoch) + "}");
  auto after = parse(f.pop_one(c)).at("messages").as_array();
  REQUIRE(after.size() == 4);
  CHECK(after[0].at("offset") == 2);
  // A topic that holds no history: an empty epoch.
  f.send(c, R"({"type":"history","topic":"chat:none"})");
  auto none = parse(f.pop_one(c));
  CHECK(none.at("epoch") == "");
  CHECK(none.at("messages").as_array().empty());
}

TEST_CASE("history and presence take what subscribing takes") {
  history_fixture f;
  auto c = f.connect("u", std::vector<std::string>{"chat:mine"});
  c.transport->take();
  f.send(c, R"({"type":"history","topic":"chat:other"})");
  f.send(c, R"({"type":"presence","topic":"chat:other"})");
  f.send(c, R"({"type":"history","topic":"chat:mine"})");
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 3);
  CHECK(parse(frames[0]).at("code") == "forbidden");
  CHECK(parse(frames[1]).at("code") == "forbidden");
  CHECK(parse(frames[2]).at("type") == "history");
}

TEST_CASE("a history reply larger than the budget is cut down and marked truncated") {
  auto h = with_history(100);
  h.replay_max_bytes = 400;
  history_fixture f{h};
  auto pub = f.fresh();
  for (int i = 1; i <= 10; ++i)
    f.publish(pub, "chat:x", i);
  auto epoch = hub_state_of(f).history->top("chat:x", {100, 5min}, {}).epoch;
  auto c = f.fresh();
  auto offsets_of = [](const json::object& reply) {
    std::vector<std::uint64_t> result;
    for (auto& m : reply.at("messages").as_array())
      result.push_back(m.as_object().at("offset").to_number<std::uint64_t>());
    return result;
  };
  // Some fit (not all ten): the newest ones, or the first ones after `since`,
  // without a gap.
  f.send(c, R"({"type":"history","topic":"chat:x","limit":10})");
  auto last = parse(f.pop_one(c));
  auto newest = offsets_of(last);
  REQUIRE(!newest.empty());
  CHECK(newest.size() < 10);
  CHECK(newest == range(11 - newest.size(), 10));
  CHECK(last.at("truncated") == true);
  f.send(c, R"({"type":"history","topic":"chat:x","limit":10)" + since(2, epoch) + "}");
  auto after = parse(f.pop_one(c));
  auto oldest = offsets_of(after);
  REQUIRE(!oldest.empty());
  CHECK(oldest.size() < 8);
  CHECK(oldest == range(3, 2 + oldest.size()));
  CHECK(after.at("truncated") == true);
  // What fits is not marked.
  f.send(c, R"({"type":"history","topic":"chat:x","limit":2})");
  auto small = parse(f.pop_one(c));
  CHECK(offsets_of(small) == range(9, 10));
  CHECK(small.count("truncated") == 0);
  // The client stays.
  CHECK(!c.transport->closed);
}
