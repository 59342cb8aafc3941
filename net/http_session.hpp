#pragma once

// Plain HTTP on the node's port: reads requests (under the handshake
// timeout), answers /healthz and /stats, and hands WebSocket upgrades on
// /ws to a ws_session. Everything else gets a proper error status.

#include "node_context.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>

namespace switchboard::net {

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(boost::asio::ip::tcp::socket&& socket,
               std::shared_ptr<node_context> ctx);

  void run();

private:
  using request = boost::beast::http::request<boost::beast::http::string_body>;
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void route(request req);
  void serve_stats(const request& req);
  void respond(const request& req, boost::beast::http::status status,
               std::string body, const char* content_type = "text/plain");
  void send(response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);
  void close();

  session_count ctx_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>>
    parser_;
  response res_;
};

} // namespace switchboard::net
