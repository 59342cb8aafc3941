// libFuzzer target for the node's HTTP side: the bytes a client sends on the
// node's port, read as net/http/http_session.cpp reads them (Beast's request
// parser with the node's limits, a new parser per request, one buffer for the
// connection), every request answered as the node answers it (net::route,
// the /stats answer, the admission's and the authenticator's refusals) and
// every upgrade accepted by a Beast websocket stream as ws_session does.
// Besides crashes, leaks and sanitizer reports, it checks:
// - every response serializes with http::write and parses back with Beast's
//   response parser into the same status, version, fields, keep-alive and
//   body, with no byte left over; its status lies in 100-599;
// - our responses tell their body's size in Content-Length; a response to
//   HEAD has no body, and the status and Content-Length of the same GET;
// - every response names the server; 405 has Allow; the admission's 503 and
//   429 have Retry-After (the 503s of /healthz and /stats and an
//   authenticator's 503 or 429 have none: nobody knows when they end);
// - route follows its contract (http_route.hpp), and hub_alive changes only
//   the status of /healthz; a refused parse gets 431, 413 or 400, and the
//   refusals close the connection;
// - a request under /api goes to the server API (api_route.hpp): with the
//   key "fuzz-key" configured, it is a hub call or an error with a JSON
//   body (401 with WWW-Authenticate, 405 with Allow); the answer to every
//   call, whatever the hub replies, is JSON with a status the API knows;
//   without a key it is the plain 404 of any unknown path; the body limit is
//   the API's only for an /api request with the right key;
// - the handshake answer is 101 with the RFC 6455 Sec-WebSocket-Accept
//   (computed here with Boost's SHA-1, not Beast's) when the request passes
//   the checks Beast makes, otherwise 400, or 426 for another
//   Sec-WebSocket-Version.
//
// Input: 4 bytes of parameters, then what the client sends:
//   [0]    the most bytes one read returns (0: no limit), so that the parser
//          sees requests cut at any place;
//   [1]    the admission's refusal: the verdict (low 2 bits, 0 meaning
//          handshake_rate) and the Retry-After seconds (the rest);
//   [2..3] the authenticator's status (big endian; the reason is the
//          request's body).
//
// Run: tools/ci/fuzz.sh, or by hand on a copy of the seed corpus:
//   build-fuzz/tests/fuzz/http_fuzz -dict=tests/fuzz/http.dict <dir>

#include "http/api_answer.hpp"
#include "http/api_route.hpp"
#include "http/console_route.hpp"
#include "http/http_route.hpp"
#include "observe/stats_json.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/uuid/detail/sha1.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

using namespace switchboard;
using namespace switchboard::net;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

// As net/http/http_session.cpp.
constexpr std::size_t header_limit = 8 * 1024;

// The API as a node with --api-key=fuzz-key --api-max-body=16384
// --max-message-size=1024 has it.
const api_settings& api_with_key() {
  static const api_settings api = [] {
    api_settings s;
    s.set_keys({{"fuzz", digest_of("fuzz-key")}});
    s.max_body = 16 * 1024;
    s.max_data = 1024;
    return s;
  }();
  return api;
}

struct parameters {
  std::size_t read_size = 0;
  admission_decision refusal;
  unsigned auth_status = 0;
};

void require(bool ok, const char* what, std::string_view context) {
  if (ok)
    return;
  std::fprintf(stderr, "http_fuzz: violated: %s\n%.*s\n", what,
               static_cast<int>(context.size()), context.data());
  std::abort();
}

template <bool IsRequest>
std::string text_of(const http::message<IsRequest, http::string_body>& msg) {
  std::ostringstream os;
  os << msg.base() << msg.body();
  return os.str();
}

std::string field(const http_response& res, http::field name) {
  auto i = res.find(name);
  return i == res.end() ? std::string{} : std::string{i->value()};
}

beast::string_view path_of(beast::string_view target) {
  return target.substr(0, target.find('?'));
}

