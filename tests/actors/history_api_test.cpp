// The typed hub API of protocol v1.1 (docs/embedding.md), as an application
// uses it through switchboard::testing: publish_numbered, query_history,
// remove_history, query_presence, query_presence_stats.

#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace switchboard;
using testing::hub_fixture;

namespace {

hub_settings chat_settings() {
  hub_settings h;
  h.namespaces["chat"] = topic_options{3, std::chrono::minutes(5), true, true};
  return h;
}

struct api_fixture : hub_fixture {
  api_fixture() : hub_fixture(connection_settings{}, chat_settings()) {
  }
};

} // namespace

TEST_CASE_METHOD(api_fixture, "publish_numbered numbers a server-side publish") {
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"chat:x"})");
  c.transport->take();
  auto first = request<publish_result>(publish_numbered{"chat:x", "1"});
  REQUIRE(first);
  CHECK(first->receivers == 1);
  CHECK(first->offset == 1);
  CHECK(first->epoch.size() == 16);
  auto second = request<publish_result>(publish_numbered{"chat:x", "2"});
  CHECK(second->offset == 2);
  CHECK(second->epoch == first->epoch);
  CHECK(c.transport->take().back()
        == R"({"type":"message","topic":"chat:x","offset":2,"data":2})");
  // Numbered like a client's: the plain publish goes on from there.
  CHECK(request<std::uint64_t>(publication{"chat:x", "3"}) == std::uint64_t{1});
  CHECK(request<publish_result>(publish_numbered{"chat:x", "4"})->offset == 4);
  // Without history: offset 0, no epoch.
  auto plain = request<publish_result>(publish_numbered{"plain", "1"});
  CHECK(plain->offset == 0);
  CHECK(plain->epoch.empty());
  CHECK(request<publish_result>(publish_numbered{"chat:x", "{"}).error()
        == make_error(hub_errc::invalid_data));
}

TEST_CASE_METHOD(api_fixture, "query_history reads, remove_history starts a new epoch") {
  for (auto data : {"1", "2", "3", "4"})
    request<publish_result>(publish_numbered{"chat:x", data});
  auto page = request<history_page>(query_history{"chat:x", 10, caf::none});
  REQUIRE(page);
  CHECK(page->offset == 4);
  REQUIRE(page->messages.size() == 3);
  CHECK(page->messages.front().offset == 2);
  CHECK(page->messages.front().data == "2");
  auto after = request<history_page>(
    query_history{"chat:x", 10, stream_position{3, page->epoch}});
  REQUIRE(after->messages.size() == 1);
  CHECK(after->messages.front().offset == 4);
  CHECK(request<history_page>(query_history{"plain", 10, caf::none}).error()
        == make_error(hub_errc::not_enabled));
  // Nobody subscribed: the history is gone, nothing new is started.
  auto removed = request<stream_position>(remove_history{"chat:x"});
  REQUIRE(removed);
  CHECK(removed->epoch.empty());
  CHECK(request<history_page>(query_history{"chat:x", 10, caf::none})->messages.empty());
  // With a subscriber, the new epoch starts at once, offsets from 1.
  auto c = connect();
  send(c, R"({"type":"subscribe","topic":"chat:x"})");
  auto renewed = request<stream_position>(remove_history{"chat:x"});
  CHECK(renewed->offset == 0);
  CHECK_FALSE(renewed->epoch.empty());
  auto next = request<publish_result>(publish_numbered{"chat:x", "5"});
  CHECK(next->offset == 1);
  CHECK(next->epoch == renewed->epoch);
  CHECK(request<stream_position>(remove_history{"plain"}).error()
        == make_error(hub_errc::not_enabled));
}

TEST_CASE_METHOD(api_fixture, "query_presence and query_presence_stats") {
  auto a = connect("ann");
  auto b = connect();
  send(a, R"({"type":"subscribe","topic":"chat:x"})");
  send(b, R"({"type":"subscribe","topic":"chat:x"})");
  auto info = request<presence_info>(query_presence{"chat:x"});
  REQUIRE(info);
  CHECK(info->topic == "chat:x");
  CHECK(info->clients.size() == 2);
  CHECK_FALSE(info->truncated);
  auto counts = request<presence_counts>(query_presence_stats{"chat:x"});
  REQUIRE(counts);
  CHECK(counts->clients == 2);
  CHECK(counts->users == 1);
  // A topic nobody is in: empty, not an error.
  CHECK(request<presence_info>(query_presence{"chat:empty"})->clients.empty());
  CHECK(request<presence_counts>(query_presence_stats{"plain"}).error()
        == make_error(hub_errc::not_enabled));
  CHECK(request<presence_info>(query_presence{""}).error()
        == make_error(hub_errc::invalid_topic));
  CHECK(stats().presence_queries == 3);
}
