#include "http_session.hpp"

#include "ws_session.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

namespace switchboard::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 8 * 1024;

std::string stats_json(const hub_stats& s) {
  boost::json::object disconnects;
  for (auto reason : {exit_code::socket_closed, exit_code::socket_error,
                      exit_code::heartbeat_timeout, exit_code::slow_consumer,
                      exit_code::protocol_error, exit_code::shutdown})
    disconnects[to_string(reason)] = 0;
  for (auto& [reason, n] : s.disconnects)
    disconnects[reason] = n;
  boost::json::object obj;
  obj["connections"] = s.connections;
  obj["topics"] = s.topics;
  obj["messages_in"] = s.messages_in;
  obj["messages_out"] = s.messages_out;
  obj["disconnects"] = std::move(disconnects);
  return boost::json::serialize(obj) + "\n";
}

beast::string_view path_of(beast::string_view target) {
  return target.substr(0, target.find('?'));
}

} // namespace

http_session::http_session(asio::ip::tcp::socket&& socket,
                           std::shared_ptr<node_context> ctx)
  : ctx_(std::move(ctx)), stream_(std::move(socket)) {
}

void http_session::run() {
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::do_read() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(body_limit);
  stream_.expires_after(ctx_->handshake_timeout);
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
    request req;
    auto status = ec == http::error::header_limit ? http::status::request_header_fields_too_large
                  : ec == http::error::body_limit ? http::status::payload_too_large
                                                  : http::status::bad_request;
    req.keep_alive(false);
    respond(req, status, std::string{http::obsolete_reason(status)} + "\n");
    return;
  }
  route(parser_->release());
}

void http_session::route(request req) {
  auto path = path_of(req.target());
  if (path == "/ws") {
    if (beast::websocket::is_upgrade(req)) {
      std::make_shared<ws_session>(std::move(stream_), ctx_.share())
        ->run(std::move(req));
      return;
    }
    auto res = response{http::status::upgrade_required, req.version()};
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.body() = "WebSocket upgrade required\n";
    send(std::move(res));
    return;
  }
  if (path != "/healthz" && path != "/stats") {
    respond(req, http::status::not_found, "not found\n");
    return;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    respond(req, http::status::method_not_allowed, "method not allowed\n");
    return;
  }
  if (path == "/healthz")
    respond(req, http::status::ok, "ok\n");
  else
    serve_stats(req);
}

void http_session::serve_stats(const request& req) {
  // Ask the hub through a short-lived actor; the answer comes back to this
  // session's strand.
  // The actor keeps the session alive until the hub answered (a stopping
  // node's hub is gone, and a request to it fails at once).
  auto self = shared_from_this();
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  auto head = req.method() == http::verb::head;
  auto reply = [self, version, keep_alive, head](http::status status, std::string body) {
    asio::post(self->stream_.get_executor(), [=]() mutable {
      request r;
      r.version(version);
      r.keep_alive(keep_alive);
      r.method(head ? http::verb::head : http::verb::get);
      self->respond(r, status, std::move(body), "application/json");
    });
  };
  ctx_->sys.spawn([hub = ctx_->hub, reply](caf::event_based_actor* a) {
    a->request(hub, std::chrono::seconds(5), stats_atom::value)
      .then([reply](const hub_stats& s) { reply(http::status::ok, stats_json(s)); },
            [reply](const caf::error&) {
              reply(http::status::service_unavailable,
                    R"({"error":"hub unavailable"})" "\n");
            });
  });
}

void http_session::respond(const request& req, http::status status, std::string body,
                           const char* content_type) {
  response res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, content_type);
  if (status == http::status::method_not_allowed)
    res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(req.keep_alive());
  res.content_length(body.size());
  if (req.method() != http::verb::head)
    res.body() = std::move(body);
  send(std::move(res));
}

void http_session::send(response res) {
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
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

} // namespace switchboard::net
