#pragma once

/// A stream layer between `websocket::stream` and the socket that batches
/// writes ("corking"): while corked, every write Beast makes (frames, pings,
/// pongs, close) is appended to one buffer and completes at once; uncork()
/// hands the whole buffer to the socket in one write. Many small frames then
/// cost one syscall instead of one each, which is where most of the time of
/// a fan-out goes (docs/benchmarks.md).
///
/// Only for use on the owning session's strand. At most one real write is
/// in flight, so bytes keep their order. Writes complete before their bytes
/// reach the socket; `async_teardown` flushes first, so a close frame still
/// gets out before the socket is shut down.
///
/// NextLayer is a `beast::basic_stream` (it needs `socket()` and
/// `expires_at()` for the bounded teardown).

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::net {

template <class NextLayer>
class cork_stream {
public:
  using executor_type = typename NextLayer::executor_type;
  using next_layer_type = NextLayer;
  using error_code = boost::beast::error_code;

  template <class... Args>
  explicit cork_stream(Args&&... args)
    : impl_(std::make_shared<impl>(std::forward<Args>(args)...)) {
  }

  executor_type get_executor() noexcept {
    return impl_->next.get_executor();
  }

  NextLayer& next_layer() noexcept {
    return impl_->next;
  }

  const NextLayer& next_layer() const noexcept {
    return impl_->next;
  }

  // -- corking ------------------------------------------------------------------

  /// Writes collect in the buffer until uncork().
  void cork() noexcept {
    impl_->corked = true;
  }

  /// Starts writing what is buffered; `handler(ec)` runs once every byte
  /// written so far is on the socket, or the socket failed.
  void uncork(std::function<void(error_code)> handler) {
    auto& i = *impl_;
    i.corked = false;
    if (i.failed || i.written == i.appended) {
      boost::asio::post(get_executor(),
                        [h = std::move(handler), ec = i.failed] { h(ec); });
      return;
    }
    i.waiters.push_back({i.appended, std::move(handler)});
    start_write(impl_);
  }

  /// Drops the bytes not yet handed to the socket (a slow consumer will
  /// not read them anyway); whatever Beast writes next goes out alone.
  void discard_pending() noexcept {
    impl_->written += impl_->pending.size();
    impl_->pending.clear();
  }

  /// At most this many bytes may wait in the buffer and the write in
  /// flight; a write that would pass it fails with
  /// `asio::error::no_buffer_space`, and so does every write after it (the
  /// peer is not reading: the connection is beyond saving).
  void limit(std::size_t bytes) noexcept {
    impl_->limit = bytes;
  }

  /// How long the teardown after a close handshake waits for the peer to
  /// close its side before the socket is closed anyway.
  void teardown_timeout(std::chrono::steady_clock::duration d) noexcept {
    impl_->teardown_timeout = d;
  }

  /// Bytes waiting in the buffer or in the write in flight.
  std::size_t buffered() const noexcept {
    return static_cast<std::size_t>(impl_->appended - impl_->written);
  }

  // -- SyncStream -----------------------------------------------------------------

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    return impl_->next.read_some(buffers);
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    return impl_->next.read_some(buffers, ec);
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    error_code ec;
    auto n = write_some(buffers, ec);
    if (ec)
      BOOST_THROW_EXCEPTION(boost::system::system_error{ec});
    return n;
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, error_code& ec) {
    auto& i = *impl_;
    if (i.failed) {
      ec = i.failed;
      return 0;
    }
    ec = {};
    auto n = boost::beast::buffer_bytes(buffers);
    if (i.appended - i.written + n > i.limit) {
      i.failed = boost::asio::error::no_buffer_space;
      ec = i.failed;
      notify(i);
      return 0;
    }
    auto offset = i.pending.size();
    i.pending.resize(offset + n);
    boost::asio::buffer_copy(boost::asio::buffer(&i.pending[offset], n), buffers);
    i.appended += n;
    if (!i.corked)
      start_write(impl_);
    return n;
  }

  // -- AsyncStream ----------------------------------------------------------------

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return impl_->next.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_initiate<WriteHandler, void(error_code, std::size_t)>(
      [this](auto h, const ConstBufferSequence& bufs) {
        error_code ec;
        auto n = write_some(bufs, ec);
        boost::asio::post(get_executor(),
                          boost::beast::bind_front_handler(std::move(h), ec, n));
      },
      handler, buffers);
  }

  /// Runs `handler(ec)` once everything buffered so far is on the socket.
  void async_flush(std::function<void(error_code)> handler) {
    uncork(std::move(handler));
  }

