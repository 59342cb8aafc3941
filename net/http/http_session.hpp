#pragma once

// HTTP (or HTTPS: http_io.hpp) on the node's port, from the accepted TCP
// connection until it closes or becomes a WebSocket:
//   http_session.cpp          reads requests (under the handshake timeout),
//                             routes them (http_route.hpp), writes answers;
//   http_session_queries.cpp  /stats, /stats?scope=cluster, /metrics and the
//                             server API (api_route.hpp): answers an actor
//                             gives, asked through actor_bridge.hpp;
//   http_session_upgrade.cpp  a WebSocket upgrade on /ws: the admission
//                             limits, the origin check, the authenticator,
//                             then the hand-off to a ws_session.
// The connection counts as pending (admission.hpp) for as long as the
// session lives.

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
  /// Plain HTTP on `socket`, counted as pending under `pending` (a ticket of
  /// admission::open_pending) until the session ends.
  http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
               admission_ticket pending);

  /// HTTPS with `tls`: the TLS handshake (under the handshake timeout) comes
  /// first, and an upgrade hands the TLS stream on to a tls_ws_session.
  http_session(socket_type&& socket, std::shared_ptr<node_context> ctx,
               admission_ticket pending, std::shared_ptr<boost::asio::ssl::context> tls);

  void run();

private:
  // -- the connection (http_session.cpp) ----------------------------------------------
  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_header(boost::beast::error_code ec, std::size_t n);
  void on_read(boost::beast::error_code ec, std::size_t n);
  /// Writes `res` under a deadline of its own (the handshake timeout from
  /// now: an answer that took long to come still gets its full time).
  void send(http_response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);
  void close();

  // -- answers an actor gives (http_session_queries.cpp) ------------------------------
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
  /// The audit line of an API request (api_audit.hpp).
  void audit_api(const http_request& req, unsigned status,
                 const std::optional<std::string>& caller, std::string_view fields);

  // -- the WebSocket upgrade (http_session_upgrade.cpp) -------------------------------
  void ask_admission(http_request req);
  void on_admission(http_request req, admission_result result);
  void authenticate(http_request req, admission_ticket ticket);
  void on_verdict(http_request req, admission_ticket ticket,
                  caf::expected<upgrade_verdict> verdict);
  void upgrade(http_request req, admission_ticket ticket, std::string user,
               topic_filter allowed, caf::optional<caf::timestamp> expires = caf::none);
  /// Answers 503 if the node is stopping (no upgrade starts then); false
  /// otherwise.
  bool refused_while_stopping(const http_request& req);
  /// Answers an upgrade with a refusal and logs it (throttled).
  void refuse(http_response res, std::string_view reason);

  session_count ctx_;
  http_io stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>>
    parser_;
  http_response res_;
  admission_ticket pending_; ///< the connection's pending slot, until the session ends
};

} // namespace switchboard::net
