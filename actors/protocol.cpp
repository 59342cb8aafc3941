#include "protocol.hpp"
#include "protocol_commands.hpp"

#include "frame_header.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

namespace switchboard::protocol {

namespace json = boost::json;

namespace {

// -- raw member spans -----------------------------------------------------------

// Boost.JSON re-serializes numbers in its own form (1.0 becomes 1E0, large
// integers lose digits), but `data` must reach subscribers verbatim and `id`
// must be echoed as sent. So after Boost.JSON has validated the frame, this
// scanner finds the raw text of each top-level member. It only ever runs on
// text Boost.JSON accepted, which keeps it small.

const char* skip_ws(const char* p, const char* end) {
  while (p != end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    ++p;
  return p;
}

// `p` points at the opening quote; returns one past the closing quote.
const char* skip_string(const char* p, const char* end) {
  for (++p; p != end && *p != '"'; ++p)
    if (*p == '\\')
      ++p;
  return p == end ? end : p + 1;
}

const char* skip_value(const char* p, const char* end) {
  if (*p == '"')
    return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p != end) {
      if (*p == '"') {
        p = skip_string(p, end);
        continue;
      }
      if (*p == '{' || *p == '[')
        ++depth;
      else if ((*p == '}' || *p == ']') && --depth == 0)
        return p + 1;
      ++p;
    }
    return end;
  }
  while (p != end && *p != ',' && *p != '}' && *p != ']' && *p != ' '
         && *p != '\t' && *p != '\n' && *p != '\r')
    ++p;
  return p;
}

std::string decode_key(std::string_view quoted) {
  if (quoted.find('\\') == std::string_view::npos)
    return std::string{quoted.substr(1, quoted.size() - 2)};
  return std::string{json::parse(json::string_view{quoted.data(), quoted.size()})
                       .get_string()};
}

} // namespace

raw_members scan_members(std::string_view text) {
  raw_members result;
  std::set<std::string> seen;
  auto end = text.data() + text.size();
  auto p = skip_ws(text.data(), end) + 1; // past '{'
  for (;;) {
    p = skip_ws(p, end);
    if (p == end || *p == '}')
      return result;
    auto key_end = skip_string(p, end);
    auto key = decode_key({p, static_cast<size_t>(key_end - p)});
    p = skip_ws(skip_ws(key_end, end) + 1, end); // past ':'
    auto value_end = skip_value(p, end);
    std::string_view value{p, static_cast<size_t>(value_end - p)};
    if (key == "id")
      result.id = value;
    else if (key == "data")
      result.data = value;
    if (!seen.insert(std::move(key)).second)
      result.duplicate = true;
    p = skip_ws(value_end, end);
    if (p != end && *p == ',')
      ++p;
  }
}

