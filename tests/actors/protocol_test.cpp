// Wire protocol v1.1: parsing client frames and building server frames, without
// actors. The spec is the protocol section of the task brief / docs/protocol.md.

#include "hub/hub_state.hpp"
#include "protocol.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace switchboard;
namespace json = boost::json;

namespace {

/// The command `text` parses to, which must be a `T`.
template <class T>
T parse_as(const std::string& text) {
  INFO(text);
  auto cmd = protocol::parse(text);
  REQUIRE(std::holds_alternative<T>(cmd));
  return std::get<T>(cmd);
}

/// The error frame `text` is rejected with, as a JSON object.
json::object rejection(const std::string& text) {
  auto err = parse_as<client_error>(text);
  REQUIRE(err.frame != nullptr);
  auto payload = protocol::payload_of(*err.frame);
  auto obj = json::parse(json::string_view{payload.data(), payload.size()}).as_object();
  CHECK(obj.at("type") == "error");
  CHECK(obj.at("reason").is_string());
  return obj;
}

std::string code_of(const std::string& text) {
  return std::string{rejection(text).at("code").as_string()};
}

std::string publish_with_data(const std::string& data) {
  return R"({"type":"publish","topic":"t","data":)" + data + "}";
}

} // namespace

TEST_CASE("topic names are 1-256 bytes without control characters") {
  CHECK(protocol::valid_topic("a"));
  CHECK(protocol::valid_topic("news/europe.de-at_1 x"));
  CHECK(protocol::valid_topic(std::string(256, 'x')));
  std::string two_byte_chars;
  for (int i = 0; i < 128; ++i)
    two_byte_chars += "\xc3\xa9"; // U+00E9: 256 bytes in all
  CHECK(protocol::valid_topic(two_byte_chars));
  CHECK_FALSE(protocol::valid_topic(two_byte_chars + "\xc3\xa9"));
  CHECK_FALSE(protocol::valid_topic(""));
  CHECK_FALSE(protocol::valid_topic(std::string(257, 'x')));
  CHECK_FALSE(protocol::valid_topic(std::string("a\0b", 3)));
  CHECK_FALSE(protocol::valid_topic("a\nb"));
  CHECK_FALSE(protocol::valid_topic("\x1f"));
  CHECK_FALSE(protocol::valid_topic("\x7f"));
}

TEST_CASE("subscribe and unsubscribe carry the decoded topic") {
  auto sub = parse_as<client_subscribe>(
    R"({"type":"subscribe","topic":"a\"b\u00e9/\\"})");
  CHECK(sub.topic == "a\"b\xc3\xa9/\\");
  CHECK(sub.id.empty());
  auto unsub = parse_as<client_unsubscribe>(
    R"({"topic":"x","type":"unsubscribe"})");
  CHECK(unsub.topic == "x");
  auto longest = std::string(256, 'y');
  CHECK(parse_as<client_subscribe>(R"({"type":"subscribe","topic":")" + longest
                                   + R"("})")
          .topic
        == longest);
}

TEST_CASE("invalid topics are a bad_request for every command") {
  auto type = GENERATE(as<std::string>{}, "subscribe", "unsubscribe", "publish");
  auto too_long = R"(")" + std::string(257, 'x') + R"(")";
  for (std::string topic : {R"("")", too_long.c_str(), R"("a\u0001b")",
                            R"("\u007f")", R"("\n")", "42", "null", R"(["t"])"}) {
    INFO(type << " topic " << topic);
    auto frame = R"({"type":")" + type + R"(","topic":)" + topic
                 + R"(,"data":1,"id":9})";
    auto err = rejection(frame);
    CHECK(err.at("code") == "bad_request");
    CHECK(err.at("id") == 9);
  }
  CHECK(code_of(R"({"type":"subscribe"})") == "bad_request");
}

