#pragma once

// One TLS connection while it speaks HTTP: the TCP stream (with Beast's
// timeouts) and the connection's tls_engine. The handshake, the requests and
// the upgrade's answer go through here; after an upgrade the engine and the
// socket move on to a tls_stream (tls_stream.hpp). It lives on the heap and
// travels by pointer: the engine's BIO refers to the engine.
//
// Ciphertext is read into the engine's staged buffer and written from its
// output through the TCP stream, so that Beast's timeouts bound every wait
// of the handshake and the HTTP side.

#include "io/io_types.hpp"
#include "tls/tls_engine.hpp"

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace switchboard::net {

class tls_channel {
public:
  tls_channel(socket_type&& socket, std::shared_ptr<boost::asio::ssl::context> context)
    : ctx_(std::move(context)), tcp_(std::move(socket)),
      engine_(std::make_unique<tls_engine>(ctx_->native_handle())) {
  }
  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  http_stream& tcp() noexcept {
    return tcp_;
  }

  /// The server's side of the handshake: void(error_code).
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return run<false>([](tls_engine& e, boost::system::error_code& ec, std::size_t&) {
      return e.handshake(ec);
    }, std::forward<Handler>(handler));
  }

  /// Decrypted bytes into the first buffer: void(error_code, std::size_t).
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer first;
    for (auto i = boost::asio::buffer_sequence_begin(buffers);
         i != boost::asio::buffer_sequence_end(buffers) && first.size() == 0; ++i)
      first = *i;
    return run<true>([first](tls_engine& e, boost::system::error_code& ec, std::size_t& n) {
      return e.read(first.data(), first.size(), n, ec);
    }, std::forward<Handler>(handler));
  }

  /// Encrypts all of `buffers`, done once the ciphertext is sent:
  /// void(error_code, std::size_t).
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return run<true>([buffers](tls_engine& e, boost::system::error_code& ec, std::size_t& n) {
      for (auto i = boost::asio::buffer_sequence_begin(buffers);
           i != boost::asio::buffer_sequence_end(buffers); ++i) {
        boost::asio::const_buffer b = *i;
        if (!e.write(b.data(), b.size(), ec))
          return tls_engine::status::failed;
        n += b.size();
      }
      return tls_engine::status::done;
    }, std::forward<Handler>(handler));
  }

  /// Our close_notify, sent (the peer's is not waited for): void(error_code).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return run<false>([](tls_engine& e, boost::system::error_code&, std::size_t&) {
      e.shutdown();
      return tls_engine::status::done;
    }, std::forward<Handler>(handler));
  }

  /// After an upgrade: what the tls_stream takes over.
  std::shared_ptr<boost::asio::ssl::context> context() const noexcept {
    return ctx_;
  }
  std::unique_ptr<tls_engine> release_engine() noexcept {
    return std::move(engine_);
  }
  socket_type release_socket() {
    return tcp_.release_socket();
  }

private:
  /// Runs `step` on the engine until it is done or fails, reading staged
  /// ciphertext whenever it wants some, and sends the engine's output
  /// before each step and before completing (a failed handshake's alert
  /// included).
  template <bool WithSize, class Step>
  struct op {
    op(tls_channel& channel, Step s) : ch(channel), step(std::move(s)) {
    }

    tls_channel& ch;
    Step step;
    enum class state { start, idle, reading, writing, posted } at = state::start;
    bool finished = false;
    boost::system::error_code result;
    std::size_t n = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t got = 0) {
      auto& e = *ch.engine_;
      bool initiating = false;
      switch (std::exchange(at, state::idle)) {
        case state::start:
          initiating = true;
          if (!e.valid()) {
            finished = true;
            result = boost::asio::error::no_memory;
          }
          break;
        case state::posted:
          return complete(self);
        case state::reading:
          if (ec)
            return fail(self, ec);
          e.commit_input(got);
          break;
        case state::writing:
          // A failed step's alert that cannot go out: the step's error says why.
          if (ec)
            return fail(self, result ? result : ec);
          e.consume_output(got);
          break;
        case state::idle:
          break;
      }
      for (;;) {
        if (e.valid() && e.output_size() > 0) {
          at = state::writing;
          ch.tcp_.async_write_some(boost::asio::buffer(e.output_data(), e.output_size()),
                                   std::move(self));
          return;
        }
        if (finished)
          break;
        if (step(e, result, n) == tls_engine::status::want_read) {
          // What the engine said so far goes first (a ServerHello), then it
          // is asked again and waits for the peer.
          if (e.output_size() > 0)
            continue;
          at = state::reading;
          std::size_t room = 0;
          auto* space = e.input_space(room);
          ch.tcp_.async_read_some(boost::asio::buffer(space, room), std::move(self));
          return;
        }
        finished = true;
      }
      if (!initiating)
        return complete(self);
      // Never complete inside the initiating call.
      at = state::posted;
      auto ex = ch.tcp_.get_executor();
      boost::asio::post(ex, std::move(self));
    }

    template <class Self>
    void fail(Self& self, boost::system::error_code ec) {
      result = ec;
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (WithSize)
        self.complete(result, result ? 0 : n);
      else
        self.complete(result);
    }
  };

  template <bool WithSize, class Step, class Handler>
  auto run(Step step, Handler&& handler) {
    using signature = std::conditional_t<WithSize, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return boost::asio::async_compose<Handler, signature>(op<WithSize, Step>(*this, std::move(step)),
                                                          handler, tcp_);
  }

  std::shared_ptr<boost::asio::ssl::context> ctx_;
  http_stream tcp_;
  std::unique_ptr<tls_engine> engine_;
};

} // namespace switchboard::net
