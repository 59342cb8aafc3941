#pragma once

// One TLS connection's stream: the TCP stream (with Beast's timeouts, for
// the handshake and the HTTP side) and the OpenSSL stream over it. It lives
// on the heap and travels by pointer, from the http_session that shakes
// hands to the ws_session after an upgrade: the SSL stream refers to the TCP
// stream, so neither may move.

#include "io/io_types.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <utility>

namespace switchboard::net {

struct tls_channel {
  tls_channel(socket_type&& socket, std::shared_ptr<boost::asio::ssl::context> context)
    : ctx(std::move(context)), tcp(std::move(socket)), ssl(tcp, *ctx) {
  }
  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  /// The context the connection was accepted with: a reload (node::reload_tls)
  /// swaps the node's, never this one.
  std::shared_ptr<boost::asio::ssl::context> ctx;
  http_stream tcp;
  boost::beast::ssl_stream<http_stream&> ssl;
};

} // namespace switchboard::net
