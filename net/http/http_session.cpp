#include "http/http_session.hpp"

#include "http/api_answer.hpp"
#include "auth/console_auth.hpp"
#include "http/console_route.hpp"
#include "http/metrics_guard.hpp"

#include <spdlog/logger.h>

#include <boost/asio/dispatch.hpp>

#include <algorithm>

namespace switchboard::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t header_limit = 8 * 1024;

} // namespace

http_session::http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
                           admission_ticket pending)
  : ctx_(std::move(ctx)), stream_(std::move(socket)), pending_(std::move(pending)) {
}

http_session::http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
                           admission_ticket pending, std::shared_ptr<asio::ssl::context> tls)
  : ctx_(std::move(ctx)), stream_(std::move(socket), std::move(tls)),
    pending_(std::move(pending)) {
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
    ctx_->tls_stats.handshake_failed(ec);
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
  ctx_->tls_stats.handshake_done();
  do_read();
}

void http_session::do_read() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  // Beast checks a Content-Length against the limit as the header ends: the
  // largest one any request may get, until on_header knows this one's.
  parser_->body_limit(ctx_->api.keys()->empty() ? http_body_limit
                                                 : std::max(http_body_limit, ctx_->api.max_body));
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
    if (!api) {
      send(parse_error_response(ec));
      return;
    }
    auto res = api_parse_error_response(ec);
    audit_api(parser_->get(), res.result_int(), api_caller(parser_->get(), ctx_->api), {});
    send(std::move(res));
    return;
  }
  auto req = parser_->release();
  auto decision = route(req, ctx_->hub_alive, ctx_->stopping);
  switch (decision.kind) {
    case route_kind::respond:
      send(std::move(decision.response));
      break;
    case route_kind::stats:
    case route_kind::metrics:
      if (auto refusal = ctx_->numbers_guard->check(
            req, peer_key(stream_.socket()), std::chrono::steady_clock::now(),
            ctx_->api.console && console_request(req, *ctx_->api.console, ctx_->api.tls)))
        send(std::move(*refusal));
      else if (decision.kind == route_kind::stats)
        serve_stats(req);
      else
        serve_metrics(req);
      break;
    case route_kind::upgrade:
      if (!refused_while_stopping(req))
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

void http_session::send(http_response res) {
  if (res.body().size() > 0 || !res.has_content_length())
    res.prepare_payload();
  // A stopping node serves no further request on this connection.
  if (ctx_->stopping.load(std::memory_order_relaxed))
    res.keep_alive(false);
  res_ = std::move(res);
  // The request's deadline ran while an actor worked on the answer: the
  // answer gets one of its own.
  stream_.expires_after(ctx_->handshake_timeout);
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
