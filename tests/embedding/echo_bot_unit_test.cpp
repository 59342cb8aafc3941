// The deterministic test shown in docs/embedding.md: the example's bot
// against a hub on the test coordinator.

#include "echo_bot.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

TEST_CASE("echo bot answers questions on a deterministic hub") {
  switchboard::testing::hub_fixture f;
  auto bot = f.spawn(echo_bot, f.hub);
  f.run();
  auto client = f.connect();
  auto watcher = f.connect();
  f.send(watcher, R"({"type":"subscribe","topic":"answers"})");
  client.transport->take();
  watcher.transport->take();
  f.send(client, R"({"type":"publish","topic":"questions","data":1})");
  auto frames = client.transport->take();
  REQUIRE(frames.size() == 1);
  CHECK(frames[0] == R"({"type":"direct","from":0,"data":{"question":1,"answer":42}})");
  auto broadcast = watcher.transport->take();
  REQUIRE(broadcast.size() == 1);
  CHECK(broadcast[0]
        == R"({"type":"message","topic":"answers","data":{"question":1,"answer":42}})");
  // The bot listened on one topic; once it is gone, so is the topic.
  CHECK(f.stats().topics == 2);
  CHECK(f.stats().listeners == 1);
  caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
  f.run();
  CHECK(f.stats().topics == 1); // "answers", the watcher's
  CHECK(f.stats().listeners == 0);
}