namespace {

// -- commands -------------------------------------------------------------------

const json::string* string_member(const json::object& obj, const char* key) {
  auto v = obj.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// The `topic` member when it is a valid topic name, else null.
const json::string* topic_member(const json::object& obj) {
  auto topic = string_member(obj, "topic");
  return topic && valid_topic(*topic) ? topic : nullptr;
}

client_error bad_topic(const request_id& id) {
  return reject("bad_request",
                "topic must be a string of 1-256 bytes without control characters",
                id);
}

template <class Command>
command topic_command(const json::object& obj, request_id id) {
  auto topic = topic_member(obj);
  if (!topic)
    return bad_topic(id);
  return Command{std::string{*topic}, std::move(id)};
}

command publish_command(const json::object& obj, const raw_members& raw,
                        request_id id) {
  auto topic = topic_member(obj);
  if (!topic)
    return bad_topic(id);
  if (raw.data.empty())
    return reject("bad_request", "publish needs data", id);
  return client_publish{std::string{*topic}, std::string{raw.data},
                        std::move(id)};
}

constexpr std::string_view service_prefix = "service:";
constexpr std::string_view user_prefix = "user:";

constexpr const char* bad_to =
  "to must be a connection id, \"user:ID\" or \"service:NAME\"";

command send_command(const json::object& obj, const raw_members& raw,
                     request_id id) {
  auto to = obj.if_contains("to");
  auto target = to ? to->if_uint64() : nullptr;
  auto signed_target = to ? to->if_int64() : nullptr;
  auto named = to ? to->if_string() : nullptr;
  std::string service;
  std::string user;
  if (named != nullptr) {
    std::string_view name{named->data(), named->size()};
    if (name.substr(0, service_prefix.size()) == service_prefix
        && valid_service_name(name.substr(service_prefix.size())))
      service = std::string{name.substr(service_prefix.size())};
    else if (name.substr(0, user_prefix.size()) == user_prefix
             && valid_user(name.substr(user_prefix.size())))
      user = std::string{name.substr(user_prefix.size())};
    else
      return reject("bad_request", bad_to, id);
  } else if (!target && !(signed_target && *signed_target >= 0)) {
    return reject("bad_request", bad_to, id);
  }
  if (raw.data.empty())
    return reject("bad_request", "send needs data", id);
  conn_id dest = 0;
  if (target)
    dest = *target;
  else if (signed_target)
    dest = static_cast<conn_id>(*signed_target);
  return client_send{dest, std::move(service), std::move(user), std::string{raw.data},
                     std::move(id)};
}

command refresh_command(const json::object& obj, request_id id) {
  auto token = string_member(obj, "token");
  if (token == nullptr || token->empty())
    return reject("bad_request", "refresh needs a token (a string)", id);
  return client_refresh{std::string{*token}, std::move(id)};
}

} // namespace

bool valid_topic(std::string_view topic) {
  return !topic.empty() && topic.size() <= max_topic_size
         && std::none_of(topic.begin(), topic.end(), [](char c) {
              auto u = static_cast<unsigned char>(c);
              return u < 0x20 || u == 0x7f;
            });
}

bool valid_json(std::string_view text) {
  json::error_code ec;
  json::parse(json::string_view{text.data(), text.size()}, ec);
  return !ec;
}

bool valid_utf8(std::string_view text) {
  // Boost.JSON's parser checks UTF-8 in strings; quote() escapes what JSON
  // forbids raw (quotes, backslashes, control characters) but leaves the
  // bytes of everything else as they are.
  return valid_json(quote(text));
}

bool valid_service_name(std::string_view name) {
  return !name.empty() && name.size() <= 64
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
            });
}

bool valid_user(std::string_view user) {
  return !user.empty() && user.size() <= max_user_size;
}

bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011)
         || (code >= 3000 && code <= 4999);
}

command parse(std::string_view text) {
  json::error_code ec;
  auto value = json::parse(json::string_view{text.data(), text.size()}, ec);
  if (ec)
    return reject("bad_json", "frame is not valid JSON");
  auto obj = value.if_object();
  if (!obj)
    return reject("bad_request", "frame must be a JSON object");
  auto raw = scan_members(text);
  request_id id;
  if (auto v = obj->if_contains("id")) {
    if (!v->is_number() && !v->is_string())
      return reject("bad_request", "id must be a number or a string");
    id = std::string{raw.id};
  }
  if (raw.duplicate)
    return reject("bad_request", "duplicate member", id);
  auto type = string_member(*obj, "type");
  if (!type)
    return reject("bad_request", "type must be a string", id);
  // A liveness probe for clients that cannot see WebSocket pings (browsers):
  // its answer goes through the hub like an error's, in order with the other
  // replies, and proves the whole way alive.
  if (*type == "ping")
    return client_error{make_frame(pong(id))};
  if (*type == "subscribe")
    return subscribe_command(*obj, std::move(id));
  if (*type == "unsubscribe")
    return topic_command<client_unsubscribe>(*obj, std::move(id));
  if (*type == "publish")
    return publish_command(*obj, raw, std::move(id));
  if (*type == "send")
    return send_command(*obj, raw, std::move(id));
  if (*type == "history")
    return history_command(*obj, std::move(id));
  if (*type == "presence" || *type == "presence_stats")
    return presence_command(*obj, *type == "presence_stats", std::move(id));
  if (*type == "refresh")
    return refresh_command(*obj, std::move(id));
  return reject("unknown_type", "unknown type", id);
}

// -- server frames ----------------------------------------------------------------

namespace {

std::string with_id(std::string frame, const request_id& id) {
  // `frame` is an object without its closing brace.
  if (!id.empty()) {
    frame += R"(,"id":)";
    frame += id;
  }
  frame += '}';
  return frame;
}

std::string topic_reply(const char* type, std::string_view quoted_topic,
                        const request_id& id) {
  std::string frame = R"({"type":")";
  frame += type;
  frame += R"(","topic":)";
  frame += quoted_topic;
  return with_id(std::move(frame), id);
}

} // namespace