// What Beast's response parser makes of `wire`: the whole of it must be one
// response (a response to HEAD has no body whatever its Content-Length).
http_response parse_back(std::string_view wire, bool to_head) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.skip(to_head);
  beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < wire.size()) {
    auto n =
      parser.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
    used += n;
    if (ec == http::error::need_more && n > 0)
      ec = {};
    else if (ec)
      break;
  }
  if (ec == http::error::need_more)
    ec = {};
  if (!ec && !parser.is_done())
    parser.put_eof(ec);
  require(!ec && parser.is_done(), "a response Beast cannot parse back", wire);
  require(used == wire.size(), "bytes after the response", wire);
  return parser.release();
}

// Writes `res` with http::write, parses it back and compares.
http_response round_trip(const http_response& res, bool to_head,
                         asio::io_context& ioc) {
  beast::test::stream out{ioc};
  beast::test::stream in{ioc};
  out.connect(in);
  beast::error_code ec;
  http::write(out, res, ec);
  auto text = text_of(res);
  require(!ec, "a response http::write refuses", text);
  auto wire = std::string{in.str()};
  auto back = parse_back(wire, to_head);
  require(back.result_int() == res.result_int()
            && back.version() == res.version(),
          "another status line after parsing back", wire);
  require(back.keep_alive() == res.keep_alive(),
          "another keep-alive after parsing back", wire);
  require(back.body() == (to_head ? std::string{} : res.body()),
          "another body after parsing back", wire);
  auto i = res.begin();
  auto j = back.begin();
  for (; i != res.end() && j != back.end(); ++i, ++j)
    require(i->name_string() == j->name_string() && i->value() == j->value(),
            "another field after parsing back", wire);
  require(i == res.end() && j == back.end(), "other fields after parsing back",
          wire);
  return back;
}

// The checks for every response the node writes itself.
void check_ours(const http_response& res, const http_request& req,
                asio::io_context& ioc) {
  auto text = text_of(res);
  auto status = res.result_int();
  require(status >= 100 && status <= 599, "a status outside 100-599", text);
  require(field(res, http::field::server) == "switchboard", "no Server field",
          text);
  if (res.result() == http::status::method_not_allowed)
    require(res.count(http::field::allow) > 0, "405 without Allow", text);
  bool head = req.method() == http::verb::head;
  if (head)
    require(res.body().empty(), "a body in the answer to HEAD", text);
  else
    require(field(res, http::field::content_length)
              == std::to_string(res.body().size()),
            "a Content-Length that is not the body's size", text);
  round_trip(res, head, ioc);
}

void check_refusal(const http_response& res, const http_request& req,
                   asio::io_context& ioc) {
  require(!res.keep_alive(), "a refusal that keeps the connection",
          text_of(res));
  check_ours(res, req, ioc);
}

// route's contract (http_route.hpp), for both values of hub_alive.
void check_route(const route_decision& alive, const route_decision& dead,
                 const http_request& req, asio::io_context& ioc) {
  auto text = text_of(req);
  auto path = path_of(req.target());
  bool get_or_head =
    req.method() == http::verb::get || req.method() == http::verb::head;
  require(alive.kind == dead.kind, "hub_alive changes the kind of answer",
          text);
  require((alive.kind == route_kind::api)
            == (path == "/api" || path.substr(0, 5) == "/api/"),
          "the API for a path outside /api, or not for one inside", text);
  if (alive.kind == route_kind::api)
    return;
  require((alive.kind == route_kind::upgrade)
            == (path == "/ws" && websocket::is_upgrade(req)),
          "an upgrade that is not one on /ws, or one on /ws refused", text);
  require((alive.kind == route_kind::stats)
            == (path == "/stats" && get_or_head),
          "statistics for another request than GET or HEAD /stats", text);
  require((alive.kind == route_kind::metrics)
            == (path == "/metrics" && get_or_head),
          "metrics for another request than GET or HEAD /metrics", text);
  if (alive.kind != route_kind::respond)
    return;
  auto expected = path == "/ws" ? http::status::upgrade_required
                  : path != "/healthz" && path != "/stats" && path != "/metrics"
                    ? http::status::not_found
                  : !get_or_head ? http::status::method_not_allowed
                                 : http::status::ok;
  require(alive.response.result() == expected, "route gives another status",
          text);
  if (expected == http::status::ok)
    expected = http::status::service_unavailable;
  require(dead.response.result() == expected,
          "route gives another status when the hub is gone", text);
  require(alive.response.keep_alive() == req.keep_alive()
            && dead.response.keep_alive() == req.keep_alive(),
          "route's answer keeps the connection otherwise than asked", text);
  check_ours(alive.response, req, ioc);
  check_ours(dead.response, req, ioc);
  if (req.method() != http::verb::head)
    return;
  auto get = req;
  get.method(http::verb::get);
  auto as_get = route(get, true);
  if (as_get.kind != route_kind::respond)
    return;
  require(as_get.response.result() == alive.response.result()
            && field(alive.response, http::field::content_length)
                 == std::to_string(as_get.response.body().size()),
          "HEAD answers otherwise than GET", text);
}

