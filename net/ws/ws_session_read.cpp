// basic_ws_session, reading: the socket's bytes through the codec to the
// reader actor, within the read credit.

#include "ws/ws_session.hpp"

#include <boost/asio/post.hpp>

#include <array>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// What one read takes at most: one buffer per I/O thread, shared by all its
// connections, so that an idle connection holds no read buffer.
constexpr std::size_t read_chunk = 64 * 1024;

char* read_buffer() {
  thread_local std::array<char, read_chunk> buf;
  return buf.data();
}

} // namespace

template <class Stream>
void basic_ws_session<Stream>::wait_readable() {
  if (waiting_ || closed_)
    return;
  waiting_ = true;
  socket_.async_wait(asio::socket_base::wait_read,
                     [self = this->shared_from_this()](error_code ec) {
                       self->waiting_ = false;
                       self->on_readable(ec);
                     });
}

template <class Stream>
void basic_ws_session<Stream>::on_readable(error_code ec) {
  if (closed_ || (ec && ec == asio::error::operation_aborted))
    return;
  // Reading pauses while the reader is behind (read credit), except when the
  // pair is gone and only the peer's close frame or EOF is of interest.
  auto paused = [this] {
    return !closing_ && !finishing_ && (held_head_ < held_.size() || unhandled_ >= read_credit);
  };
  while (!ec && !paused()) {
    auto n = socket_.read_some(asio::buffer(read_buffer(), read_chunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait_readable();
      return;
    }
    if (ec)
      break;
    metrics_.bytes_in.add(n);
    if (finishing_)
      continue; // after the close: only EOF matters
    ws_codec::output out;
    codec_.feed(read_buffer(), n, out);
    handle(out);
    // A short read emptied the socket: wait for the next bytes. (A full one
    // may have left some: read on, an edge-triggered wait would not fire.)
    if (n < read_chunk && !closed_) {
      if (!paused())
        wait_readable();
      return;
    }
  }
  if (ec) {
    // EOF or reset: the peer is gone (or finished closing after our close).
    report(exit_code_of(ec));
    close_socket();
  }
}

template <class Stream>
void basic_ws_session<Stream>::handle(ws_codec::output& out) {
  if (out.alive && awaiting_pong_ && reader_) {
    // Any control frame after our ping proves the client alive; one message
    // to the reader per ping is enough (a ping flood costs no messages).
    awaiting_pong_ = false;
    caf::anon_send(reader_, alive_atom::value);
  }
  if (!closing_ && !out.messages.empty()) {
    for (auto& m : out.messages)
      held_.push_back(std::move(m));
    deliver_held();
  }
  if (!out.to_send.empty()) {
    out_.push_control(std::move(out.to_send));
    // Pongs count against the same byte bound as data: the writer keeps its
    // queue below send-buffer, so only a client that sends pings and does
    // not read can pass this.
    auto& s = *ctx_->settings;
    if (out_.pending_bytes() > s.send_buffer_bytes + s.send_queue_frames * 10 + 4096) {
      report(exit_code::slow_consumer);
      close_socket();
      return;
    }
    out_.flush(this->shared_from_this());
  }
  if (out.end != ws_codec::ending::none) {
    report(out.end == ws_codec::ending::peer_closed ? exit_code::socket_closed
                                                    : exit_code::protocol_error);
    finish();
  }
}

template <class Stream>
void basic_ws_session<Stream>::deliver_held() {
  while (held_head_ < held_.size() && unhandled_ < read_credit && reader_) {
    ++unhandled_;
    auto& [text, payload] = held_[held_head_++];
    if (text)
      caf::anon_send(reader_, std::move(payload));
    else
      caf::anon_send(reader_, binary_atom::value);
  }
  if (held_head_ == held_.size()) {
    held_head_ = 0;
    std::vector<std::pair<bool, std::string>>{}.swap(held_);
  }
}

template <class Stream>
void basic_ws_session<Stream>::drop_held() {
  held_head_ = 0;
  std::vector<std::pair<bool, std::string>>{}.swap(held_);
}

template <class Stream>
void basic_ws_session<Stream>::consumed() {
  // Exactly one caller sees the count drop from the limit: it resumes.
  if (unhandled_.fetch_sub(1) == read_credit)
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
      self->deliver_held();
      if (!self->waiting_)
        self->on_readable({});
    });
}

// Explicit instantiations of the members defined here (ws_session.cpp has the rest).
template void basic_ws_session<socket_type>::wait_readable();
template void basic_ws_session<socket_type>::on_readable(error_code);
template void basic_ws_session<socket_type>::handle(ws_codec::output&);
template void basic_ws_session<socket_type>::deliver_held();
template void basic_ws_session<socket_type>::drop_held();
template void basic_ws_session<socket_type>::consumed();
template void basic_ws_session<tls_stream>::wait_readable();
template void basic_ws_session<tls_stream>::on_readable(error_code);
template void basic_ws_session<tls_stream>::handle(ws_codec::output&);
template void basic_ws_session<tls_stream>::deliver_held();
template void basic_ws_session<tls_stream>::drop_held();
template void basic_ws_session<tls_stream>::consumed();

} // namespace switchboard::net
