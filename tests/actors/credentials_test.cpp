// A connection's credentials end at their expiry (upgrade_verdict::expires):
// the node closes it with 4001 unless the client refreshed them before
// (`{"type":"refresh","token":T}`), which the hub puts to the authenticator.

#include "testing/hub_fixture_internals.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;
namespace json = boost::json;

namespace {

using answer_atom = caf::atom_constant<caf::atom("answer")>;

// An application's authenticator, scripted: each token it knows stands for
// a verdict; a token starting with "slow:" is answered 5 s later; every
// request it gets is kept for the test to look at.
struct scripted_authenticator {
  std::map<std::string, upgrade_verdict> verdicts;
  std::vector<upgrade_request> asked;
};

caf::behavior authenticator(caf::event_based_actor* self,
                            std::shared_ptr<scripted_authenticator> script) {
  auto held = std::make_shared<std::vector<
    std::pair<caf::typed_response_promise<upgrade_verdict>, upgrade_verdict>>>();
  return {
    [self, script, held](upgrade_request& req) -> caf::result<upgrade_verdict> {
      script->asked.push_back(req);
      std::string token;
      for (auto& [name, value] : req.headers)
        if (name == "Authorization" && value.rfind("Bearer ", 0) == 0)
          token = value.substr(7);
      upgrade_verdict refused;
      refused.reason = "bad token signature";
      auto slow = token.rfind("slow:", 0) == 0;
      auto i = script->verdicts.find(slow ? token.substr(5) : token);
      auto verdict = i == script->verdicts.end() ? refused : i->second;
      if (!slow)
        return verdict;
      held->emplace_back(self->make_response_promise<upgrade_verdict>(), verdict);
      self->delayed_send(self, 5s, answer_atom::value);
      return held->back().first;
    },
    [held](answer_atom) {
      for (auto& [promise, verdict] : *held)
        promise.deliver(verdict);
      held->clear();
    },
  };
}

upgrade_verdict allow(std::string user, caf::timespan from_now,
                      caf::optional<std::vector<std::string>> topics = caf::none) {
  upgrade_verdict v;
  v.allow = true;
  v.user = std::move(user);
  v.topics = std::move(topics);
  v.expires = caf::make_timestamp() + from_now;
  return v;
}

connection_settings quiet() {
  connection_settings s;
  s.ping_interval = 1000h; // no heartbeat in the way
  return s;
}

struct fixture {
  std::shared_ptr<scripted_authenticator> script = std::make_shared<scripted_authenticator>();
  hub_fixture f{quiet(), [this](hub_fixture& hf) {
                  hub_settings h;
                  h.authenticator = caf::actor_cast<authenticator_actor>(
                    hf.spawn(authenticator, script));
                  h.authenticate_timeout = 10s;
                  return h;
                }};
};

json::object last(const hub_fixture::client& c) {
  auto frames = c.transport->take();
  REQUIRE_FALSE(frames.empty());
  INFO(frames.back());
  return json::parse(frames.back()).as_object();
}

std::string refresh(const std::string& token, int id) {
  return R"({"type":"refresh","token":")" + token + R"(","id":)" + std::to_string(id) + "}";
}

void check_closed_for_expiry(hub_fixture& f, const hub_fixture::client& c) {
  CHECK_FALSE(f.alive(c.reader));
  CHECK(f.exit_reason(c.reader) == make_error(exit_code::token_expired));
  CHECK(c.transport->closed == exit_code::token_expired);
  CHECK(c.transport->close_code == 4001);
  CHECK(c.transport->close_text == "token expired");
}

} // namespace

TEST_CASE("a connection is closed with 4001 when its credentials expire") {
  hub_fixture f{quiet()};
  auto c = f.connect(allow("alice", 60s));
  auto forever = f.connect(upgrade_verdict{true, "bob", 401, {}, caf::none, caf::none});
  // (The expiry is wall-clock time, turned into the actor clock's when it
  // connects: a second of slack either side covers the test's own run time.)
  f.advance(59s);
  REQUIRE(f.alive(c.reader));
  f.advance(2s);
  check_closed_for_expiry(f, c);
  CHECK(f.stats().disconnects.at("token_expired") == 1);
  f.advance(100h);
  CHECK(f.alive(forever.reader));
}

TEST_CASE("credentials already expired end the connection at once") {
  hub_fixture f{quiet()};
  auto c = f.connect(allow("alice", -1s));
  f.run();
  check_closed_for_expiry(f, c);
}