// The answer to GET or HEAD /stats, built as http_session::serve_stats does.
void check_stats(const http_request& req, const parameters& p,
                 asio::io_context& ioc) {
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  hub_stats stats;
  stats.connections = p.auth_status;
  stats.disconnects["socket_error"] = p.read_size;
  rejection_counts rejections;
  rejections.handshake_rate = p.refusal.retry_after.count();
  auto body = stats_json(stats, rejections);
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  require(!ec && parsed.is_object(), "a /stats body that is not a JSON object",
          body);
  for (auto res :
       {make_response(head, http::status::ok, body, "application/json"),
        make_response(head, http::status::service_unavailable,
                      "{\"error\":\"hub unavailable\"}\n",
                      "application/json")}) {
    require(res.keep_alive() == req.keep_alive(),
            "a /stats answer that keeps the connection otherwise than asked",
            text_of(res));
    check_ours(res, req, ioc);
  }
}

// RFC 6455's Sec-WebSocket-Accept: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key) {
  static constexpr char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(key.data(), key.size());
  sha.process_bytes(guid, sizeof guid - 1);
  boost::uuids::detail::sha1::digest_type words;
  sha.get_digest(words);
  unsigned char digest[20];
  for (int i = 0; i < 20; ++i)
    digest[i] = static_cast<unsigned char>(words[i / 4] >> (24 - 8 * (i % 4)));
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int i = 0; i < 20; i += 3) {
    unsigned v = digest[i] << 16;
    v |= i + 1 < 20 ? digest[i + 1] << 8 : 0;
    v |= i + 2 < 20 ? digest[i + 2] : 0;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < 20 ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < 20 ? alphabet[v & 63] : '=';
  }
  return out;
}

// The status Beast answers a handshake with: RFC 6455 section 4.2.1 as Beast
// checks it (the first Connection, Upgrade and key fields count, and any key
// of at most 24 characters will do, where the RFC wants 16 base64 bytes).
unsigned expected_handshake_status(const http_request& req) {
  auto has_token = [&](http::field name, const char* token) {
    auto i = req.find(name);
    return i != req.end() && http::token_list{i->value()}.exists(token);
  };
  auto key = req.find(http::field::sec_websocket_key);
  if (req.version() != 11 || req.method() != http::verb::get
      || req.count(http::field::host) == 0
      || !has_token(http::field::connection, "upgrade")
      || !has_token(http::field::upgrade, "websocket") || key == req.end()
      || key->value().size() > 24
      || req.count(http::field::sec_websocket_version) == 0)
    return 400;
  return req[http::field::sec_websocket_version] == "13" ? 101 : 426;
}

// The handshake as ws_session does it: Beast accepts `req` and writes its
// answer.
void check_handshake(const http_request& req, asio::io_context& ioc) {
  websocket::stream<beast::test::stream> ws{ioc};
  beast::test::stream client{ioc};
  ws.next_layer().connect(client);
  ws.set_option(
    websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "switchboard");
    }));
  beast::error_code ec;
  ws.accept(req, ec);
  auto wire = std::string{client.str()};
  auto res = parse_back(wire, false);
  round_trip(res, false, ioc);
  auto expected = expected_handshake_status(req);
  require(res.result_int() == expected,
          "a handshake answer Beast's checks do not give",
          wire + "\n-- to --\n" + text_of(req));
  require(!ec == (expected == 101) && ws.is_open() == (expected == 101),
          "a handshake error that does not match the answer", wire);
  require(field(res, http::field::server) == "switchboard", "no Server field",
          wire);
  if (expected == 426)
    require(field(res, http::field::sec_websocket_version) == "13",
            "426 without Sec-WebSocket-Version: 13", wire);
  if (expected != 101)
    return;
  require(field(res, http::field::sec_websocket_accept)
            == accept_key(req[http::field::sec_websocket_key]),
          "a wrong Sec-WebSocket-Accept", wire);
  require(http::token_list{field(res, http::field::upgrade)}.exists("websocket")
            && http::token_list{field(res, http::field::connection)}.exists(
              "upgrade"),
          "101 without Upgrade: websocket and Connection: upgrade", wire);
}

