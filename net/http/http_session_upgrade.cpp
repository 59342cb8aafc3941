// http_session: a WebSocket upgrade on /ws. The admission limits first (a
// ticket for the connection's slot), then the origin check, then the
// authenticator (asked through actor_bridge.hpp); Beast answers the
// handshake, and the bare socket goes on as a ws_session. A stopping node
// refuses every upgrade with 503, also one whose authenticator answered
// after the stop began.

#include "http/http_session.hpp"

#include "auth/console_auth.hpp"
#include "auth/origin.hpp"
#include "http/actor_bridge.hpp"
#include "ws/deflate.hpp"
#include "ws/ws_session.hpp"

#include <boost/beast/websocket.hpp>

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// Retry-After for an upgrade refused by a stopping node: long enough for a
/// restart or for a load balancer to move the client elsewhere.
constexpr int stopping_retry_after = 5;

std::string remote_of(socket_type& socket) {
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  return ec ? std::string{"-"} : peer.address().to_string();
}

} // namespace

bool http_session::refused_while_stopping(const http_request& req) {
  if (!ctx_->stopping.load(std::memory_order_relaxed))
    return false;
  // With reuse_port the listener closed when the stop began: this
  // connection was accepted before, and its client must not be refused in
  // the handover. It is welcomed, and closed with the stop's code by the
  // end of the drain period (the next process takes it then).
  if (ctx_->reuse_port)
    return false;
  auto res = refusal_response(req, 503, "server shutting down");
  res.set(http::field::retry_after, std::to_string(stopping_retry_after));
  refuse(std::move(res), "server shutting down");
  return true;
}

void http_session::refuse(http_response res, std::string_view reason) {
  log_refusal(*ctx_, "upgrade refused", res.result_int(), remote_of(stream_.socket()), reason);
  send(std::move(res));
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
    refuse(rejection_response(req, result.decision), to_string(result.decision.verdict));
    return;
  }
  // The console's inspector is let in by its login (docs/console.md).
  auto console = ctx_->api.console && console_upgrade(req, *ctx_->api.console, ctx_->api.tls);
  // Before the authenticator: another site's page gets no further, whatever
  // credentials its visitor's browser sends along.
  if (!console && !origin_allowed(*std::atomic_load(&ctx_->allowed_origins), req)) {
    ctx_->refused.origin_not_allowed.fetch_add(1, std::memory_order_relaxed);
    refuse(refusal_response(req, 403, "origin not allowed"), "origin not allowed");
    return;
  }
  if (refused_while_stopping(req))
    return;
  if (ctx_->authenticator && !console)
    authenticate(std::move(req), std::move(result.ticket));
  else
    upgrade(std::move(req), std::move(result.ticket), {}, {});
}

void http_session::authenticate(http_request req, admission_ticket ticket) {
  upgrade_request question;
  question.target = std::string{req.target()};
  for (auto& field : req)
    question.headers.emplace_back(std::string{field.name_string()},
                                  std::string{field.value()});
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec)
    question.remote_address = peer.address().to_string();
  // The request and the ticket wait with the session, in the reply slot.
  auto held = std::make_shared<std::pair<http_request, admission_ticket>>(std::move(req),
                                                                         std::move(ticket));
  ask_actor<upgrade_verdict>(ctx_.share(), ctx_->authenticator, ctx_->authenticate_timeout,
                             std::move(question), stream_.get_executor(),
                             [self = shared_from_this(),
                              held](caf::expected<upgrade_verdict> verdict) {
                               self->on_verdict(std::move(held->first),
                                                std::move(held->second), std::move(verdict));
                             });
}

void http_session::on_verdict(http_request req, admission_ticket ticket,
                              caf::expected<upgrade_verdict> verdict) {
  // The authenticator may answer after the stop began (or not at all,
  // because it did).
  if (refused_while_stopping(req))
    return;
  auto& refused = ctx_->refused;
  if (!verdict) {
    refused.authentication_unavailable.fetch_add(1, std::memory_order_relaxed);
    refuse(refusal_response(req, 503, "authentication unavailable"),
           "authentication unavailable");
    return;
  }
  if (!verdict->allow) {
    refused.authentication_failed.fetch_add(1, std::memory_order_relaxed);
    refuse(refusal_response(req, verdict->status, verdict->reason), verdict->reason);
    return;
  }
  upgrade(std::move(req), std::move(ticket), std::move(verdict->user),
          topic_filter::of(verdict->topics), verdict->expires);
}

void http_session::upgrade(http_request req, admission_ticket ticket, std::string user,
                           topic_filter allowed, caf::optional<caf::timestamp> expires) {
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
                         user = std::move(user), allowed = std::move(allowed), expires,
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
      session->start(std::move(pending), std::move(user), std::move(allowed), expires);
      return;
    }
    auto session = std::make_shared<ws_session>(io.release_socket(), std::move(ctx),
                                                std::move(ticket));
    if (deflating)
      session->use_deflate();
    session->start(std::move(pending), std::move(user), std::move(allowed), expires);
  });
}

} // namespace switchboard::net
