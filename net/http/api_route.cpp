#include "http/api_route.hpp"

#include "auth/console_auth.hpp"
#include "protocol.hpp"
#include "http/url_decode.hpp"

#include "switchboard/settings.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <map>

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

/// The most topics one broadcast may name: its cost on the hub grows with
/// them, and the body limit alone would allow hundreds of thousands.
constexpr std::size_t max_broadcast_topics = max_topics_listed;

beast::string_view path_of(beast::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view query_of(beast::string_view target) {
  auto q = target.find('?');
  if (q == beast::string_view::npos)
    return {};
  return {target.data() + q + 1, target.size() - q - 1};
}

api_decision fail(const http_request& req, http::status status, std::string_view code,
                  std::string_view reason) {
  return {std::nullopt, api_error(req, status, code, reason)};
}

api_decision bad(const http_request& req, std::string_view reason) {
  return fail(req, http::status::bad_request, "bad_request", reason);
}

api_decision call(api_call c) {
  return {std::move(c), {}};
}

api_decision wrong_method(const http_request& req, const char* allow) {
  auto res = api_error(req, http::status::method_not_allowed, "method_not_allowed",
                       std::string{"this route takes "} + allow);
  res.set(http::field::allow, allow);
  return {std::nullopt, std::move(res)};
}

// -- bodies ------------------------------------------------------------------------

// A POST body: one JSON object, every member one the route knows, none twice;
// `data` is its raw text. On failure `error` says why (400).
struct body {
  json::object obj;
  std::string_view data;
  std::string error;
};

body parse_body(const http_request& req, std::initializer_list<std::string_view> known) {
  body result;
  json::error_code ec;
  auto value = json::parse(req.body(), ec);
  if (ec) {
    result.error = "the body is not valid JSON";
    return result;
  }
  if (!value.is_object()) {
    result.error = "the body must be a JSON object";
    return result;
  }
  auto raw = protocol::scan_members(req.body());
  if (raw.duplicate) {
    result.error = "a member appears twice";
    return result;
  }
  result.obj = std::move(value.get_object());
  for (auto& kvp : result.obj) {
    std::string_view key{kvp.key().data(), kvp.key().size()};
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      result.error = "unknown member " + protocol::quote(key);
      return result;
    }
  }
  result.data = raw.data;
  return result;
}

// The body's data, or the answer when it is missing or too large.
std::optional<api_decision> check_data(const http_request& req, const body& b,
                                       const api_settings& api) {
  if (b.data.empty())
    return bad(req, "data is missing");
  if (b.data.size() > api.max_data)
    return fail(req, http::status::payload_too_large, "payload_too_large",
                "data is larger than max-message-size (" + std::to_string(api.max_data)
                  + " bytes)");
  return std::nullopt;
}

constexpr const char* topic_rule = "must be a string of 1-256 bytes without control characters";

std::optional<std::string> topic_of(const json::value* v) {
  auto s = v ? v->if_string() : nullptr;
  if (s == nullptr || !protocol::valid_topic(*s))
    return std::nullopt;
  return std::string{*s};
}

std::optional<conn_id> conn_id_of(const json::value* v) {
  if (v == nullptr)
    return std::nullopt;
  if (auto u = v->if_uint64())
    return *u;
  if (auto i = v->if_int64(); i && *i >= 0)
    return static_cast<conn_id>(*i);
  return std::nullopt;
}

api_decision publish_route(const http_request& req, const api_settings& api) {
  auto b = parse_body(req, {"topic", "data"});
  if (!b.error.empty())
    return bad(req, b.error);
  auto topic = topic_of(b.obj.if_contains("topic"));
  if (!topic)
    return bad(req, std::string{"topic "} + topic_rule);
  if (auto answer = check_data(req, b, api))
    return std::move(*answer);
  return call(publish_numbered{std::move(*topic), std::string{b.data}});
}

