#include "tls/tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>

#include <algorithm>
#include <cstring>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

tls_stream::tls_stream(std::unique_ptr<tls_channel> channel) : channel_(std::move(channel)) {
}

void tls_stream::async_wait(asio::socket_base::wait_type,
                            std::function<void(error_code)> handler) {
  if (shutting_down_) {
    parked_ = std::move(handler);
    return;
  }
  if (head_ < filled_ || read_error_) {
    asio::post(get_executor(), [h = std::move(handler)] { h({}); });
    return;
  }
  if (buf_.empty())
    buf_.resize(read_size);
  reading_ = true;
  // The handler holds the session, and with it this stream.
  channel_->ssl.async_read_some(
    asio::buffer(buf_), [this, h = std::move(handler)](error_code ec, std::size_t n) mutable {
      reading_ = false;
      head_ = 0;
      filled_ = n;
      if (ec == asio::error::operation_aborted) {
        if (closed_ || !shutdown_wanted_) {
          h(ec);
          return;
        }
        // Cancelled for our close_notify (shutdown): no error of the peer's.
      } else if (ec) {
        // A peer that closed the TCP connection without its close_notify is
        // gone all the same.
        read_error_ = ec == asio::ssl::error::stream_truncated ? error_code{asio::error::eof} : ec;
      }
      if (shutdown_wanted_ && !shutdown_started_) {
        // Our close_notify goes out first (the peer's may have come in just
        // now); the wait goes on until that is done.
        parked_ = std::move(h);
        start_shutdown();
        return;
      }
      h({});
    });
}

std::size_t tls_stream::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (head_ < filled_) {
    auto n = std::min(buf.size(), filled_ - head_);
    std::memcpy(buf.data(), buf_.data() + head_, n);
    head_ += n;
    return n;
  }
  ec = read_error_ ? read_error_ : error_code{asio::error::would_block};
  return 0;
}

void tls_stream::shutdown(asio::socket_base::shutdown_type what, error_code& ec) {
  if (what != asio::socket_base::shutdown_send) {
    channel_->tcp.socket().shutdown(what, ec);
    return;
  }
  if (shutdown_wanted_)
    return;
  shutdown_wanted_ = true;
  // One read at a time on a TLS stream, and the shutdown reads too (the
  // peer's close_notify): a read in flight is cancelled first (nothing is
  // being written now), and the shutdown starts when it is done.
  if (reading_) {
    error_code ignored;
    channel_->tcp.socket().cancel(ignored);
  } else {
    start_shutdown();
  }
}

void tls_stream::start_shutdown() {
  shutdown_started_ = true;
  shutting_down_ = true;
  channel_->ssl.async_shutdown([this, keep = owner_.lock()](error_code) {
    shutting_down_ = false;
    // Whatever the peer did, reading is over; the session's close timeout
    // bounds all of it.
    if (!read_error_)
      read_error_ = asio::error::eof;
    error_code ignored;
    channel_->tcp.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    if (parked_)
      std::exchange(parked_, nullptr)({});
  });
}

void tls_stream::close(error_code& ec) {
  closed_ = true;
  channel_->tcp.socket().close(ec);
}

} // namespace switchboard::net
