#pragma once

// The server API (docs/api.md) as pure functions: which hub request an HTTP
// request under /api/ asks for, or which error it gets; and which body
// limit a request's header earns. No socket, no actor: http_session does
// the I/O and the hub round trip, api_answer.hpp turns the hub's reply
// into the response.

#include "auth/api_key.hpp"
#include "http/http_route.hpp"

#include "switchboard/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace switchboard::net {

/// The body limit of every request outside the API (and of API requests
/// without the right key).
constexpr std::size_t http_body_limit = 8 * 1024;

/// Whether `target` is under /api (the path /api or /api/...).
bool is_api_target(boost::beast::string_view target);

/// The largest body the request whose header is `header` may have:
/// api.max_body for an /api request with the right key, http_body_limit
/// otherwise. (The parser starts with the larger of the two, since Beast
/// checks a Content-Length when the header ends, and is set to this before
/// the body is read.)
std::size_t body_limit_for(const http_request& header, const api_settings& api);

/// What a request under /api asks of the hub.
using api_call = std::variant<publish_numbered, broadcast, send_direct, send_to_user,
                              close_connection, disconnect_user, query_topics,
                              query_topic, query_connection, query_history,
                              remove_history, query_presence, query_presence_stats>;

/// The hub's reply type for each call.
template <class Call>
struct api_reply_of;
template <>
struct api_reply_of<publish_numbered> { using type = publish_result; };
template <>
struct api_reply_of<broadcast> { using type = delivery_counts; };
template <>
struct api_reply_of<send_direct> { using type = bool; };
template <>
struct api_reply_of<send_to_user> { using type = std::uint64_t; };
template <>
struct api_reply_of<close_connection> { using type = bool; };
template <>
struct api_reply_of<disconnect_user> { using type = std::uint64_t; };
template <>
struct api_reply_of<query_topics> { using type = topic_list; };
template <>
struct api_reply_of<query_topic> { using type = topic_info; };
template <>
struct api_reply_of<query_connection> { using type = connection_info; };
template <>
struct api_reply_of<query_history> { using type = history_page; };
template <>
struct api_reply_of<remove_history> { using type = stream_position; };
template <>
struct api_reply_of<query_presence> { using type = presence_info; };
template <>
struct api_reply_of<query_presence_stats> { using type = presence_counts; };

template <class Call>
using api_reply_t = typename api_reply_of<Call>::type;

struct api_decision {
  /// Set: ask the hub this and answer with api_answer().
  std::optional<api_call> call;
  /// Without a call: the complete answer (an error).
  http_response response;
  /// Who called (the audit line): the name of the key the request carried,
  /// or console_caller; empty when it was refused for want of one.
  std::string caller = {};
};

/// Who `req` calls the API as: the name of the key it carries, or
/// console_caller for a logged-in console page; none without either.
std::optional<std::string> api_caller(const http_request& req, const api_settings& api);

/// Decides a request under /api: 404 without a configured key, 401 without
/// the right one, 404 for an unknown route, 405 (with Allow) for a wrong
/// method, 400 for a bad body or parameter, 413 for data larger than
/// api.max_data; otherwise the hub call.
api_decision route_api(const http_request& req, const api_settings& api);

/// A JSON error answer: `{"error":code,"reason":reason}`.
http_response api_error(const http_request& req, boost::beast::http::status status,
                        std::string_view code, std::string_view reason);

} // namespace switchboard::net
