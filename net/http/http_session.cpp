#include "http/http_session.hpp"

#include "http/api_answer.hpp"
#include "http/console_route.hpp"
#include "ws/deflate.hpp"
#include "observe/metrics_page.hpp"
#include "auth/origin.hpp"
#include "protocol.hpp"
#include "observe/cluster_stats.hpp"
#include "observe/stats_json.hpp"
#include "ws/ws_session.hpp"

#include <boost/beast/websocket.hpp>

#include <spdlog/logger.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <variant>

namespace switchboard::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t header_limit = 8 * 1024;

/// How long an API request waits for the hub.
constexpr auto api_timeout = std::chrono::seconds(5);

} // namespace

http_session::http_session(socket_type&& socket,
                           std::shared_ptr<node_context> ctx)
  : ctx_(std::move(ctx)), stream_(std::move(socket)) {
}

http_session::http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
                           std::shared_ptr<asio::ssl::context> tls)
  : ctx_(std::move(ctx)), stream_(std::move(socket), std::move(tls)) {
}

void http_session::run() {
  if (stream_.is_tls()) {
    // A client that never completes the handshake is dropped when the
    // handshake timeout passes, as one that never sends its request.
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_after(self->ctx_->handshake_timeout);
      self->stream_.async_handshake(
        beast::bind_front_handler(&http_session::on_handshake, self));
    });
    return;
  }
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::on_handshake(beast::error_code ec) {
  if (ec) {
    // Not TLS, a certificate we refuse, or too slow: nothing to answer.
    auto& log = *ctx_->log;
    if (log.should_log(spdlog::level::debug)) {
      beast::error_code ignored;
      auto peer = stream_.socket().remote_endpoint(ignored);
      log.debug("TLS handshake failed remote={} error={}",
                ignored ? std::string{"-"} : peer.address().to_string(), ec.message());
    }
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  do_read();
}

void http_session::do_read() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  // Beast checks a Content-Length against the limit as the header ends: the
  // largest one any request may get, until on_header knows this one's.
  parser_->body_limit(ctx_->api.key ? std::max(http_body_limit, ctx_->api.max_body)
                                    : http_body_limit);
  stream_.expires_after(ctx_->handshake_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&http_session::on_header,
                                                    shared_from_this()));
}

void http_session::on_header(beast::error_code ec, std::size_t n) {
  if (ec) {
    on_read(ec, n);
    return;
  }
  // The body limit is enforced before any of the body is read.
  auto limit = body_limit_for(parser_->get(), ctx_->api);
  auto length = parser_->content_length();
  if (length && *length > limit) {
    on_read(http::error::body_limit, n);
    return;
  }
  parser_->body_limit(limit);
  if (parser_->is_done()) {
    on_read({}, n);
    return;
  }
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read,
                                             shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout
      || ec == asio::error::connection_reset || ec == asio::error::eof) {
    close();
    return;
  }
  if (ec) {
    // A request we cannot parse: say so, then hang up.
    bool api = parser_->is_header_done() && is_api_target(parser_->get().target());
    send(api ? api_parse_error_response(ec) : parse_error_response(ec));
    return;
  }
  auto req = parser_->release();
  auto decision = route(req, ctx_->hub_alive);
  switch (decision.kind) {
    case route_kind::respond:
      send(std::move(decision.response));
      break;
    case route_kind::stats:
      serve_stats(req);
      break;
    case route_kind::metrics:
      serve_metrics(req);
      break;
    case route_kind::upgrade:
      ask_admission(std::move(req));
      break;
    case route_kind::api:
      serve_api(req);
      break;
    case route_kind::console:
      send(console_answer(req, ctx_->api.console.get(), peer_key(stream_.socket()), ctx_->api.tls));
      break;
  }
}

