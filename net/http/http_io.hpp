#pragma once

// The stream an http_session reads requests from and writes answers to:
// the plain TCP stream, or TLS over it. Beast's HTTP and WebSocket
// handshake code runs over either; each read or write picks its stream with
// one branch (the HTTP side is not where the bytes of a busy node go: those
// are the ws_session's, which has a type per stream).

#include "io/io_types.hpp"
#include "tls/tls_channel.hpp"

#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

namespace switchboard::net {

class http_io {
public:
  using executor_type = loop_executor;

  /// Plain HTTP.
  explicit http_io(socket_type&& socket) : plain_(std::in_place, std::move(socket)) {
  }

  /// HTTPS: handshake() first.
  http_io(socket_type&& socket, std::shared_ptr<boost::asio::ssl::context> ctx)
    : tls_(std::make_unique<tls_channel>(std::move(socket), std::move(ctx))) {
  }

  bool is_tls() const noexcept {
    return tls_ != nullptr;
  }

  /// The TCP stream under it (Beast's timeouts).
  http_stream& tcp() noexcept {
    return tls_ ? tls_->tcp() : *plain_;
  }

  executor_type get_executor() noexcept {
    return tcp().get_executor();
  }

  socket_type& socket() noexcept {
    return tcp().socket();
  }

  void expires_after(std::chrono::steady_clock::duration d) {
    tcp().expires_after(d);
  }

  void expires_never() {
    tcp().expires_never();
  }

  /// The server's side of the TLS handshake (TLS only).
  template <class Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(std::forward<Handler>(handler));
  }

  /// Our close_notify (TLS only); the peer's is not waited for.
  template <class Handler>
  void async_shutdown(Handler&& handler) {
    tls_->async_shutdown(std::forward<Handler>(handler));
  }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }

  /// After an upgrade: the plain connection's socket.
  socket_type release_socket() {
    return plain_->release_socket();
  }

  /// After an upgrade: the TLS connection's channel.
  std::unique_ptr<tls_channel> release_tls() noexcept {
    return std::move(tls_);
  }

private:
  std::optional<http_stream> plain_;
  std::unique_ptr<tls_channel> tls_;
};

// What Beast's WebSocket stream needs of its next layer when a handshake
// fails or times out.

inline void beast_close_socket(http_io& io) {
  boost::system::error_code ignored;
  io.socket().close(ignored);
}

inline void teardown(boost::beast::role_type role, http_io& io,
                     boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  if (io.is_tls()) {
    // The TLS teardown would block on the peer: only the socket goes.
    io.socket().close(ec);
  } else {
    teardown(role, io.socket(), ec);
  }
}

template <class Handler>
void async_teardown(boost::beast::role_type role, http_io& io, Handler&& handler) {
  using boost::beast::websocket::async_teardown;
  if (io.is_tls())
    io.async_shutdown(std::forward<Handler>(handler));
  else
    async_teardown(role, io.socket(), std::forward<Handler>(handler));
}

} // namespace switchboard::net