private:
  struct waiter {
    std::uint64_t offset; // done once `written` reaches it
    std::function<void(error_code)> handler;
  };

  // Shared with the write in flight, so that the socket and the buffer live
  // until the kernel is done with them, even if the stream is gone.
  struct impl {
    template <class... Args>
    explicit impl(Args&&... args) : next(std::forward<Args>(args)...) {
    }
    NextLayer next;
    std::string pending;
    std::string in_flight;
    std::uint64_t appended = 0;
    std::uint64_t written = 0;
    std::uint64_t limit = UINT64_MAX;
    bool corked = false;
    bool writing = false;
    error_code failed;
    std::vector<waiter> waiters;
    std::chrono::steady_clock::duration teardown_timeout = std::chrono::seconds(10);
  };

  static void notify(impl& i) {
    auto waiters = std::move(i.waiters);
    i.waiters.clear();
    for (auto& w : waiters) {
      if (i.failed || w.offset <= i.written)
        w.handler(i.failed);
      else
        i.waiters.push_back(std::move(w));
    }
  }

  static void start_write(const std::shared_ptr<impl>& ptr) {
    auto& i = *ptr;
    if (i.writing || i.pending.empty() || i.failed)
      return;
    i.writing = true;
    std::swap(i.pending, i.in_flight);
    i.pending.clear();
    boost::asio::async_write(i.next, boost::asio::buffer(i.in_flight),
                             [ptr](error_code ec, std::size_t n) {
                               auto& j = *ptr;
                               j.writing = false;
                               if (ec)
                                 j.failed = ec;
                               j.written += n;
                               // Keep a large buffer from pinning memory.
                               if (j.in_flight.capacity() > 64 * 1024)
                                 std::string{}.swap(j.in_flight);
                               notify(j);
                               if (!j.corked)
                                 start_write(ptr);
                             });
  }

  // Beast's own TCP teardown waits for the peer's FIN without a bound, so a
  // peer that keeps its socket open after the close handshake would hold the
  // session (seen: FIN-WAIT-2 until the next heartbeat). Same steps here,
  // with a deadline: shut down our side, read until EOF or the deadline,
  // close.
  template <class Handler>
  static void drain(std::shared_ptr<impl> ptr, std::shared_ptr<std::array<char, 512>> buf,
                    std::shared_ptr<Handler> handler) {
    auto& next = ptr->next;
    next.async_read_some(boost::asio::buffer(*buf), [ptr, buf, handler](error_code ec,
                                                                        std::size_t) {
      if (!ec) {
        drain(ptr, buf, handler);
        return;
      }
      error_code ignored;
      ptr->next.socket().close(ignored);
      (*handler)(error_code{});
    });
  }

  template <class Handler>
  static void bounded_teardown(std::shared_ptr<impl> ptr, std::shared_ptr<Handler> handler) {
    error_code ignored;
    ptr->next.socket().shutdown(boost::asio::socket_base::shutdown_send, ignored);
    ptr->next.expires_after(ptr->teardown_timeout);
    drain(ptr, std::make_shared<std::array<char, 512>>(), handler);
  }

  std::shared_ptr<impl> impl_;

  template <class Next, class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, cork_stream<Next>& s,
                             TeardownHandler&& handler);

  template <class Next>
  friend void teardown(boost::beast::role_type role, cork_stream<Next>& s,
                       boost::beast::error_code& ec);
};

/// Flushes what is buffered (the close frame), then tears down the socket.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, cork_stream<NextLayer>& s,
                    TeardownHandler&& handler) {
  (void) role; // both roles tear down the same way
  auto impl = s.impl_;
  // Beast's handler is move-only; std::function needs a copyable target.
  auto h = std::make_shared<std::decay_t<TeardownHandler>>(
    std::forward<TeardownHandler>(handler));
  s.async_flush([impl, h](boost::beast::error_code) {
    cork_stream<NextLayer>::bounded_teardown(impl, h);
  });
}

template <class NextLayer>
void teardown(boost::beast::role_type role, cork_stream<NextLayer>& s,
              boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.impl_->next.socket(), ec);
}

} // namespace switchboard::net