TEST_CASE("frames that are not JSON are a bad_json without an id") {
  for (auto text : {"", "{", R"({"type":"subscribe",})", R"({"a":1} x)",
                    R"({'type':'subscribe'})", "{\"type\":\"\xff\"}",
                    R"({"type":"subscribe","topic":"t","id":1)",
                    R"(/* c */ {"type":"subscribe","topic":"t"})"}) {
    INFO(text);
    auto err = rejection(text);
    CHECK(err.at("code") == "bad_json");
    CHECK_FALSE(err.contains("id"));
  }
}

TEST_CASE("frames nesting deeper than 32 levels are a bad_json") {
  auto nested = [](int depth) {
    return publish_with_data(std::string(depth, '[') + std::string(depth, ']'));
  };
  // The frame's own object is the first level.
  CHECK(parse_as<client_publish>(nested(31)).data.size() == 62);
  CHECK(code_of(nested(32)) == "bad_json");
}

TEST_CASE("frames that are not commands are a bad_request or unknown_type") {
  for (auto text : {"[]", "42", R"("subscribe")", "null", "true"})
    CHECK(code_of(text) == "bad_request");
  CHECK(code_of(R"({"topic":"t"})") == "bad_request");          // no type
  CHECK(code_of(R"({"type":1,"topic":"t"})") == "bad_request"); // not a string
  CHECK(code_of(R"({"type":null})") == "bad_request");
  auto err = rejection(R"({"type":"frobnicate","id":"q1"})");
  CHECK(err.at("code") == "unknown_type");
  CHECK(err.at("id") == "q1");
  CHECK(code_of(R"({"type":"Subscribe","topic":"t"})") == "unknown_type");
}

TEST_CASE("an id is echoed verbatim, as a number or a string") {
  for (std::string id : {"7", "-3", "0", "1.50", "1e400", "123456789012345678901234567890",
                         R"("abc")", R"("a\"b\u00e9")", R"("")"}) {
    INFO(id);
    auto sub = parse_as<client_subscribe>(R"({"type":"subscribe","id":)" + id
                                          + R"(,"topic":"t"})");
    CHECK(sub.id == id);
    // Error replies echo it too, byte for byte.
    auto err = parse_as<client_error>(R"({"type":"nope","id": )" + id + " }");
    CHECK(std::string{protocol::payload_of(*err.frame)}.find(R"(,"id":)" + id + "}")
          != std::string::npos);
    CHECK(protocol::ack(id) == R"({"type":"ack","id":)" + id + "}");
  }
  for (auto id : {"null", "true", "[1]", R"({"n":1})"}) {
    INFO(id);
    auto text = R"({"type":"subscribe","topic":"t","id":)" + std::string{id} + "}";
    CHECK(code_of(text) == "bad_request");
  }
}

TEST_CASE("publish data is kept verbatim") {
  // 1e400 is valid JSON text; Boost.JSON reads it as infinity, but the server
  // must pass the text on untouched (re-serializing would yield "Infinity",
  // which is not JSON at all).
  for (std::string data :
       {"1.0", "1e400", "-0", "1E+2", "123456789012345678901234567890", "true",
        "null", "[]", R"("caf\u00e9 \"q\" \\")", R"({"a" : [1, 2.50, {"b":null}] })",
        R"({"s":"}]\"{[","t":{"u":[[]]}})", R"({"a":1,"a":2})"}) {
    INFO(data);
    auto pub = parse_as<client_publish>(publish_with_data(data));
    CHECK(pub.topic == "t");
    CHECK(pub.data == data);
    auto frame = protocol::message(protocol::quote("t"), pub.data);
    CHECK(frame == R"({"type":"message","topic":"t","data":)" + data + "}");
    json::error_code ec;
    auto parsed = json::parse(frame, ec);
    REQUIRE_FALSE(ec);
    CHECK(parsed.at("type") == "message");
  }
  // Whitespace around the value is not part of it; whitespace inside is.
  auto pub = parse_as<client_publish>(
    "  {\"data\"\t:\n [ 1 ,2 ] \r, \"topic\" : \"t\" , \"type\":\"publish\" }  ");
  CHECK(pub.data == "[ 1 ,2 ]");
  CHECK(parse_as<client_publish>(R"({"type":"publish","topic":"t","data":1.0  })").data
        == "1.0");
  CHECK(parse_as<client_publish>(R"({"type":"publish","topic":"t","data":"x",
                                     "id":3})").id == "3");
}