std::string quote(std::string_view str) {
  return json::serialize(json::string_view{str.data(), str.size()});
}

std::string welcome(conn_id id, caf::timespan ping) {
  std::string frame = R"({"type":"welcome","id":)" + std::to_string(id);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ping).count();
  if (ms > 0) {
    // Seconds, as JSON numbers are read everywhere: 25, 0.5, 1.25.
    frame += R"(,"ping":)" + std::to_string(ms / 1000);
    if (auto rest = ms % 1000; rest != 0) {
      auto fraction = std::to_string(1000 + rest).substr(1); // three digits
      fraction.erase(fraction.find_last_not_of('0') + 1);
      frame += "." + fraction;
    }
  }
  return frame + "}";
}

std::string subscribed(std::string_view quoted_topic, const request_id& id) {
  return topic_reply("subscribed", quoted_topic, id);
}

std::string unsubscribed(std::string_view quoted_topic, const request_id& id) {
  return topic_reply("unsubscribed", quoted_topic, id);
}

namespace {

constexpr std::string_view message_head = R"({"type":"message","topic":)";
constexpr std::string_view message_mid = R"(,"data":)";

void append_message(std::string& out, std::string_view quoted_topic, std::string_view data) {
  out += message_head;
  out += quoted_topic;
  out += message_mid;
  out += data;
  out += '}';
}

} // namespace

std::string message(std::string_view quoted_topic, std::string_view data) {
  std::string frame;
  frame.reserve(message_head.size() + quoted_topic.size() + message_mid.size()
                + data.size() + 1);
  append_message(frame, quoted_topic, data);
  return frame;
}

frame_ptr message_frame(std::string_view quoted_topic, std::string_view data,
                        stamped_frame::time_point framed_at) {
  auto size = message_head.size() + quoted_topic.size() + message_mid.size() + data.size() + 1;
  std::string bytes;
  bytes.reserve(size + 10);
  text_header(size, bytes);
  append_message(bytes, quoted_topic, data);
  return std::make_shared<const stamped_frame>(std::move(bytes), framed_at);
}

void text_header(std::size_t payload_size, std::string& out) {
  frame_header(0x1, payload_size, out); // text
}

frame_ptr make_frame(std::string_view payload) {
  std::string bytes;
  bytes.reserve(payload.size() + 10);
  text_header(payload.size(), bytes);
  bytes += payload;
  return std::make_shared<const stamped_frame>(std::move(bytes));
}

std::string_view payload_of(std::string_view frame) {
  if (frame.size() < 2)
    return {};
  auto len = static_cast<unsigned char>(frame[1]) & 0x7f;
  std::size_t header = len < 126 ? 2 : len == 126 ? 4 : 10;
  return frame.size() < header ? std::string_view{} : frame.substr(header);
}

std::string direct(conn_id from, std::string_view data) {
  std::string frame = R"({"type":"direct","from":)" + std::to_string(from);
  frame += R"(,"data":)";
  frame += data;
  frame += '}';
  return frame;
}

std::string direct(std::string_view quoted_from, std::string_view data) {
  std::string frame = R"({"type":"direct","from":)";
  frame += quoted_from;
  frame += R"(,"data":)";
  frame += data;
  frame += '}';
  return frame;
}

std::string ack(const request_id& id) {
  return with_id(R"({"type":"ack")", id);
}

std::string refreshed(const caf::optional<caf::timestamp>& expires, const request_id& id) {
  std::string frame = R"({"type":"refreshed")";
  if (expires) {
    auto seconds = std::chrono::floor<std::chrono::seconds>(expires->time_since_epoch());
    frame += R"(,"expires":)";
    frame += std::to_string(seconds.count());
  }
  return with_id(std::move(frame), id);
}

std::string pong(const request_id& id) {
  return with_id(R"({"type":"pong")", id);
}

std::string error(std::string_view code, std::string_view reason,
                  const request_id& id) {
  std::string frame = R"({"type":"error","code":)";
  frame += quote(code);
  frame += R"(,"reason":)";
  frame += quote(reason);
  return with_id(std::move(frame), id);
}

client_error reject(std::string_view code, std::string_view reason,
                    const request_id& id) {
  return client_error{make_frame(error(code, reason, id))};
}

} // namespace switchboard::protocol