api_decision broadcast_route(const http_request& req, const api_settings& api) {
  auto b = parse_body(req, {"topics", "data"});
  if (!b.error.empty())
    return bad(req, b.error);
  auto list = b.obj.if_contains("topics");
  auto arr = list ? list->if_array() : nullptr;
  if (arr == nullptr || arr->empty() || arr->size() > max_broadcast_topics)
    return bad(req, "topics must be an array of 1-" + std::to_string(max_broadcast_topics)
                      + " topic names");
  broadcast cmd;
  for (auto& v : *arr) {
    auto topic = topic_of(&v);
    if (!topic)
      return bad(req, std::string{"every topic "} + topic_rule);
    cmd.topics.push_back(std::move(*topic));
  }
  if (auto answer = check_data(req, b, api))
    return std::move(*answer);
  cmd.data = std::string{b.data};
  return call(std::move(cmd));
}

constexpr std::string_view user_prefix = "user:";

api_decision send_route(const http_request& req, const api_settings& api) {
  auto b = parse_body(req, {"to", "data"});
  if (!b.error.empty())
    return bad(req, b.error);
  auto to = b.obj.if_contains("to");
  auto id = conn_id_of(to);
  auto named = to ? to->if_string() : nullptr;
  std::string user;
  if (named != nullptr) {
    std::string_view name{named->data(), named->size()};
    if (name.substr(0, user_prefix.size()) == user_prefix)
      user = std::string{name.substr(user_prefix.size())};
  }
  if (!id && !protocol::valid_user(user))
    return bad(req, R"(to must be a connection id or "user:ID" (ID: 1-256 bytes))");
  if (auto answer = check_data(req, b, api))
    return std::move(*answer);
  if (id)
    return call(send_direct{*id, std::string{b.data}, {}});
  return call(send_to_user{std::move(user), std::string{b.data}, {}});
}

api_decision disconnect_route(const http_request& req) {
  auto b = parse_body(req, {"connection", "user", "code", "reason"});
  if (!b.error.empty())
    return bad(req, b.error);
  auto conn = b.obj.if_contains("connection");
  auto user = b.obj.if_contains("user");
  if ((conn == nullptr) == (user == nullptr))
    return bad(req, "name either a connection or a user");
  std::uint16_t code = 1000;
  if (auto c = b.obj.if_contains("code")) {
    auto n = conn_id_of(c);
    if (!n || *n > 65535 || !protocol::valid_close_code(static_cast<std::uint16_t>(*n)))
      return bad(req, "code must be a close code: 1000-1003, 1007-1011 or 3000-4999");
    code = static_cast<std::uint16_t>(*n);
  }
  std::string reason;
  if (auto r = b.obj.if_contains("reason")) {
    auto s = r->if_string();
    if (s == nullptr || s->size() > 123)
      return bad(req, "reason must be a string of at most 123 bytes");
    reason = std::string{*s};
  }
  if (conn != nullptr) {
    auto id = conn_id_of(conn);
    if (!id)
      return bad(req, "connection must be a connection id");
    return call(close_connection{*id, code, std::move(reason)});
  }
  auto name = user->if_string();
  if (name == nullptr || !protocol::valid_user(*name))
    return bad(req, "user must be a string of 1-256 bytes");
  return call(disconnect_user{std::string{*name}, code, std::move(reason)});
}

// -- history and presence (v1.1) ---------------------------------------------------

// A body of {"topic":T} plus `extra` members; the topic, or the answer.
std::variant<std::string, api_decision> topic_body(const http_request& req, body& b,
                                                   std::initializer_list<std::string_view> known) {
  b = parse_body(req, known);
  if (!b.error.empty())
    return bad(req, b.error);
  auto topic = topic_of(b.obj.if_contains("topic"));
  if (!topic)
    return bad(req, std::string{"topic "} + topic_rule);
  return std::move(*topic);
}