// The two refusals of an upgrade, with the parameters from the input.
void check_refusals(const http_request& req, const parameters& p,
                    asio::io_context& ioc) {
  auto rejected = rejection_response(req, p.refusal);
  auto text = text_of(rejected);
  require(rejected.result()
            == (p.refusal.verdict == admission_verdict::max_connections
                  ? http::status::service_unavailable
                  : http::status::too_many_requests),
          "a rejection with another status than 503 or 429", text);
  require(field(rejected, http::field::retry_after)
            == std::to_string(p.refusal.retry_after.count()),
          "a rejection with another Retry-After", text);
  check_refusal(rejected, req, ioc);

  auto refused = refusal_response(req, p.auth_status, req.body());
  text = text_of(refused);
  auto status = refused.result_int();
  require(status == p.auth_status || status == 403,
          "a refusal with another status than the authenticator's or 403",
          text);
  require(status >= 400 && status <= 599, "a refusal that is no 4xx or 5xx",
          text);
  if (status == 401)
    require(refused.count(http::field::www_authenticate) > 0,
            "401 without WWW-Authenticate", text);
  check_refusal(refused, req, ioc);
}

// The JSON error body of the API: an object with a string error and reason.
void check_api_error_body(const http_response& res, const http_request& req) {
  auto text = text_of(res);
  require(field(res, http::field::content_type) == "application/json",
          "an API error that is not JSON", text);
  if (req.method() == http::verb::head)
    return;
  boost::json::error_code ec;
  auto body = boost::json::parse(res.body(), ec);
  require(!ec && body.is_object(), "an API error body that is no JSON object", text);
  auto& obj = body.get_object();
  require(obj.contains("error") && obj.at("error").is_string() && obj.contains("reason")
            && obj.at("reason").is_string(),
          "an API error body without error and reason", text);
}

// A reply of the call's own type with default values.
api_reply default_reply(const api_call& call) {
  return std::visit(
    [](const auto& c) {
      using reply_type = api_reply_t<std::decay_t<decltype(c)>>;
      return api_reply{std::in_place_type<reply_type>, reply_type{}};
    },
    call);
}

// A request under /api, answered as http_session::serve_api does, with and
// without a configured key; false when the node closes the connection.
bool check_api(const http_request& req, asio::io_context& ioc) {
  auto text = text_of(req);
  auto without = route_api(req, api_settings{});
  require(!without.call && without.response.result() == http::status::not_found
            && field(without.response, http::field::content_type) == "text/plain",
          "an API without a key that answers otherwise than 404", text);
  check_ours(without.response, req, ioc);
  auto d = route_api(req, api_with_key());
  auto auth = req.find(http::field::authorization);
  bool authorized =
    auth != req.end() && matching_key(auth->value(), *api_with_key().keys()).has_value();
  require(authorized || (!d.call && d.response.result() == http::status::unauthorized),
          "an API request without the key that is not refused with 401", text);
  require(body_limit_for(req, api_with_key())
            == (authorized ? api_with_key().max_body : http_body_limit),
          "another body limit than the API's for an authorized API request", text);
  if (!d.call) {
    auto status = d.response.result_int();
    require(status == 400 || status == 401 || status == 404 || status == 405
              || status == 413,
            "an API refusal with a status the API does not give", text_of(d.response));
    if (status == 401)
      require(d.response.count(http::field::www_authenticate) > 0,
              "401 without WWW-Authenticate", text_of(d.response));
    check_api_error_body(d.response, req);
    check_ours(d.response, req, ioc);
    require(d.response.keep_alive() == req.keep_alive(),
            "an API refusal that keeps the connection otherwise than asked",
            text_of(d.response));
    return !d.response.need_eof();
  }
  require(authorized, "a hub call without the key", text);
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  for (auto& reply : {default_reply(*d.call), api_reply{make_error(hub_errc::not_found)},
                      api_reply{make_error(hub_errc::shutting_down)},
                      api_reply{make_error(hub_errc::invalid_argument)},
                      api_reply{caf::make_error(caf::sec::request_timeout)}}) {
    auto res = api_answer(head, *d.call, reply);
    auto status = res.result_int();
    require(status == 200 || status == 400 || status == 404 || status == 503,
            "an API answer with a status the API does not give", text_of(res));
    if (status != 200)
      check_api_error_body(res, req);
    check_ours(res, req, ioc);
  }
  return req.keep_alive();
}

