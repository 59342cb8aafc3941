#pragma once

// The bytes of a TLS WebSocket connection, with the few socket calls
// ws_session makes, so that one ws_session (the codec, outbox, credit and
// close logic) serves plain and TLS connections alike.
//
// The plain connection waits for readiness and reads without blocking into
// its loop's buffer. That does not carry over to TLS (OpenSSL may hold
// decrypted bytes the socket no longer shows), so here a "wait for
// readable" is an asynchronous TLS read into this connection's own buffer,
// and read_some hands out what it read. A write encrypts the gathered
// frames together (Beast's ssl_stream coalesces them), so corking still
// means few records and few syscalls. Loop only (the connection's).

#include "io/io_types.hpp"
#include "tls/tls_channel.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace switchboard::net {

class tls_stream {
public:
  using executor_type = loop_executor;

  /// `channel` has completed its TLS handshake (and the upgrade).
  explicit tls_stream(std::unique_ptr<tls_channel> channel);

  executor_type get_executor() noexcept {
    return channel_->tcp.get_executor();
  }

  boost::asio::ip::tcp::endpoint remote_endpoint(boost::system::error_code& ec) const {
    return channel_->tcp.socket().remote_endpoint(ec);
  }

  /// Who keeps this stream alive while a TLS shutdown runs (the session).
  void set_owner(std::weak_ptr<void> owner) {
    owner_ = std::move(owner);
  }

  /// The TLS reads and writes are asynchronous anyway.
  void non_blocking(bool, boost::system::error_code&) noexcept {
  }

  /// Calls `handler` once read_some has something to give (bytes, or the
  /// error that ended reading), or with operation_aborted after close().
  void async_wait(boost::asio::socket_base::wait_type,
                  std::function<void(boost::system::error_code)> handler);

  /// Decrypted bytes that arrived, then the error that ended reading (a peer
  /// that closed, with or without its close_notify: eof), else would_block.
  std::size_t read_some(boost::asio::mutable_buffer buf, boost::system::error_code& ec);

  /// The only way bytes go out: one asynchronous TLS write at a time, beside
  /// the one read (no synchronous write ever uses the engine while its read
  /// is pending).
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    channel_->ssl.async_write_some(buffers, std::forward<Handler>(handler));
  }

  /// shutdown_send (called when no write is in flight): our close_notify
  /// (a read in flight is cancelled first), then the TCP FIN; a read wait
  /// meanwhile ends when that is done. Anything else goes to the socket.
  void shutdown(boost::asio::socket_base::shutdown_type what, boost::system::error_code& ec);

  /// Closes the socket: every pending operation ends (operation_aborted).
  void close(boost::system::error_code& ec);

private:
  void start_shutdown();

  /// A TLS record's payload at most: one read decrypts at most this much.
  static constexpr std::size_t read_size = 16 * 1024;

  std::unique_ptr<tls_channel> channel_;
  std::weak_ptr<void> owner_;
  std::vector<char> buf_; ///< allocated by the first read
  std::size_t head_ = 0;
  std::size_t filled_ = 0;
  boost::system::error_code read_error_;
  /// A read wait that arrived while the TLS shutdown runs.
  std::function<void(boost::system::error_code)> parked_;
  bool reading_ = false;
  bool shutdown_wanted_ = false;
  bool shutdown_started_ = false;
  bool shutting_down_ = false;
  bool closed_ = false;
};

} // namespace switchboard::net
