// The hub's delivery coalescing (hub_settings::delivery_coalesce): while the
// hub is busy (it drained within the last ten windows), the frames of a
// delivery wait one window, together with whatever comes meanwhile, and go
// out as one batch per connection; after a quiet spell a delivery goes at
// once. Time moves only when the test advances it.

#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;

namespace {

std::string publish_frame(const std::string& data) {
  return R"({"type":"publish","topic":"t","data":)" + data + "}";
}

std::string message(const std::string& data) {
  return R"({"type":"message","topic":"t","data":)" + data + "}";
}

hub_settings coalescing(caf::timespan window) {
  hub_settings h;
  h.delivery_coalesce = window;
  return h;
}

struct coalesce_fixture : hub_fixture {
  explicit coalesce_fixture(caf::timespan window)
    : hub_fixture(connection_settings{}, coalescing(window)) {
    pub = connect();
    sub = connect();
    send(sub, R"({"type":"subscribe","topic":"t"})");
    // A quiet spell: what comes next is the first delivery after it.
    advance(20ms);
    sub.transport->take();
    writes = sub.transport->writes;
  }

  /// Batches handed to the subscriber's transport since the last call.
  std::size_t new_writes() {
    auto n = sub.transport->writes - writes;
    writes = sub.transport->writes;
    return n;
  }

  client pub;
  client sub;
  std::size_t writes = 0;
};

} // namespace

TEST_CASE("deliveries while the hub is busy go out together one window later") {
  coalesce_fixture f{1ms};
  // The first after a quiet spell goes at once (the clock has not moved).
  f.send(f.pub, publish_frame("1"));
  CHECK(f.sub.transport->take() == std::vector<std::string>{message("1")});
  CHECK(f.new_writes() == 1);
  // The next two come while the hub is busy: they wait one window...
  f.send(f.pub, publish_frame("2"));
  f.send(f.pub, publish_frame("3"));
  CHECK(f.sub.transport->take().empty());
  CHECK(f.new_writes() == 0);
  f.advance(999us);
  CHECK(f.sub.transport->take().empty());
  // ...and then go out as one batch, in order.
  f.advance(1us);
  CHECK(f.sub.transport->take() == std::vector<std::string>{message("2"), message("3")});
  CHECK(f.new_writes() == 1);
  // A few windows later the hub still counts as busy...
  f.advance(5ms);
  f.send(f.pub, publish_frame("4"));
  CHECK(f.sub.transport->take().empty());
  f.advance(1ms);
  CHECK(f.sub.transport->take() == std::vector<std::string>{message("4")});
  CHECK(f.new_writes() == 1);
  // ...ten windows after its last drain it does not: at once again.
  f.advance(10ms);
  f.send(f.pub, publish_frame("5"));
  CHECK(f.sub.transport->take() == std::vector<std::string>{message("5")});
  CHECK(f.new_writes() == 1);
}

TEST_CASE("a window of 0 hands every batch over as soon as the mailbox is worked through") {
  coalesce_fixture f{0s};
  f.send(f.pub, publish_frame("1"));
  f.send(f.pub, publish_frame("2"));
  CHECK(f.sub.transport->take() == std::vector<std::string>{message("1"), message("2")});
  CHECK(f.new_writes() == 2);
}

TEST_CASE("a connection's frames past the batch limit do not wait for the window") {
  coalesce_fixture f{1ms};
  f.send(f.pub, publish_frame("0"));
  f.sub.transport->take();
  f.new_writes();
  // A burst within the window: every max-batch frames go out at once, the
  // rest at the window's end.
  constexpr int burst = 150;
  for (int i = 1; i <= burst; ++i)
    caf::anon_send(f.pub.reader, publish_frame(std::to_string(i)));
  f.run();
  auto early = f.sub.transport->take();
  CHECK(early.size() == 128);
  CHECK(f.new_writes() == 2);
  f.advance(1ms);
  auto late = f.sub.transport->take();
  REQUIRE(late.size() == burst - 128);
  CHECK(late.front() == message("129"));
  CHECK(late.back() == message(std::to_string(burst)));
}