// A request under /console, to a node without a console (404) and to one
// with a console (login form, files, login and logout with whatever the
// input holds); false when the node closes the connection after it.
bool check_console(const http_request& req, asio::io_context& ioc) {
  auto off = console_answer(req, nullptr, address_key{}, false);
  require(off.result() == http::status::not_found, "a console answer without a console",
          text_of(off));
  check_ours(off, req, ioc);
  static console_auth auth{"a fuzzing password, 16+ characters"};
  auto res = console_answer(req, &auth, address_key{}, false);
  check_ours(res, req, ioc);
  return !res.need_eof();
}

// One complete request, as http_session::on_read handles it; false when the
// node closes the connection after it.
bool handle(const http_request& req, const parameters& p,
            asio::io_context& ioc) {
  auto alive = route(req, true);
  auto dead = route(req, false);
  check_route(alive, dead, req, ioc);
  check_refusals(req, p, ioc);
  switch (alive.kind) {
    case route_kind::respond:
      return !alive.response.need_eof();
    case route_kind::stats:
      check_stats(req, p, ioc);
      return req.keep_alive();
    case route_kind::metrics:
      return req.keep_alive();
    case route_kind::upgrade:
      check_handshake(req, ioc);
      return false;
    case route_kind::api:
      return check_api(req, ioc);
    case route_kind::console:
      return check_console(req, ioc);
  }
  return false;
}

parameters parameters_of(const std::uint8_t* data) {
  parameters p;
  p.read_size = data[0];
  static constexpr admission_verdict verdicts[] = {
    admission_verdict::handshake_rate, admission_verdict::max_connections,
    admission_verdict::max_connections_per_address,
    admission_verdict::handshake_rate};
  p.refusal.verdict = verdicts[data[1] & 3];
  p.refusal.retry_after = std::chrono::seconds{data[1] >> 2};
  p.auth_status = static_cast<unsigned>(data[2] << 8 | data[3]);
  return p;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size < 4)
    return 0;
  auto p = parameters_of(data);
  asio::io_context ioc;
  beast::test::stream conn{ioc};
  conn.append({reinterpret_cast<const char*>(data) + 4, size - 4});
  conn.close_remote(); // the client is done sending
  if (p.read_size > 0)
    conn.read_size(p.read_size);
  beast::flat_buffer buffer;
  for (bool more = true; more;) {
    // As http_session: the header with the largest body limit, then this
    // request's limit before any of the body is read.
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(std::max(http_body_limit, api_with_key().max_body));
    beast::error_code ec;
    http::read_header(conn, buffer, parser, ec);
    if (!ec) {
      auto limit = body_limit_for(parser.get(), api_with_key());
      auto length = parser.content_length();
      if (length && *length > limit)
        ec = http::error::body_limit;
      else
        parser.body_limit(limit);
    }
    if (!ec && !parser.is_done())
      http::read(conn, buffer, parser, ec);
    if (ec == http::error::end_of_stream)
      break;
    if (ec && parser.is_header_done() && is_api_target(parser.get().target())) {
      auto res = api_parse_error_response(ec);
      require(res.result_int() == (ec == http::error::body_limit ? 413u : 400u),
              "a refused API parse with another status", text_of(res));
      check_refusal(res, http_request{}, ioc);
      break;
    }
    if (ec) {
      auto res = parse_error_response(ec);
      auto expected = ec == http::error::header_limit ? 431u
                      : ec == http::error::body_limit ? 413u
                                                      : 400u;
      require(res.result_int() == expected,
              "a refused parse with another status", text_of(res));
      check_refusal(res, http_request{}, ioc);
      break;
    }
    more = handle(parser.get(), p, ioc);
  }
  return 0;
}