api_decision history_route(const http_request& req) {
  body b;
  auto topic = topic_body(req, b, {"topic", "limit", "since"});
  if (auto answer = std::get_if<api_decision>(&topic))
    return std::move(*answer);
  query_history q{std::move(std::get<std::string>(topic)), max_recovery, caf::none};
  if (auto v = b.obj.if_contains("limit")) {
    auto n = conn_id_of(v);
    if (!n || *n > max_recovery)
      return bad(req, "limit must be 0-" + std::to_string(max_recovery));
    q.limit = static_cast<std::uint32_t>(*n);
  }
  if (auto v = b.obj.if_contains("since")) {
    auto obj = v->if_object();
    auto offset = obj ? conn_id_of(obj->if_contains("offset")) : std::nullopt;
    auto epoch = obj ? obj->if_contains("epoch") : nullptr;
    auto text = epoch ? epoch->if_string() : nullptr;
    if (!offset || text == nullptr || obj->size() != 2
        || text->size() > protocol::max_epoch_size)
      return bad(req, R"(since must be {"offset":N,"epoch":E})");
    q.since = stream_position{*offset, std::string{*text}};
  }
  return call(std::move(q));
}

template <class Query>
api_decision topic_query_route(const http_request& req) {
  body b;
  auto topic = topic_body(req, b, {"topic"});
  if (auto answer = std::get_if<api_decision>(&topic))
    return std::move(*answer);
  return call(Query{std::move(std::get<std::string>(topic))});
}

// -- queries -----------------------------------------------------------------------

api_decision topics_route(const http_request& req) {
  query_topics q;
  std::map<std::string, std::string> params;
  auto query = query_of(req.target());
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty())
      continue;
    auto eq = piece.find('=');
    auto key = url_decode(piece.substr(0, eq), true);
    auto value = url_decode(eq == std::string_view::npos ? std::string_view{}
                                                         : piece.substr(eq + 1),
                            true);
    if (!key || !value)
      return bad(req, "a malformed %-escape in the query");
    if (*key != "limit" && *key != "prefix")
      return bad(req, "unknown parameter " + protocol::quote(*key)
                        + " (limit and prefix are known)");
    if (!params.emplace(std::move(*key), std::move(*value)).second)
      return bad(req, "a parameter appears twice");
  }
  if (auto i = params.find("limit"); i != params.end()) {
    auto& text = i->second;
    auto limit = 0ul;
    bool digits = !text.empty() && text.size() <= 4
                  && std::all_of(text.begin(), text.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
      limit = std::stoul(text);
    if (!digits || limit < 1 || limit > max_topics_listed)
      return bad(req, "limit must be 1-" + std::to_string(max_topics_listed));
    q.limit = static_cast<std::uint32_t>(limit);
  }
  if (auto i = params.find("prefix"); i != params.end()) {
    if (i->second.size() > protocol::max_topic_size)
      return bad(req, "prefix must be at most 256 bytes");
    q.prefix = std::move(i->second);
  }
  return call(std::move(q));
}

api_decision topic_route(const http_request& req, std::string_view encoded) {
  auto name = url_decode(encoded, false);
  if (!name)
    return bad(req, "a malformed %-escape in the topic name");
  if (!protocol::valid_topic(*name))
    return bad(req, std::string{"a topic name "} + topic_rule);
  return call(query_topic{std::move(*name)});
}