void http_session::serve_api(const http_request& req) {
  auto decision = route_api(req, ctx_->api);
  if (!decision.call) {
    send(std::move(decision.response));
    return;
  }
  // As /stats: a short-lived actor asks the hub, the answer comes back to
  // this session's loop. The actor keeps the session alive until then.
  auto self = shared_from_this();
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  auto call = std::make_shared<const api_call>(std::move(*decision.call));
  auto reply = [self, head, call](api_reply r) {
    asio::post(self->stream_.get_executor(), [self, head, call, r = std::move(r)] {
      self->send(api_answer(head, *call, r));
    });
  };
  ctx_->sys.spawn([hub = ctx_->hub, call, reply,
                   ref = held_by_actor{ctx_.share()}](caf::event_based_actor* a) {
    std::visit(
      [&](const auto& msg) {
        using reply_type = api_reply_t<std::decay_t<decltype(msg)>>;
        a->request(hub, api_timeout, msg)
          .then(
            [reply](reply_type& r) {
              reply(api_reply{std::in_place_type<reply_type>, std::move(r)});
            },
            [reply](caf::error& err) { reply(api_reply{std::move(err)}); });
      },
      *call);
  });
}

void http_session::serve_stats(const http_request& req) {
  switch (scope_of(req.target())) {
    case stats_scope::invalid:
      send(make_response(req, http::status::bad_request,
                         R"({"error":"scope must be node or cluster"})" "\n",
                         "application/json"));
      return;
    case stats_scope::cluster:
      serve_cluster_stats(req);
      return;
    case stats_scope::node:
      break;
  }
  serve_numbers(req, [](const hub_stats& s, const rejection_counts& r, const node_context&) {
    return std::make_pair(stats_json(s, r), "application/json");
  });
}

// The cluster actor's answer first, then the node's numbers as for /stats.
void http_session::serve_cluster_stats(const http_request& req) {
  auto self = shared_from_this();
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  ask_cluster(ctx_.share(), [self, head](std::optional<cluster_info> info) {
    asio::post(self->stream_.get_executor(), [self, head, info = std::move(info)] {
      if (!info) {
        auto why = self->ctx_->cluster ? R"({"error":"cluster unavailable"})" "\n"
                                       : R"({"error":"this node is not in a cluster"})" "\n";
        self->send(make_response(head, self->ctx_->cluster ? http::status::service_unavailable
                                                           : http::status::bad_request,
                                 why, "application/json"));
        return;
      }
      self->serve_numbers(head, [info](const hub_stats& s, const rejection_counts& r,
                                       const node_context&) {
        return std::make_pair(cluster_stats_json(s, r, *info), "application/json");
      });
    });
  });
}

void http_session::serve_metrics(const http_request& req) {
  serve_numbers(req, [](const hub_stats& s, const rejection_counts& r, const node_context& c) {
    return std::make_pair(metrics_page(s, r, c.loops->metrics()), metrics_content_type);
  });
}

void http_session::serve_numbers(const http_request& req, render_fn render) {
  // First the node's rejection counters (from the admission strand), then
  // the hub's statistics through a short-lived actor; the answer comes back
  // to this session's strand and is rendered there. The actor keeps the
  // session alive until the hub answered (a stopping node's hub is gone,
  // and a request to it fails at once).
  auto self = shared_from_this();
  http_request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  head.method(req.method());
  auto reply = [self, head, render](std::optional<hub_stats> stats,
                                    rejection_counts rejections) {
    asio::post(self->stream_.get_executor(), [=]() mutable {
      if (!stats) {
        self->send(make_response(head, http::status::service_unavailable,
                                 R"({"error":"hub unavailable"})" "\n", "application/json"));
        return;
      }
      auto [body, type] = render(*stats, rejections, *self->ctx_);
      self->send(make_response(head, http::status::ok, std::move(body), type));
    });
  };
  ctx_->admission->read_rejections(
    stream_.get_executor(), [self, reply](rejection_counts rejections) {
      auto& refused = self->ctx_->refused;
      rejections.origin_not_allowed = refused.origin_not_allowed.load(std::memory_order_relaxed);
      rejections.authentication_failed =
        refused.authentication_failed.load(std::memory_order_relaxed);
      rejections.authentication_unavailable =
        refused.authentication_unavailable.load(std::memory_order_relaxed);
      self->ctx_->sys.spawn([hub = self->ctx_->hub, reply, rejections,
                             ref = held_by_actor{self->ctx_.share()}](
                              caf::event_based_actor* a) {
        a->request(hub, std::chrono::seconds(5), query_stats{})
          .then([reply, rejections](const hub_stats& s) { reply(s, rejections); },
                [reply, rejections](const caf::error&) { reply(std::nullopt, rejections); });
      });
    });
}

