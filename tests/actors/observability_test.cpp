// What the hub tells an operator, on virtual time: its log lines (connects
// and disconnects at debug, drops at warn), the stamp a publish's frame
// carries for the latency metric, and its mailbox size in the statistics.

#include "commands.hpp"
#include "protocol.hpp"
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>

using namespace std::chrono_literals;
using namespace switchboard;
using testing::hub_fixture;

namespace {

/// A logger that writes "level message" lines into `out`.
std::shared_ptr<spdlog::logger> logger_into(std::ostringstream& out,
                                            spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  auto log = std::make_shared<spdlog::logger>("test", sink);
  log->set_pattern("%l %v");
  log->set_level(level);
  return log;
}

hub_settings logging_to(std::shared_ptr<spdlog::logger> log) {
  hub_settings s;
  s.logger = std::move(log);
  return s;
}

connection_settings short_timers() {
  connection_settings s;
  s.ping_interval = 1s;
  s.pong_timeout = 300ms;
  return s;
}

} // namespace

TEST_CASE("the hub logs a connect and a disconnect at debug, one line each") {
  std::ostringstream out;
  hub_fixture f{connection_settings{}, logging_to(logger_into(out, spdlog::level::debug))};
  auto c = f.connect("alice");
  auto id = std::to_string(c.id);
  CHECK(out.str() == "debug connect conn=" + id + " user=\"alice\" remote=-\n");
  out.str("");
  f.disconnect(c, exit_code::socket_closed);
  CHECK(out.str()
        == "debug disconnect conn=" + id
             + " user=\"alice\" remote=- reason=socket_closed\n");
  out.str("");
  f.connect();
  CHECK(out.str().find(" user=- ") != std::string::npos);
}

TEST_CASE("a user id in a log line is quoted and escaped") {
  std::ostringstream out;
  hub_fixture f{connection_settings{}, logging_to(logger_into(out, spdlog::level::debug))};
  f.connect("eve\" reason=forged\n");
  CHECK(out.str().find(R"(user="eve\" reason=forged\n")") != std::string::npos);
  // One line: the newline in the id did not make a second one.
  CHECK(out.str().find('\n') == out.str().size() - 1);
}

TEST_CASE("a dropped client is a warning; at warn level connects are not logged") {
  std::ostringstream out;
  hub_fixture f{short_timers(), logging_to(logger_into(out, spdlog::level::warn))};
  auto c = f.connect();
  auto other = f.connect();
  CHECK(out.str().empty());
  f.advance(1s); // both pinged
  f.pong(other);
  f.advance(300ms); // c never answered
  REQUIRE_FALSE(f.alive(c.reader));
  auto line = "warning disconnect conn=" + std::to_string(c.id)
              + " user=- remote=- reason=heartbeat_timeout\n";
  CHECK(out.str().find(line) != std::string::npos);
  // A regular close is not a warning.
  out.str("");
  f.disconnect(other, exit_code::socket_closed);
  CHECK(out.str().find("reason=socket_closed") == std::string::npos);
}

TEST_CASE("a hub without a logger logs nothing and works") {
  hub_fixture f;
  auto c = f.connect();
  f.disconnect(c);
  CHECK(f.stats().disconnects.at("socket_closed") == 1);
}

TEST_CASE("a publish's frame carries the time the hub framed it; others none") {
  hub_fixture f;
  auto c = f.connect();
  f.send(c, R"({"type":"subscribe","topic":"t"})");
  auto before = std::chrono::steady_clock::now();
  REQUIRE(f.request<std::uint64_t>(publication{"t", "1"}) == std::uint64_t{1});
  auto after = std::chrono::steady_clock::now();
  auto& delivered = c.transport->delivered;
  REQUIRE(delivered.size() == 3); // welcome, subscribed, message
  // Every frame the hub makes is a stamped_frame.
  auto welcome = std::static_pointer_cast<const stamped_frame>(delivered[0]);
  auto message = std::static_pointer_cast<const stamped_frame>(delivered[2]);
  CHECK(welcome->framed_at == stamped_frame::time_point{});
  CHECK(message->framed_at >= before);
  CHECK(message->framed_at <= after);
  CHECK(protocol::payload_of(*message) == protocol::message(R"("t")", "1"));
}

TEST_CASE("the statistics tell how many messages wait in the hub's mailbox") {
  hub_fixture f;
  caf::scoped_actor probe{f.sys};
  probe->send(f.hub, query_stats{});
  for (int i = 0; i < 3; ++i)
    caf::anon_send(f.hub, query_stats{});
  f.run();
  std::optional<hub_stats> first;
  probe->receive([&](hub_stats& s) { first = s; }, caf::after(caf::timespan{0}) >> [] {});
  REQUIRE(first);
  CHECK(first->mailbox == 3);
  CHECK(f.stats().mailbox == 0);
}