TEST_CASE("publish and send need their members") {
  CHECK(code_of(R"({"type":"publish","topic":"t"})") == "bad_request");
  CHECK(code_of(R"({"type":"send","to":1})") == "bad_request");
  for (auto to : {R"("1")", "-1", "1.5", "null", "1e3"}) {
    INFO(to);
    CHECK(code_of(R"({"type":"send","data":1,"to":)" + std::string{to} + "}")
          == "bad_request");
  }
  auto send = parse_as<client_send>(
    R"({"type":"send","to":18446744073709551615,"data": {"x":1.0},"id":"s"})");
  CHECK(send.to == 18446744073709551615u);
  CHECK(send.data == R"({"x":1.0})");
  CHECK(send.id == R"("s")");
  CHECK(parse_as<client_send>(R"({"type":"send","to":0,"data":0})").to == 0);
}

TEST_CASE("send addresses a user as user:ID (1-256 bytes)") {
  auto send = parse_as<client_send>(R"({"type":"send","to":"user:alice@example.org","data":1})");
  CHECK(send.user == "alice@example.org");
  CHECK(send.service.empty());
  CHECK(send.to == 0);
  CHECK(parse_as<client_send>(R"({"type":"send","to":"user:a:b c","data":1})").user
        == "a:b c");
  auto longest = "user:" + std::string(256, 'u');
  CHECK(parse_as<client_send>(R"({"type":"send","to":")" + longest + R"(","data":1})")
          .user.size()
        == 256);
  auto too_long = "\"user:" + std::string(257, 'u') + "\"";
  for (auto& to : std::vector<std::string>{R"("user:")", R"("User:x")", R"("user")", too_long}) {
    INFO(to);
    CHECK(code_of(R"({"type":"send","data":1,"to":)" + to + "}")
          == "bad_request");
  }
}

TEST_CASE("keys with escapes are decoded") {
  CHECK(parse_as<client_subscribe>(R"({"t\u0079pe":"subscribe","topic":"x"})").topic
        == "x");
  auto pub = parse_as<client_publish>(
    R"({"type":"publish","\u0074opic":"t","d\u0061ta":1.0,"\u0069d":5})");
  CHECK(pub.data == "1.0");
  CHECK(pub.id == "5");
  // Keys that merely look like ours are other members.
  auto sub = parse_as<client_subscribe>(
    R"({"\"id\"":1,"id\\":2,"type":"subscribe","topic":"x","data\u0000":3})");
  CHECK(sub.id.empty());
}

TEST_CASE("duplicate keys are a bad_request") {
  for (auto text :
       {R"({"type":"subscribe","type":"subscribe","topic":"x"})",
        R"({"type":"subscribe","topic":"x","topic":"y"})",
        R"({"type":"publish","topic":"t","data":1,"data":2})",
        R"({"type":"publish","topic":"t","data":1,"d\u0061ta":1})",
        R"({"type":"subscribe","topic":"x","id":1,"id":1})"}) {
    INFO(text);
    CHECK(code_of(text) == "bad_request");
  }
  CHECK(rejection(R"({"id":4,"type":"subscribe","type":"x"})").at("id") == 4);
}

TEST_CASE("a ping is answered with a pong carrying its id") {
  for (auto [text, expected] :
       {std::pair{R"({"type":"ping","id":7})", R"({"type":"pong","id":7})"},
        std::pair{R"({"type":"ping","id":"p-1.0"})", R"({"type":"pong","id":"p-1.0"})"},
        std::pair{R"({"type":"ping"})", R"({"type":"pong"})"}}) {
    auto reply = parse_as<client_error>(text);
    REQUIRE(reply.frame != nullptr);
    CHECK(protocol::payload_of(*reply.frame) == expected);
  }
}