void http_session::ask_admission(http_request req) {
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (ec) {
    close(); // the client is gone already
    return;
  }
  ctx_->admission->ask(peer.address(), stream_.get_executor(),
                       [self = shared_from_this(),
                        req = std::move(req)](admission_result result) mutable {
                         self->on_admission(std::move(req), std::move(result));
                       });
}

void http_session::on_admission(http_request req, admission_result result) {
  if (!result.ticket) {
    auto res = rejection_response(req, result.decision);
    log_refusal(res.result_int(), to_string(result.decision.verdict));
    send(std::move(res));
    return;
  }
  // The console's inspector is let in by its login (docs/console.md).
  auto console = ctx_->api.console && console_upgrade(req, *ctx_->api.console, ctx_->api.tls);
  // Before the authenticator: another site's page gets no further, whatever
  // credentials its visitor's browser sends along.
  if (!console && !origin_allowed(ctx_->allowed_origins, req)) {
    ctx_->refused.origin_not_allowed.fetch_add(1, std::memory_order_relaxed);
    auto res = refusal_response(req, 403, "origin not allowed");
    log_refusal(res.result_int(), "origin not allowed");
    send(std::move(res));
    return;
  }
  if (ctx_->authenticator && !console)
    authenticate(std::move(req), std::move(result.ticket));
  else
    upgrade(std::move(req), std::move(result.ticket), {}, {});
}

void http_session::authenticate(http_request req, admission_ticket ticket) {
  // The authenticator is an actor: ask it through a short-lived one, and
  // take the verdict back onto this session's strand.
  upgrade_request question;
  question.target = std::string{req.target()};
  for (auto& field : req)
    question.headers.emplace_back(std::string{field.name_string()},
                                  std::string{field.value()});
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec)
    question.remote_address = peer.address().to_string();
  auto self = shared_from_this();
  auto held = std::make_shared<std::pair<http_request, admission_ticket>>(std::move(req),
                                                                         std::move(ticket));
  // `answered`: false when the authenticator did not answer in time.
  auto answer = [self, held](upgrade_verdict verdict, bool answered) {
    auto& refused = self->ctx_->refused;
    if (!answered)
      refused.authentication_unavailable.fetch_add(1, std::memory_order_relaxed);
    else if (!verdict.allow)
      refused.authentication_failed.fetch_add(1, std::memory_order_relaxed);
    asio::post(self->stream_.get_executor(), [self, held, verdict = std::move(verdict)] {
      self->on_verdict(std::move(held->first), std::move(held->second), verdict);
    });
  };
  ctx_->sys.spawn([auth = ctx_->authenticator, timeout = ctx_->authenticate_timeout,
                   question = std::move(question), answer,
                   ref = held_by_actor{ctx_.share()}](caf::event_based_actor* a) {
    a->request(auth, timeout, question)
      .then([answer](upgrade_verdict& v) { answer(std::move(v), true); },
            [answer](caf::error&) {
              upgrade_verdict unavailable;
              unavailable.status = 503;
              unavailable.reason = "authentication unavailable";
              answer(std::move(unavailable), false);
            });
  });
}

