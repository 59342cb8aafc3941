#include "http/api_answer.hpp"

#include "cluster/cluster_messages.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <ctime>

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

http_response ok(const http_request& req, const json::value& body) {
  return make_response(req, http::status::ok, json::serialize(body) + "\n",
                       "application/json");
}

// A body made by hand (it holds raw JSON data verbatim).
http_response ok_text(const http_request& req, std::string body) {
  return make_response(req, http::status::ok, std::move(body) + "\n", "application/json");
}

json::object topic_json(const topic_info& t) {
  json::object obj;
  obj["name"] = t.name;
  obj["subscribers"] = t.subscribers;
  obj["listeners"] = t.listeners;
  return obj;
}

// RFC 3339 in UTC with milliseconds, e.g. 2026-11-28T08:30:00.123Z.
std::string rfc3339(caf::timespan since_epoch) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string{buf, n} + frac;
}

json::object connection_json(const connection_info& c) {
  json::object obj;
  obj["id"] = c.id;
  if (c.user.empty())
    obj["user"] = nullptr;
  else
    obj["user"] = c.user;
  json::array topics;
  for (auto& t : c.topics)
    topics.emplace_back(t);
  obj["topics"] = std::move(topics);
  obj["age_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(c.age).count();
  obj["connected_since"] = rfc3339(c.connected_since);
  return obj;
}

json::object count(const char* name, std::uint64_t n) {
  json::object obj;
  obj[name] = n;
  return obj;
}

// A send's or a disconnect's count on a clustered node: this node's, and
// whether the request went on to other nodes.
json::object count(const char* name, std::uint64_t n, bool forwarded) {
  auto obj = count(name, n);
  obj["forwarded"] = forwarded;
  return obj;
}

// What `call` not finding its target is called.
const char* missing(const api_call& call) {
  if (std::holds_alternative<query_topic>(call))
    return "unknown_topic";
  if (std::holds_alternative<send_to_user>(call)
      || std::holds_alternative<disconnect_user>(call))
    return "unknown_user";
  return "unknown_connection";
}

const char* missing_text(const api_call& call) {
  if (std::holds_alternative<query_topic>(call))
    return "no such topic (a topic exists while it has subscribers or listeners)";
  if (std::holds_alternative<send_to_user>(call)
      || std::holds_alternative<disconnect_user>(call))
    return "no connection of that user";
  return "no connection with that id";
}

http_response not_found(const http_request& req, const api_call& call) {
  return api_error(req, http::status::not_found, missing(call), missing_text(call));
}

http_response error_answer(const http_request& req, const api_call& call,
                           const caf::error& err) {
  if (err.category() == hub_error_category) {
    auto code = static_cast<hub_errc>(err.code());
    switch (code) {
      case hub_errc::invalid_topic:
      case hub_errc::invalid_data:
      case hub_errc::invalid_argument:
      case hub_errc::limit_exceeded:
        return api_error(req, http::status::bad_request, to_string(code),
                         "the hub refused the request as invalid");
      case hub_errc::not_found:
        return not_found(req, call);
      case hub_errc::not_enabled:
        return api_error(req, http::status::bad_request, "not_enabled",
                         "the topic's namespace does not enable this");
      case hub_errc::shutting_down:
        return api_error(req, http::status::service_unavailable, "shutting_down",
                         "the node is stopping");
      case hub_errc::unavailable:
        return api_error(req, http::status::service_unavailable, "unavailable",
                         "the history store cannot be reached");
    }
  }
  // A request timeout, a hub that is gone, anything else: not now.
  return api_error(req, http::status::service_unavailable, "unavailable",
                   "the hub did not answer");
}

// The successful reply of each call.
struct answer_of {
  const http_request& req;
  const api_call& call;
  const api_reply& reply;
  api_cluster_view cluster;

  template <class T>
  const T* get() const {
    return std::get_if<T>(&reply);
  }

  // A send or disconnect of one connection: done here (1), forwarded to the
  // node its id names (0, forwarded), or no such connection (404). The hub
  // answers true for both of the first two.
  http_response by_id(conn_id id, const char* name) const {
    if (!*get<bool>())
      return not_found(req, call);
    if (!cluster.clustered)
      return ok(req, count(name, 1));
    auto remote = node_tag_of(id) != cluster.tag;
    return ok(req, count(name, remote ? 0 : 1, remote));
  }

  // A send or disconnect of a user: this node's connections; on a cluster
  // it went to every other node too, so none here is no error.
  http_response by_user(const char* name) const {
    auto n = *get<std::uint64_t>();
    if (cluster.clustered)
      return ok(req, count(name, n, true));
    return n > 0 ? ok(req, count(name, n)) : not_found(req, call);
  }

  http_response operator()(const publish_numbered&) const {
    return ok_text(req, publish_body(*get<publish_result>()));
  }
  http_response operator()(const query_history&) const {
    return ok_text(req, history_body(*get<history_page>()));
  }
  http_response operator()(const remove_history& c) const {
    return ok_text(req, position_body(c.topic, *get<stream_position>()));
  }
  http_response operator()(const query_presence&) const {
    return ok_text(req, presence_body(*get<presence_info>()));
  }
  http_response operator()(const query_presence_stats&) const {
    return ok_text(req, presence_stats_body(*get<presence_counts>()));
  }
  http_response operator()(const broadcast&) const {
    json::object counts;
    for (auto& [topic, n] : *get<delivery_counts>())
      counts[topic] = n;
    json::object obj;
    obj["delivered"] = std::move(counts);
    return ok(req, obj);
  }
  http_response operator()(const send_direct& c) const {
    return by_id(c.to, "delivered");
  }
  http_response operator()(const send_to_user&) const {
    return by_user("delivered");
  }
  http_response operator()(const close_connection& c) const {
    return by_id(c.conn, "disconnected");
  }
  http_response operator()(const disconnect_user&) const {
    return by_user("disconnected");
  }
  http_response operator()(const query_topics&) const {
    auto& list = *get<topic_list>();
    json::array topics;
    for (auto& t : list.topics)
      topics.emplace_back(topic_json(t));
    json::object obj;
    obj["topics"] = std::move(topics);
    obj["total"] = list.total;
    obj["truncated"] = list.truncated;
    return ok(req, obj);
  }
  http_response operator()(const query_topic&) const {
    return ok(req, topic_json(*get<topic_info>()));
  }
  http_response operator()(const query_connection&) const {
    return ok(req, connection_json(*get<connection_info>()));
  }
};

// Whether `reply` holds what `call` is answered with.
bool fits(const api_call& call, const api_reply& reply) {
  return std::visit(
    [&](const auto& c) {
      using reply_type = api_reply_t<std::decay_t<decltype(c)>>;
      return std::holds_alternative<reply_type>(reply);
    },
    call);
}

} // namespace

http_response api_answer(const http_request& req, const api_call& call,
                         const api_reply& reply, api_cluster_view cluster) {
  if (auto err = std::get_if<caf::error>(&reply))
    return error_answer(req, call, *err);
  if (!fits(call, reply))
    return api_error(req, http::status::internal_server_error, "internal_error",
                     "the hub answered with an unexpected type");
  return std::visit(answer_of{req, call, reply, cluster}, call);
}

http_response api_parse_error_response(beast::error_code ec) {
  http_request req;
  req.keep_alive(false);
  if (ec == http::error::body_limit)
    return api_error(req, http::status::payload_too_large, "payload_too_large",
                     "the body is larger than the limit (api-max-body)");
  if (ec == http::error::header_limit)
    return api_error(req, http::status::request_header_fields_too_large,
                     "header_too_large", "the header is larger than 8 KiB");
  return api_error(req, http::status::bad_request, "bad_request",
                   "the request is not valid HTTP/1.1");
}

} // namespace switchboard::net