TEST_CASE_METHOD(fixture, "a refresh before the expiry moves the deadline") {
  auto later = allow("alice", 120s);
  script->verdicts["later"] = later;
  auto c = f.connect(allow("alice", 60s));
  c.transport->take();
  f.advance(50s);
  f.send(c, refresh("later", 1));
  auto reply = last(c);
  CHECK(reply.at("type") == "refreshed");
  CHECK(reply.at("id") == 1);
  auto seconds = std::chrono::floor<std::chrono::seconds>(later.expires->time_since_epoch());
  CHECK(reply.at("expires") == seconds.count());
  // The authenticator was asked about the connection, with the token as a
  // bearer token.
  REQUIRE(script->asked.size() == 1);
  auto& asked = script->asked[0];
  CHECK(asked.refresh == c.id);
  CHECK(asked.target.empty());
  CHECK(asked.headers
        == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer later"}});
  f.advance(69s); // 119 s in
  REQUIRE(f.alive(c.reader));
  f.advance(2s);
  check_closed_for_expiry(f, c);
}

TEST_CASE_METHOD(fixture, "a refresh to credentials without expiry ends the deadline") {
  script->verdicts["forever"] = upgrade_verdict{true, "alice", 401, {}, caf::none, caf::none};
  auto c = f.connect(allow("alice", 60s));
  f.send(c, refresh("forever", 1));
  CHECK(last(c) == json::parse(R"({"type":"refreshed","id":1})").as_object());
  f.advance(100h);
  CHECK(f.alive(c.reader));
}

TEST_CASE_METHOD(fixture, "a token of another user is forbidden, a bad one bad_token") {
  script->verdicts["bob"] = allow("bob", 600s);
  auto c = f.connect(allow("alice", 60s));
  c.transport->take();
  f.send(c, refresh("bob", 1));
  auto err = last(c);
  CHECK(err.at("code") == "forbidden");
  CHECK(err.at("id") == 1);
  f.send(c, refresh("garbage", 2));
  err = last(c);
  CHECK(err.at("code") == "bad_token");
  CHECK(err.at("reason") == "bad token signature");
  CHECK(err.at("id") == 2);
  // Both times the connection stays, and its deadline with it.
  f.advance(59s);
  REQUIRE(f.alive(c.reader));
  CHECK(hub_state_of(f).connections.at(c.id).user == "alice");
  f.advance(2s);
  check_closed_for_expiry(f, c);
  CHECK(f.stats().rejections.at("forbidden") == 1);
}

TEST_CASE_METHOD(fixture, "a refresh with the deadline passing meanwhile is waited for") {
  script->verdicts["later"] = allow("alice", 120s);
  auto a = f.connect(allow("alice", 60s));
  auto b = f.connect(allow("alice", 60s));
  f.advance(58s);
  a.transport->take();
  // The authenticator answers 5 s later, after the deadline; the commands
  // behind the refresh wait for it.
  f.send(a, refresh("slow:later", 1));
  f.send(a, R"({"type":"subscribe","topic":"t","id":2})");
  f.send(b, refresh("slow:garbage", 1));
  f.advance(4s); // 62 s in
  CHECK(f.alive(a.reader));
  CHECK(f.alive(b.reader));
  CHECK(a.transport->take().empty());
  f.advance(1s);
  auto frames = a.transport->take();
  REQUIRE(frames.size() == 2);
  CHECK(json::parse(frames[0]).at("type") == "refreshed");
  CHECK(json::parse(frames[1]).at("type") == "subscribed");
  CHECK(f.alive(a.reader));
  // A refused one ends the connection as soon as the answer is in.
  check_closed_for_expiry(f, b);
}

TEST_CASE_METHOD(fixture, "a refreshed token's topics replace the connection's") {
  script->verdicts["news"] = allow("alice", 600s, std::vector<std::string>{"news/*"});
  script->verdicts["all"] = allow("alice", 600s);
  auto c = f.connect(allow("alice", 60s));
  f.send(c, R"({"type":"subscribe","topic":"news/today"})");
  f.send(c, R"({"type":"subscribe","topic":"sports"})");
  c.transport->take();
  // Narrowed: a subscription it no longer allows ends, and the client is
  // told before the reply.
  f.send(c, refresh("news", 1));
  auto frames = c.transport->take();
  REQUIRE(frames.size() == 2);
  CHECK(json::parse(frames[0]) == json::parse(R"({"type":"unsubscribed","topic":"sports"})"));
  CHECK(json::parse(frames[1]).at("type") == "refreshed");
  CHECK(hub_state_of(f).topics.find("sports") == nullptr);
  CHECK(hub_state_of(f).topics.find("news/today") != nullptr);
  f.send(c, R"({"type":"subscribe","topic":"sports","id":2})");
  CHECK(last(c).at("code") == "forbidden");
  // Widened again by a token without the claim.
  f.send(c, refresh("all", 3));
  CHECK(last(c).at("type") == "refreshed");
  f.send(c, R"({"type":"subscribe","topic":"sports","id":4})");
  CHECK(last(c).at("type") == "subscribed");
}

TEST_CASE_METHOD(fixture, "a silent authenticator leaves the credentials as they were") {
  // A token that is never answered: the hub's request times out.
  auto c = f.connect(allow("alice", 60s));
  c.transport->take();
  hub_state_of(f).settings.authenticator
    = caf::actor_cast<authenticator_actor>(f.spawn([](caf::event_based_actor*) -> caf::behavior {
        return {[](upgrade_request&) -> caf::result<upgrade_verdict> {
          return caf::skip; // never answers
        }};
      }));
  f.send(c, refresh("anything", 1));
  CHECK(c.transport->take().empty());
  f.advance(10s);
  auto err = last(c);
  CHECK(err.at("code") == "unavailable");
  CHECK(err.at("id") == 1);
  f.advance(49s);
  CHECK(f.alive(c.reader));
  f.advance(2s);
  check_closed_for_expiry(f, c);
}

TEST_CASE("a refresh on a node without an authenticator is not_enabled") {
  hub_fixture f{quiet()};
  auto c = f.connect(allow("alice", 60s));
  c.transport->take();
  f.send(c, refresh("anything", 1));
  auto err = last(c);
  CHECK(err.at("code") == "not_enabled");
  CHECK(err.at("id") == 1);
  CHECK(f.alive(c.reader));
}