void http_session::on_verdict(http_request req, admission_ticket ticket,
                              upgrade_verdict verdict) {
  if (!verdict.allow) {
    auto res = refusal_response(req, verdict.status, verdict.reason);
    log_refusal(res.result_int(), verdict.reason);
    send(std::move(res));
    return;
  }
  upgrade(std::move(req), std::move(ticket), std::move(verdict.user),
          topic_filter::of(verdict.topics));
}

void http_session::upgrade(http_request req, admission_ticket ticket, std::string user,
                           topic_filter allowed) {
  // Beast answers the upgrade (and refuses a bad one: 400, 426); the
  // connection then goes on without Beast's stream, whose fixed buffers
  // would cost every idle connection more than the rest of it together.
  using handshake_stream = beast::websocket::stream<http_io, false>;
  auto ws = std::make_shared<handshake_stream>(std::move(stream_));
  ws->set_option(beast::websocket::stream_base::timeout{
    ctx_->handshake_timeout, beast::websocket::stream_base::none(), false});
  // permessage-deflate is ours, not Beast's (net/ws/deflate.hpp).
  auto deflate = ctx_->compression ? negotiate_deflate(req) : std::nullopt;
  ws->set_option(
    beast::websocket::stream_base::decorator([deflate](beast::websocket::response_type& res) {
      res.set(http::field::server, "switchboard");
      if (deflate)
        res.set(http::field::sec_websocket_extensions, *deflate);
    }));
  beast::get_lowest_layer(*ws).expires_never();
  // Bytes the client sent right behind its request belong to the WebSocket.
  auto pending = beast::buffers_to_string(buffer_.data());
  ws->async_accept(req, [ctx = ctx_.share(), ws, ticket = std::move(ticket),
                         user = std::move(user), allowed = std::move(allowed),
                         pending = std::move(pending),
                         deflating = deflate.has_value()](beast::error_code ec) mutable {
    if (ec)
      return; // Beast answered the bad upgrade; dropping the stream closes it
    auto& io = ws->next_layer();
    if (io.is_tls()) {
      auto session = std::make_shared<tls_ws_session>(tls_stream{io.release_tls()},
                                                      std::move(ctx), std::move(ticket));
      if (deflating)
        session->use_deflate();
      session->start(std::move(pending), std::move(user), std::move(allowed));
      return;
    }
    auto session = std::make_shared<ws_session>(io.release_socket(), std::move(ctx),
                                                std::move(ticket));
    if (deflating)
      session->use_deflate();
    session->start(std::move(pending), std::move(user), std::move(allowed));
  });
}

void http_session::log_refusal(unsigned status, std::string_view reason) {
  auto& log = *ctx_->log;
  std::uint64_t held_back = 0;
  if (!log.should_log(spdlog::level::warn)
      || !ctx_->refusals.allow(log_throttle::clock::now(), held_back))
    return;
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  auto remote = ec ? std::string{"-"} : peer.address().to_string();
  if (held_back > 0)
    log.warn("upgrade refused status={} remote={} reason={} (and {} more refusals not "
             "logged)",
             status, remote, protocol::quote(reason), held_back);
  else
    log.warn("upgrade refused status={} remote={} reason={}", status, remote,
             protocol::quote(reason));
}

void http_session::send(http_response res) {
  if (res.body().size() > 0 || !res.has_content_length())
    res.prepare_payload();
  res_ = std::move(res);
  http::async_write(stream_, res_,
                    beast::bind_front_handler(&http_session::on_write,
                                              shared_from_this(), res_.need_eof()));
}

void http_session::on_write(bool close_after, beast::error_code ec, std::size_t) {
  if (ec || close_after) {
    close();
    return;
  }
  do_read();
}

void http_session::close() {
  if (stream_.is_tls()) {
    // Our close_notify, for at most close-timeout; then the socket goes.
    stream_.expires_after(ctx_->close_timeout);
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
    return;
  }
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

} // namespace switchboard::net