TEST_CASE("the welcome announces the ping interval in seconds") {
  using namespace std::chrono_literals;
  CHECK(protocol::welcome(42, 25s) == R"({"type":"welcome","id":42,"ping":25})");
  CHECK(protocol::welcome(42, 500ms) == R"({"type":"welcome","id":42,"ping":0.5})");
  CHECK(protocol::welcome(42, 1250ms) == R"({"type":"welcome","id":42,"ping":1.25})");
  CHECK(protocol::welcome(42, 2005ms) == R"({"type":"welcome","id":42,"ping":2.005})");
  // Below a millisecond, or none: not announced rather than "ping":0.
  CHECK(protocol::welcome(42, 100us) == R"({"type":"welcome","id":42})");
  CHECK(json::parse(protocol::welcome(7, 90s)).as_object().at("ping") == 90);
}

TEST_CASE("server frames are well-formed JSON") {
  CHECK(protocol::welcome(42) == R"({"type":"welcome","id":42})");
  auto quoted = protocol::quote("a\"b\n\xc3\xa9");
  auto sub = json::parse(protocol::subscribed(quoted, "7")).as_object();
  CHECK(sub.at("type") == "subscribed");
  CHECK(sub.at("topic") == "a\"b\n\xc3\xa9");
  CHECK(sub.at("id") == 7);
  auto unsub = json::parse(protocol::unsubscribed(quoted, {})).as_object();
  CHECK(unsub.at("type") == "unsubscribed");
  CHECK_FALSE(unsub.contains("id"));
  CHECK(protocol::direct(3, "1.0") == R"({"type":"direct","from":3,"data":1.0})");
  auto err = json::parse(protocol::error("bad_request", "say \"hi\"", R"("r")"))
               .as_object();
  CHECK(err.at("code") == "bad_request");
  CHECK(err.at("reason") == "say \"hi\"");
  CHECK(err.at("id") == "r");
}

TEST_CASE("frames carry their WebSocket header") {
  // Server frames: FIN + text, unmasked, the shortest length encoding.
  for (std::size_t n : {0, 1, 125, 126, 65535, 65536, 70000}) {
    INFO("payload of " << n << " bytes");
    std::string payload(n, 'x');
    auto frame = protocol::make_frame(payload);
    CHECK(static_cast<unsigned char>((*frame)[0]) == 0x81);
    auto len = static_cast<unsigned char>((*frame)[1]);
    CHECK((len & 0x80) == 0);
    std::size_t header = n < 126 ? 2 : n < 65536 ? 4 : 10;
    CHECK(frame->size() == header + n);
    CHECK(len == (n < 126 ? n : n < 65536 ? 126 : 127));
    CHECK(protocol::payload_of(*frame) == payload);
  }
  auto msg = protocol::message_frame(R"("t")", "[1]");
  CHECK(protocol::payload_of(*msg) == protocol::message(R"("t")", "[1]"));
}

TEST_CASE("refresh carries its token; without one it is a bad_request") {
  auto r = parse_as<client_refresh>(R"({"type":"refresh","token":"a.b.c","id":9})");
  CHECK(r.token == "a.b.c");
  CHECK(r.id == "9");
  CHECK(parse_as<client_refresh>(R"({"type":"refresh","token":"x"})").id.empty());
  for (auto text : {R"({"type":"refresh"})", R"({"type":"refresh","token":""})",
                    R"({"type":"refresh","token":7})", R"({"type":"refresh","token":null})"}) {
    INFO(text);
    CHECK(code_of(text) == "bad_request");
  }
  CHECK(rejection(R"({"type":"refresh","id":"x"})").at("id") == "x");
}

TEST_CASE("refreshed says when the new credentials expire, in whole Unix seconds") {
  caf::timestamp at{std::chrono::seconds(1'900'000'000) + std::chrono::milliseconds(999)};
  CHECK(protocol::refreshed(at, "3") == R"({"type":"refreshed","expires":1900000000,"id":3})");
  // Credentials that do not expire: no `expires`.
  CHECK(protocol::refreshed(caf::none, {}) == R"({"type":"refreshed"})");
}
