#include "tls/tls_stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include <array>
#include <cassert>
#include <cstring>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

/// A TLS record's plaintext at most.
constexpr std::size_t record_size = 16 * 1024;

/// Small frames are copied together here so that one record carries many
/// (OpenSSL has no gathering write). One per thread: a write stages and
/// seals within one call.
struct staging {
  std::array<unsigned char, record_size> bytes;
  std::size_t used = 0;
};

staging& thread_staging() {
  thread_local staging s;
  return s;
}

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

} // namespace

tls_stream::tls_stream(std::unique_ptr<tls_channel> channel)
  : ctx_(channel->context()), engine_(channel->release_engine()),
    socket_(channel->release_socket()) {
  error_code ignored;
  socket_.non_blocking(true, ignored);
  engine_->read_from(socket_.native_handle());
}

// -- reading ------------------------------------------------------------------------

void tls_stream::async_wait(asio::socket_base::wait_type,
                            std::function<void(error_code)> handler) {
  if (read_error_ || engine_->has_input()) {
    asio::post(get_executor(), [h = std::move(handler)] { h({}); });
    return;
  }
  // The handler holds the session, and with it this stream.
  socket_.async_wait(asio::socket_base::wait_read,
                     [this, h = std::move(handler)](error_code ec) {
                       if (!ec)
                         engine_->socket_readable();
                       h(ec);
                     });
}

std::size_t tls_stream::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (read_error_) {
    ec = read_error_;
    return 0;
  }
  std::size_t got = 0;
  error_code failure;
  auto s = engine_->read(buf.data(), buf.size(), got, failure);
  // OpenSSL may have answered something (a TLS 1.3 key update) meanwhile.
  if (engine_->output_size() > 0 && !write_waiting_)
    pump(false);
  switch (s) {
    case tls_engine::status::done:
      return got;
    case tls_engine::status::want_read:
      ec = asio::error::would_block;
      return 0;
    case tls_engine::status::failed:
      break;
  }
  // A peer that closed the TCP connection without its close_notify is gone
  // all the same.
  read_error_ = failure == asio::ssl::error::stream_truncated ? error_code{asio::error::eof}
                                                             : failure;
  ec = read_error_;
  return 0;
}

// -- writing ------------------------------------------------------------------------

void tls_stream::stage(const void* data, std::size_t size, error_code& ec) {
  auto& s = thread_staging();
  auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    if (s.used == 0 && size >= record_size) {
      // Whole records straight from the caller's bytes.
      auto whole = size - size % record_size;
      if (!engine_->write(p, whole, ec))
        return;
      p += whole;
      size -= whole;
      continue;
    }
    auto n = std::min(size, record_size - s.used);
    std::memcpy(s.bytes.data() + s.used, p, n);
    s.used += n;
    p += n;
    size -= n;
    if (s.used == record_size) {
      s.used = 0;
      if (!engine_->write(s.bytes.data(), record_size, ec))
        return;
    }
  }
}

void tls_stream::seal(error_code& ec) {
  auto& s = thread_staging();
  auto n = std::exchange(s.used, 0);
  if (n > 0)
    engine_->write(s.bytes.data(), n, ec);
}

void tls_stream::start_write(error_code ec, std::size_t total, write_handler handler) {
  if (ec) {
    // (stage() and seal() leave the staging buffer empty when they fail.)
    write_error_ = ec;
    asio::post(get_executor(), [h = std::move(handler), ec] { h(ec, 0); });
    return;
  }
  assert(!handler_ && "one write at a time");
  handler_ = std::move(handler);
  handler_size_ = total;
  if (!write_waiting_)
    pump(true);
}

void tls_stream::pump(bool initiating) {
  while (engine_->output_size() > 0) {
    error_code ec;
    auto n = socket_.write_some(asio::buffer(engine_->output_data(), engine_->output_size()), ec);
    if (would_block(ec)) {
      write_waiting_ = true;
      socket_.async_wait(asio::socket_base::wait_write,
                         [this, keep = owner_.lock()](error_code failed) {
                           write_waiting_ = false;
                           if (failed)
                             fail_write(failed, false);
                           else
                             pump(false);
                         });
      return;
    }
    if (ec) {
      fail_write(ec, initiating);
      return;
    }
    engine_->consume_output(n);
  }
  if (std::exchange(fin_wanted_, false)) {
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
  complete({}, handler_size_, initiating);
}

void tls_stream::fail_write(error_code ec, bool initiating) {
  write_error_ = ec;
  complete(ec, 0, initiating);
}

void tls_stream::complete(error_code ec, std::size_t n, bool initiating) {
  if (!handler_)
    return;
  auto h = std::exchange(handler_, nullptr);
  // Within async_write_some the handler must not run before it returns.
  if (initiating)
    asio::post(get_executor(), [h = std::move(h), ec, n] { h(ec, n); });
  else
    h(ec, n);
}

// -- closing ------------------------------------------------------------------------

void tls_stream::shutdown(asio::socket_base::shutdown_type what, error_code& ec) {
  if (what != asio::socket_base::shutdown_send) {
    socket_.shutdown(what, ec);
    return;
  }
  if (std::exchange(shutdown_sent_, true))
    return;
  engine_->shutdown();
  fin_wanted_ = true;
  if (!write_waiting_)
    pump(false);
}

void tls_stream::close(error_code& ec) {
  // The descriptor may be reused at once: OpenSSL must not read it again.
  engine_->read_from(-1);
  socket_.close(ec);
}

} // namespace switchboard::net