api_decision connection_route(const http_request& req, std::string_view text) {
  // At most 16 digits: ids are below 2^53.
  if (text.empty() || text.size() > 16
      || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad(req, "a connection id is a decimal number");
  return call(query_connection{std::stoull(std::string{text})});
}

bool get_or_head(const http_request& req) {
  return req.method() == http::verb::get || req.method() == http::verb::head;
}

// `text` with every byte outside printable ASCII written as \xNN.
std::string printable(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

// Who calls: the name of the key the request carries, or console_caller for
// a logged-in console page (docs/console.md); none: refused.
std::optional<std::string> caller_of(const http_request& req, const api_settings& api,
                                     const api_key_set& keys) {
  auto auth = req.find(http::field::authorization);
  if (auth != req.end())
    if (auto name = matching_key(auth->value(), keys))
      return name;
  if (api.console && console_request(req, *api.console, api.tls))
    return std::string{console_caller};
  return std::nullopt;
}

bool authorized(const http_request& req, const api_settings& api) {
  return caller_of(req, api, *api.keys()).has_value();
}

api_decision route_authorized(const http_request& req, const api_settings& api) {
  auto p = path_of(req.target());
  std::string_view path{p.data(), p.size()};
  auto post = req.method() == http::verb::post;
  if (path == "/api/publish")
    return post ? publish_route(req, api) : wrong_method(req, "POST");
  if (path == "/api/broadcast")
    return post ? broadcast_route(req, api) : wrong_method(req, "POST");
  if (path == "/api/send")
    return post ? send_route(req, api) : wrong_method(req, "POST");
  if (path == "/api/disconnect")
    return post ? disconnect_route(req) : wrong_method(req, "POST");
  if (path == "/api/history")
    return post ? history_route(req) : wrong_method(req, "POST");
  if (path == "/api/history_remove")
    return post ? topic_query_route<remove_history>(req) : wrong_method(req, "POST");
  if (path == "/api/presence")
    return post ? topic_query_route<query_presence>(req) : wrong_method(req, "POST");
  if (path == "/api/presence_stats")
    return post ? topic_query_route<query_presence_stats>(req) : wrong_method(req, "POST");
  constexpr std::string_view topics = "/api/topics", topic = "/api/topics/",
                             connection = "/api/connections/";
  if (path == topics)
    return get_or_head(req) ? topics_route(req) : wrong_method(req, "GET, HEAD");
  if (path.size() > topic.size() && path.substr(0, topic.size()) == topic)
    return get_or_head(req) ? topic_route(req, path.substr(topic.size()))
                            : wrong_method(req, "GET, HEAD");
  if (path.size() > connection.size() && path.substr(0, connection.size()) == connection)
    return get_or_head(req) ? connection_route(req, path.substr(connection.size()))
                            : wrong_method(req, "GET, HEAD");
  return fail(req, http::status::not_found, "not_found", "no such API route");
}

} // namespace

std::optional<std::string> api_caller(const http_request& req, const api_settings& api) {
  return caller_of(req, api, *api.keys());
}

bool cluster_names_visible(const http_request& req, const api_settings& api) {
  // A node without an API (no key, no console) has nothing to protect.
  if (api.keys()->empty() && !api.console)
    return true;
  return authorized(req, api);
}

bool is_api_target(beast::string_view target) {
  auto path = path_of(target);
  return path == "/api" || path.substr(0, 5) == "/api/";
}

std::size_t body_limit_for(const http_request& header, const api_settings& api) {
  if (!is_api_target(header.target()) || !authorized(header, api))
    return http_body_limit;
  return api.max_body;
}

api_decision route_api(const http_request& req, const api_settings& api) {
  // One load: the whole request is decided on one set of keys.
  auto keys = api.keys();
  // Without a key there is no API: the same answer as any unknown path.
  if (keys->empty() && !api.console)
    return {std::nullopt, make_response(req, http::status::not_found, "not found\n")};
  auto caller = caller_of(req, api, *keys);
  if (!caller) {
    auto res = api_error(req, http::status::unauthorized, "unauthorized",
                         "a missing or wrong API key (Authorization: apikey KEY)");
    res.set(http::field::www_authenticate, R"(apikey realm="switchboard")");
    return {std::nullopt, std::move(res)};
  }
  auto result = route_authorized(req, api);
  result.caller = std::move(*caller);
  return result;
}

http_response api_error(const http_request& req, http::status status, std::string_view code,
                        std::string_view reason) {
  json::object obj;
  obj["error"] = json::string_view{code.data(), code.size()};
  // A reason may quote what the client sent (a parameter's name), and
  // Boost.JSON writes the bytes of a string as they are: the body must stay
  // valid JSON, so bytes that are not UTF-8 are spelled out (found by
  // fuzzing).
  obj["reason"] = protocol::valid_utf8(reason) ? std::string{reason} : printable(reason);
  return make_response(req, status, json::serialize(obj) + "\n", "application/json");
}

} // namespace switchboard::net
