#pragma once

// HTTP (or HTTPS: http_io.hpp) on the node's port: reads requests (under the handshake
// timeout), answers them as http_route decides, serves /stats and the
// server API (api_route.hpp) with the hub's answers, and hands a WebSocket
// upgrade on /ws, once the admission limits, the origin check and the
// authenticator let it in, to a ws_session.

#include "admission/admission.hpp"
#include "http/http_io.hpp"
#include "http/http_route.hpp"
#include "io/io_types.hpp"
#include "node/node_context.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard::net {

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(socket_type&& socket,
               std::shared_ptr<node_context> ctx);

  /// HTTPS with `tls`: the TLS handshake (under the handshake timeout) comes
  /// first, and an upgrade hands the TLS stream on to a tls_ws_session.
  http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
               std::shared_ptr<boost::asio::ssl::context> tls);

  void run();

private:
  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_header(boost::beast::error_code ec, std::size_t n);
  void on_read(boost::beast::error_code ec, std::size_t n);
  void serve_stats(const http_request& req);
  void serve_cluster_stats(const http_request& req);
  void serve_metrics(const http_request& req);
  /// The body and Content-Type of an answer made of the node's numbers.
  using render_fn = std::function<std::pair<std::string, const char*>(
    const hub_stats&, const rejection_counts&, const node_context&)>;
  /// Gathers the hub's statistics and the admission's rejections and
  /// answers with what `render` makes of them (503 without a hub).
  void serve_numbers(const http_request& req, render_fn render);
  void serve_api(const http_request& req);
  void ask_admission(http_request req);
  void on_admission(http_request req, admission_result result);
  void authenticate(http_request req, admission_ticket ticket);
  void on_verdict(http_request req, admission_ticket ticket, upgrade_verdict verdict);
  void upgrade(http_request req, admission_ticket ticket, std::string user,
               topic_filter allowed, caf::optional<caf::timestamp> expires = caf::none);
  /// A warning that an upgrade was refused (throttled: node_context::refusals).
  void log_refusal(unsigned status, std::string_view reason);
  void send(http_response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);
  void close();

  session_count ctx_;
  http_io stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>>
    parser_;
  http_response res_;
};

} // namespace switchboard::net
