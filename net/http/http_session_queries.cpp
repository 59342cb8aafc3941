// http_session: the answers an actor gives. /stats, /stats?scope=cluster,
// /metrics and the server API ask the hub or the cluster actor through
// actor_bridge.hpp; the answer is rendered and written on this session's
// loop.

#include "http/http_session.hpp"

#include "http/actor_bridge.hpp"
#include "http/api_answer.hpp"
#include "http/api_audit.hpp"
#include "io/io_loops.hpp"
#include "observe/cluster_stats.hpp"
#include "observe/metrics_page.hpp"
#include "observe/stats_json.hpp"

#include <optional>
#include <variant>

namespace switchboard::net {

namespace http = boost::beast::http;

namespace {

/// How long an API request, /stats and /metrics wait for the hub, and
/// /stats?scope=cluster for the cluster actor (which waits about a second
/// for its peers).
constexpr auto actor_timeout = std::chrono::seconds(5);

/// What an answer that comes later needs of its request: the version,
/// keep-alive and the method (no headers, no body).
http_request head_of(const http_request& req) {
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  return head;
}

http_response json_error(const http_request& req, http::status status, const char* body) {
  return make_response(req, status, body, "application/json");
}

/// A TLS node's handshake and certificate numbers; nothing on a plain node.
std::optional<tls_snapshot> tls_of(const node_context& c) {
  if (!c.api.tls)
    return std::nullopt;
  return c.tls_stats.read();
}

} // namespace

void http_session::serve_api(const http_request& req) {
  auto decision = route_api(req, ctx_->api);
  std::optional<std::string> caller;
  if (!decision.caller.empty())
    caller = std::move(decision.caller);
  if (!decision.call) {
    audit_api(req, decision.response.result_int(), caller, {});
    send(std::move(decision.response));
    return;
  }
  auto call = std::make_shared<const api_call>(std::move(*decision.call));
  // What the audit line needs of the request once the hub has answered.
  auto head = head_of(req);
  head.target(req.target());
  std::visit(
    [&](const auto& msg) {
      using reply_type = api_reply_t<std::decay_t<decltype(msg)>>;
      ask_actor<reply_type>(ctx_.share(), ctx_->hub, actor_timeout, msg,
                            stream_.get_executor(),
                            [self = shared_from_this(), head, call,
                             caller](caf::expected<reply_type> r) {
                              auto reply = r ? api_reply{std::in_place_type<reply_type>,
                                                         std::move(*r)}
                                             : api_reply{std::move(r.error())};
                              auto& ctx = *self->ctx_;
                              auto res = api_answer(head, *call, reply,
                                                    {static_cast<bool>(ctx.cluster),
                                                     ctx.cluster_tag});
                              self->audit_api(head, res.result_int(), caller,
                                              audit_target(*call));
                              self->send(std::move(res));
                            });
    },
    *call);
}

void http_session::audit_api(const http_request& req, unsigned status,
                             const std::optional<std::string>& caller,
                             std::string_view fields) {
  boost::beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  auto remote = ec ? std::string{"-"} : peer.address().to_string();
  log_api_call(*ctx_->log, {caller ? std::string_view{*caller} : std::string_view{}, remote,
                            req.method(), {req.target().data(), req.target().size()}, status,
                            fields});
}

void http_session::serve_stats(const http_request& req) {
  switch (scope_of(req.target())) {
    case stats_scope::invalid:
      send(json_error(req, http::status::bad_request,
                      R"({"error":"scope must be node or cluster"})" "\n"));
      return;
    case stats_scope::cluster:
      serve_cluster_stats(req);
      return;
    case stats_scope::node:
      break;
  }
  serve_numbers(req, [](const hub_stats& s, const rejection_counts& r, const node_context& c) {
    auto tls = tls_of(c);
    return std::make_pair(stats_json(s, r, tls ? &*tls : nullptr, c.redis.get()),
                          "application/json");
  });
}

// The cluster actor's answer first, then the node's numbers as for /stats.
void http_session::serve_cluster_stats(const http_request& req) {
  if (!ctx_->cluster) {
    send(json_error(req, http::status::bad_request,
                    R"({"error":"this node is not in a cluster"})" "\n"));
    return;
  }
  ask_actor<cluster_info>(
    ctx_.share(), ctx_->cluster, actor_timeout, query_cluster{}, stream_.get_executor(),
    [self = shared_from_this(), head = head_of(req),
     names = cluster_names_visible(req, ctx_->api)](caf::expected<cluster_info> info) {
      if (!info) {
        self->send(json_error(head, http::status::service_unavailable,
                              R"({"error":"cluster unavailable"})" "\n"));
        return;
      }
      self->serve_numbers(head, [info = std::move(*info), names](const hub_stats& s,
                                                                 const rejection_counts& r,
                                                                 const node_context&) {
        return std::make_pair(cluster_stats_json(s, r, info, names), "application/json");
      });
    });
}

void http_session::serve_metrics(const http_request& req) {
  if (!ctx_->cluster) {
    serve_numbers(req, [](const hub_stats& s, const rejection_counts& r, const node_context& c) {
      auto tls = tls_of(c);
      return std::make_pair(
        metrics_page(s, r, c.loops->metrics(), nullptr, true, tls ? &*tls : nullptr,
                     c.redis.get()),
        metrics_content_type);
    });
    return;
  }
  // A clustered node: the cluster actor's view of its peers first (no
  // fan-out: query_peers is a look at its state), then the node's numbers.
  // Without an answer the page has the node's families only.
  ask_actor<cluster_info>(
    ctx_.share(), ctx_->cluster, actor_timeout, query_peers{}, stream_.get_executor(),
    [self = shared_from_this(), head = head_of(req),
     names = cluster_names_visible(req, ctx_->api)](caf::expected<cluster_info> info) {
      auto peers = info ? std::make_shared<const cluster_info>(std::move(*info)) : nullptr;
      self->serve_numbers(head, [peers, names](const hub_stats& s, const rejection_counts& r,
                                               const node_context& c) {
        auto tls = tls_of(c);
        return std::make_pair(
          metrics_page(s, r, c.loops->metrics(), peers.get(), names, tls ? &*tls : nullptr,
                     c.redis.get()),
          metrics_content_type);
      });
    });
}

void http_session::serve_numbers(const http_request& req, render_fn render) {
  // First the node's rejection counters (from the admission's loop), then
  // the hub's statistics; the answer is rendered on this session's loop (a
  // stopping node's hub is gone, and a request to it fails at once).
  auto self = shared_from_this();
  ctx_->admission->read_rejections(
    stream_.get_executor(), [self, head = head_of(req),
                             render = std::move(render)](rejection_counts rejections) {
      auto& refused = self->ctx_->refused;
      rejections.origin_not_allowed = refused.origin_not_allowed.load(std::memory_order_relaxed);
      rejections.authentication_failed =
        refused.authentication_failed.load(std::memory_order_relaxed);
      rejections.authentication_unavailable =
        refused.authentication_unavailable.load(std::memory_order_relaxed);
      ask_actor<hub_stats>(self->ctx_.share(), self->ctx_->hub, actor_timeout, query_stats{},
                           self->stream_.get_executor(),
                           [self, head, render, rejections](caf::expected<hub_stats> stats) {
                             if (!stats) {
                               self->send(json_error(head, http::status::service_unavailable,
                                                     R"({"error":"hub unavailable"})" "\n"));
                               return;
                             }
                             auto [body, type] = render(*stats, rejections, *self->ctx_);
                             self->send(
                               make_response(head, http::status::ok, std::move(body), type));
                           });
    });
}

} // namespace switchboard::net
