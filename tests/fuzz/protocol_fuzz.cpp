// libFuzzer target for protocol::parse: any client text frame. Besides
// crashes, leaks and sanitizer reports, it checks what the decoder promises:
// - a frame that is not JSON is rejected with bad_json, and only such a frame;
// - an accepted command is a JSON object without duplicate members whose
//   "type" names the command; its topic is the decoded "topic" member and
//   passes valid_topic; its data and id are the raw text of the "data" and
//   "id" members (valid JSON, the same value Boost.JSON parsed, no padding);
// - an error frame is a JSON object with type "error", a known code, a string
//   reason and, if any, the id of the frame.
//
// Run: tools/ci/fuzz.sh, or by hand on a copy of the seed corpus:
//   build-fuzz/tests/fuzz/protocol_fuzz -dict=tests/fuzz/protocol.dict <dir>

#include "protocol.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace switchboard;
namespace json = boost::json;

namespace {

void require(bool ok, const char* what, std::string_view frame) {
  if (ok)
    return;
  std::fprintf(stderr, "protocol_fuzz: violated: %s\nframe: %.*s\n", what,
               static_cast<int>(frame.size()), frame.data());
  std::abort();
}

bool is_padded(std::string_view s) {
  auto ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  return s.empty() || ws(s.front()) || ws(s.back());
}

// Equal JSON values, compared as text: Boost.JSON 1.81 parses 0e+400 as NaN,
// which is unequal to itself although both sides hold the same number.
bool same(const json::value& a, const json::value& b) {
  return json::serialize(a) == json::serialize(b);
}

// `raw` is the verbatim text of the member `key` of `obj`.
void check_raw_member(std::string_view raw, const json::object& obj,
                      const char* key, std::string_view frame) {
  auto member = obj.if_contains(key);
  require(member != nullptr, "a raw member the object does not have", frame);
  require(!is_padded(raw), "a raw member with surrounding whitespace", frame);
  json::error_code ec;
  auto value = json::parse(json::string_view{raw.data(), raw.size()}, ec);
  require(!ec && protocol::valid_json(raw), "a raw member that is not JSON",
          frame);
  require(same(value, *member), "a raw member that is not the parsed value", frame);
}

// The frame of an accepted command: an object with "type" == `type`,
// no duplicate members and, when `id` is set, that raw "id".
const json::object& accepted(const json::value& parsed, bool json_ok,
                             const char* type, const request_id& id,
                             std::string_view frame) {
  require(json_ok, "a command from a frame that is not JSON", frame);
  auto obj = parsed.if_object();
  require(obj != nullptr, "a command from a frame that is not an object",
          frame);
  auto t = obj->if_contains("type");
  require(t && t->is_string() && t->get_string() == type,
          "a command whose type member differs", frame);
  if (id.empty()) {
    require(!obj->contains("id"), "an id member that was dropped", frame);
  } else {
    check_raw_member(id, *obj, "id", frame);
    require(obj->at("id").is_number() || obj->at("id").is_string(),
            "an id that is neither number nor string", frame);
  }
  return *obj;
}

void check_topic(const std::string& topic, const json::object& obj,
                 std::string_view frame) {
  require(protocol::valid_topic(topic), "an accepted topic fails valid_topic",
          frame);
  auto member = obj.if_contains("topic");
  require(member && member->is_string() && member->get_string() == topic,
          "a topic that is not the decoded topic member", frame);
}

// A ready answer that is a pong ({"type":"pong"...}), not an error.
bool is_pong(const client_error& err) {
  constexpr std::string_view pong = R"({"type":"pong")";
  return err.frame != nullptr && protocol::payload_of(*err.frame).substr(0, pong.size()) == pong;
}

void check_error(const client_error& err, const json::value& parsed,
                 bool json_ok, std::string_view frame) {
  require(err.frame != nullptr, "an error without a frame", frame);
  // A frame is pre-framed: the WebSocket header, then the JSON text.
  std::string_view text = protocol::payload_of(*err.frame);
  json::error_code ec;
  auto reply = json::parse(json::string_view{text.data(), text.size()}, ec);
  require(!ec, "an error frame that is not JSON", text);
  auto obj = reply.if_object();
  require(obj != nullptr, "an error frame that is not an object", text);
  auto type = obj->if_contains("type");
  require(type && type->is_string() && type->get_string() == "error",
          "an error frame whose type is not \"error\"", text);
  auto reason = obj->if_contains("reason");
  require(reason && reason->is_string(), "an error frame without a reason",
          text);
  auto code = obj->if_contains("code");
  require(code && code->is_string(), "an error frame without a code", text);
  auto c = code->get_string();
  require(c == "bad_json" || c == "bad_request" || c == "unknown_type",
          "an error code parse never gives", text);
  require((c == "bad_json") == !json_ok,
          "bad_json for valid JSON, or another code for invalid JSON", frame);
  // The reply echoes the frame's id, if the frame had a usable one.
  if (auto id = obj->if_contains("id")) {
    auto in = json_ok && parsed.is_object()
                ? parsed.get_object().if_contains("id")
                : nullptr;
    require(in && same(*in, *id),
            "an error frame with an id the frame did not have", frame);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view frame{reinterpret_cast<const char*>(data), size};
  json::error_code ec;
  auto parsed = json::parse(json::string_view{frame.data(), frame.size()}, ec);
  bool json_ok = !ec;
  require(json_ok == protocol::valid_json(frame),
          "valid_json disagrees with Boost.JSON", frame);
  auto cmd = protocol::parse(frame);
  if (auto sub = std::get_if<client_subscribe>(&cmd)) {
    check_topic(sub->topic,
                accepted(parsed, json_ok, "subscribe", sub->id, frame), frame);
  } else if (auto unsub = std::get_if<client_unsubscribe>(&cmd)) {
    check_topic(unsub->topic,
                accepted(parsed, json_ok, "unsubscribe", unsub->id, frame),
                frame);
  } else if (auto pub = std::get_if<client_publish>(&cmd)) {
    auto& obj = accepted(parsed, json_ok, "publish", pub->id, frame);
    check_topic(pub->topic, obj, frame);
    check_raw_member(pub->data, obj, "data", frame);
  } else if (auto send = std::get_if<client_send>(&cmd)) {
    auto& obj = accepted(parsed, json_ok, "send", send->id, frame);
    check_raw_member(send->data, obj, "data", frame);
    auto to = obj.if_contains("to");
    require(to != nullptr, "a send without to", frame);
    if (auto name = to->if_string()) {
      // "service:NAME": the service is NAME, a valid service name; or
      // "user:ID": the user is ID, a valid user id. Never both.
      std::string_view named{name->data(), name->size()};
      require(send->service.empty() != send->user.empty(),
              "a named send with neither or both of service and user", frame);
      if (!send->service.empty())
        require(named == "service:" + send->service
                  && protocol::valid_service_name(send->service),
                "a service send whose service is not the to member", frame);
      else
        require(named == "user:" + send->user && protocol::valid_user(send->user),
                "a user send whose user is not the to member", frame);
    } else {
      require(to->is_number() && send->service.empty() && send->user.empty(),
              "a send without a numeric to", frame);
      auto u = to->if_uint64();
      auto i = to->if_int64();
      require((u && *u == send->to)
                || (i && *i >= 0 && static_cast<conn_id>(*i) == send->to),
              "a send whose to is not the to member", frame);
    }
  } else if (auto hist = std::get_if<client_history>(&cmd)) {
    check_topic(hist->topic, accepted(parsed, json_ok, "history", hist->id, frame), frame);
  } else if (auto pres = std::get_if<client_presence>(&cmd)) {
    check_topic(pres->topic,
                accepted(parsed, json_ok, pres->stats ? "presence_stats" : "presence",
                         pres->id, frame),
                frame);
  } else if (auto refresh = std::get_if<client_refresh>(&cmd)) {
    auto& obj = accepted(parsed, json_ok, "refresh", refresh->id, frame);
    auto token = obj.if_contains("token");
    require(token && token->is_string() && token->get_string() == refresh->token,
            "a refresh whose token is not the token member", frame);
  } else if (auto& err = std::get<client_error>(cmd); is_pong(err)) {
    // {"type":"ping"} is answered by the reader itself, with a pong.
    auto obj = json_ok ? parsed.if_object() : nullptr;
    auto type = obj ? obj->if_contains("type") : nullptr;
    require(type && type->is_string() && type->get_string() == "ping",
            "a pong for a frame that is not a ping", frame);
  } else {
    check_error(err, parsed, json_ok, frame);
  }
  return 0;
}
