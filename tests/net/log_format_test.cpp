// Log lines as a pipeline reads them (switchboard/log_format.hpp): field
// values that read back as they were, the JSON lines formatter (valid JSON
// whatever the message holds), and errors described by name.

#include "log_capture.hpp"

#include "http/api_audit.hpp"
#include "log_fields.hpp"

#include "switchboard/log_format.hpp"
#include "switchboard/messages.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <spdlog/details/log_msg.h>

#include <string>

using namespace switchboard;
namespace json = boost::json;

namespace {

/// The JSON formatter's line for `text` at info from logger "node".
std::string json_line(std::string_view text,
                      spdlog::log_clock::time_point t = spdlog::log_clock::now()) {
  spdlog::details::log_msg msg{t, spdlog::source_loc{}, "node", spdlog::level::info,
                               spdlog::string_view_t{text.data(), text.size()}};
  spdlog::memory_buf_t buf;
  make_json_log_formatter()->format(msg, buf);
  return {buf.data(), buf.size()};
}

json::object parsed(const std::string& line) {
  INFO(line);
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  json::error_code ec;
  auto v = json::parse(line, ec);
  REQUIRE_FALSE(ec);
  return v.as_object();
}

} // namespace

TEST_CASE("log fields: a value is bare when it can be, quoted and escaped otherwise") {
  CHECK(log_value("news") == "news");
  CHECK(log_value("") == R"("")");
  CHECK(log_value("a b") == R"("a b")");
  CHECK(log_value("say \"hi\"") == R"("say \"hi\"")");
  CHECK(log_value("a=b") == R"("a=b")");
  CHECK(log_value("back\\slash") == R"("back\\slash")");
  CHECK(log_value("line\nbreak\x01") == R"("line\nbreak\u0001")");
  CHECK(log_value("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(log_value("bad\xff\xc3") == "\"bad\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST_CASE("log fields: the fields at a message's end read back as they were written") {
  for (std::string value : {"plain", "two words", "q\"uote", "back\\slash", "tab\there",
                            "k=v x=y", "\xe2\x82\xac euro", ""}) {
    auto text = "something happened key=" + log_value(value) + " n=3";
    auto parts = split_fields(text);
    INFO(text);
    CHECK(parts.msg == "something happened");
    REQUIRE(parts.fields.size() == 2);
    CHECK(parts.fields[0].first == "key");
    CHECK(parts.fields[0].second == value);
    CHECK(parts.fields[1].first == "n");
    CHECK(parts.fields[1].second == "3");
  }
  // A tail that is not fields stays text.
  auto free = split_fields("cannot open x=1 because");
  CHECK(free.msg == "cannot open x=1 because");
  CHECK(free.fields.empty());
  auto none = split_fields("plain text");
  CHECK(none.msg == "plain text");
  CHECK(split_fields("a=1").msg.empty());
  CHECK(split_fields(R"(broken q="unterminated)").fields.empty());
}

TEST_CASE("json log: one object per line with time, level, logger, msg and the fields") {
  using namespace std::chrono;
  auto t = spdlog::log_clock::time_point{milliseconds{1796631780123}};
  auto obj = parsed(json_line(
    R"(api call key=deploy remote=127.0.0.1 route=/api/publish status=200 topic="a b")", t));
  CHECK(obj.at("time") == "2026-12-07T08:23:00.123Z");
  CHECK(obj.at("level") == "info");
  CHECK(obj.at("logger") == "node");
  CHECK(obj.at("msg") == "api call");
  CHECK(obj.at("key") == "deploy");
  CHECK(obj.at("remote") == "127.0.0.1");
  CHECK(obj.at("status") == "200");
  CHECK(obj.at("topic") == "a b");
  // A field named like one of the four does not replace it.
  auto clash = parsed(json_line("x level=fake msg=m"));
  CHECK(clash.at("level") == "info");
  CHECK(clash.at("_level") == "fake");
  CHECK(clash.at("msg") == "x");
  CHECK(clash.at("_msg") == "m");
}

TEST_CASE("json log: quotes, backslashes, control characters and bad UTF-8 stay valid JSON") {
  std::string nasty = "q\" b\\ nl\n cr\r tab\t nul";
  nasty += '\0';
  nasty += " esc\x1b del\x7f bad\xff\xfe half\xe2\x82 ok\xe2\x82\xac";
  auto obj = parsed(json_line(nasty));
  auto msg = std::string{obj.at("msg").as_string()};
  CHECK(msg.find("q\" b\\ nl\n cr\r tab\t nul") == 0);
  CHECK(msg.find(std::string{"nul"} + '\0' + " esc\x1b del\x7f") != std::string::npos);
  CHECK(msg.find("bad\xef\xbf\xbd\xef\xbf\xbd half\xef\xbf\xbd\xef\xbf\xbd ok\xe2\x82\xac")
        != std::string::npos);
  // The same bytes inside a quoted field.
  auto field = parsed(json_line("event v=" + log_value(nasty)));
  CHECK(field.at("msg") == "event");
  CHECK(std::string{field.at("v").as_string()}.find("q\" b\\ nl\n") == 0);
  // A logger's own lines go through it whole.
  auto sink = std::make_shared<testing::capture_sink>();
  auto log = testing::capture_logger(sink);
  log->set_formatter(make_json_log_formatter());
  log->warn("dropped conn={} reason={}", 7, log_value("slow \"consumer\""));
  auto lines = sink->lines();
  REQUIRE(lines.size() == 1);
  auto line = parsed(lines[0] + "\n");
  CHECK(line.at("level") == "warning");
  CHECK(line.at("logger") == "test");
  CHECK(line.at("msg") == "dropped");
  CHECK(line.at("conn") == "7");
  CHECK(line.at("reason") == "slow \"consumer\"");
}

TEST_CASE("errors are described by category and code name, with their context") {
  CHECK(describe_error(caf::error{}) == "none");
  CHECK(describe_error(caf::make_error(caf::sec::invalid_argument, "cannot resolve host x"))
        == "sec.invalid_argument: cannot resolve host x");
  CHECK(describe_error(caf::make_error(caf::sec::cannot_open_port, "port", std::uint16_t{80}))
        == "sec.cannot_open_port: port; 80");
  CHECK(describe_error(caf::exit_reason::user_shutdown) == "exit.user_shutdown");
  CHECK(describe_error(caf::make_error(caf::pec::not_an_option, "--bogus"))
        == R"(pec.not_an_option: {"argument" = "--bogus"})");
  CHECK(describe_error(make_error(exit_code::hub_down)) == "switchboard.hub_down");
}

TEST_CASE("api audit: the line names caller, address, method, route, status and target") {
  using boost::beast::http::verb;
  CHECK(net::audit_line({"deploy", "10.0.0.7", verb::post, "/api/publish?x=1", 200, "topic=news"})
        == "api call key=deploy remote=10.0.0.7 method=POST route=/api/publish status=200 "
           "topic=news");
  CHECK(net::audit_line({{}, "::1", verb::get, "/api/a b\n", 401, {}})
        == R"(api call key=- remote=::1 method=GET route="/api/a b\n" status=401)");
  CHECK(net::audit_target(publish_numbered{"a b", "1"}) == R"(topic="a b")");
  CHECK(net::audit_target(broadcast{{"a", "b", "c"}, "1"}) == "topics=3");
  CHECK(net::audit_target(send_direct{12, "1", {}}) == "connection=12");
  CHECK(net::audit_target(send_to_user{"alice", "1", {}}) == "user=alice");
  CHECK(net::audit_target(disconnect_user{"bob", 1000, {}}) == "user=bob");
  CHECK(net::audit_target(query_topics{}).empty());
  auto long_route = std::string(1000, 'r');
  auto line = net::audit_line({"k", "h", verb::get, long_route, 404, {}});
  CHECK(line.size() < 400);
}
