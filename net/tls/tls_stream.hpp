#pragma once

// The bytes of a TLS WebSocket connection, with the few socket calls
// ws_session makes, so that one ws_session (the codec, outbox, credit and
// close logic) serves plain and TLS connections alike.
//
// It reads as the plain connection does: it waits for the socket to become
// readable, then read_some decrypts into the caller's buffer (the loop's),
// OpenSSL reading the socket itself through the engine's BIO. A write
// encrypts the gathered frames together (records of up to 16 KiB, through
// one staging buffer per thread) and sends the ciphertext with one call, so
// corking still means few records and few syscalls; it completes once the
// socket took all of it, which keeps the writer's bounds true. An idle
// connection holds the SSL object and at most a small output buffer
// (tls_engine.hpp).
// Loop only (the connection's).

#include "io/io_types.hpp"
#include "tls/tls_channel.hpp"
#include "tls/tls_engine.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>

namespace switchboard::net {

class tls_stream {
public:
  using executor_type = loop_executor;

  /// `channel` has completed its TLS handshake (and the upgrade).
  explicit tls_stream(std::unique_ptr<tls_channel> channel);

  executor_type get_executor() noexcept {
    return socket_.get_executor();
  }

  boost::asio::ip::tcp::endpoint remote_endpoint(boost::system::error_code& ec) const {
    return socket_.remote_endpoint(ec);
  }

  /// Who keeps this stream alive while a write of its own (a close_notify,
  /// an answer OpenSSL gave while reading) waits for the socket.
  void set_owner(std::weak_ptr<void> owner) {
    owner_ = std::move(owner);
  }

  /// The socket is non-blocking from the start.
  void non_blocking(bool, boost::system::error_code&) noexcept {
  }

  /// Calls `handler` once read_some may have something to give (bytes, or
  /// the error that ended reading), or with operation_aborted after close().
  void async_wait(boost::asio::socket_base::wait_type,
                  std::function<void(boost::system::error_code)> handler);

  /// Decrypted bytes, then the error that ended reading (a peer that closed,
  /// with or without its close_notify: eof), else would_block.
  std::size_t read_some(boost::asio::mutable_buffer buf, boost::system::error_code& ec);

  /// Encrypts all of `buffers` and completes once the socket took the
  /// ciphertext: one write at a time.
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    std::size_t total = 0;
    boost::system::error_code ec = write_error_;
    if (!ec) {
      for (auto i = boost::asio::buffer_sequence_begin(buffers);
           i != boost::asio::buffer_sequence_end(buffers) && !ec; ++i) {
        boost::asio::const_buffer b = *i;
        stage(b.data(), b.size(), ec);
        total += b.size();
      }
      if (!ec)
        seal(ec);
    }
    start_write(ec, total, std::forward<Handler>(handler));
  }

  /// shutdown_send (called when no write is in flight): our close_notify,
  /// then the TCP FIN once it is sent. Anything else goes to the socket.
  void shutdown(boost::asio::socket_base::shutdown_type what, boost::system::error_code& ec);

  /// Closes the socket: every pending operation ends (operation_aborted).
  void close(boost::system::error_code& ec);

private:
  using write_handler = std::function<void(boost::system::error_code, std::size_t)>;

  /// Plaintext into the thread's staging buffer, encrypted a record's worth
  /// at a time; seal() encrypts the rest.
  void stage(const void* data, std::size_t size, boost::system::error_code& ec);
  void seal(boost::system::error_code& ec);
  void start_write(boost::system::error_code ec, std::size_t total, write_handler handler);
  /// Sends the engine's output until it is gone or the socket is full (then
  /// waits for it); completes the write, and the shutdown, when all is out.
  void pump(bool initiating);
  void fail_write(boost::system::error_code ec, bool initiating);
  /// Completes the write in flight, if any, with `ec` and `n` bytes: posted
  /// when `initiating` (called from within async_write_some), else at once.
  void complete(boost::system::error_code ec, std::size_t n, bool initiating);

  std::shared_ptr<boost::asio::ssl::context> ctx_; ///< the SSL_CTX's Asio callbacks
  std::unique_ptr<tls_engine> engine_;
  socket_type socket_;
  std::weak_ptr<void> owner_;
  write_handler handler_;      ///< the write in flight, until its ciphertext is out
  std::size_t handler_size_ = 0;
  boost::system::error_code read_error_;
  boost::system::error_code write_error_;
  bool write_waiting_ = false; ///< waiting for the socket to take more
  bool fin_wanted_ = false;    ///< the TCP FIN goes once the output is out
  bool shutdown_sent_ = false;
};

} // namespace switchboard::net
