// basic_ws_session, closing: the close state machine. A close starts in one
// of three ways (the pair is done: close/do_close; the peer closed or broke
// the protocol: handle -> finish; the socket failed: close_socket), and
// every way ends in close_socket, at the latest when the close timer fires.

#include "ws/ws_session.hpp"

#include <boost/asio/post.hpp>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

struct close_reason {
  std::uint16_t code;
  const char* text;
};

close_reason close_reason_of(exit_code reason) {
  switch (reason) {
    case exit_code::slow_consumer:
      return {1008, "slow consumer"};
    case exit_code::heartbeat_timeout:
      return {1001, "heartbeat timeout"};
    case exit_code::shutdown:
      return {1001, "server shutdown"};
    case exit_code::protocol_error:
      return {1002, "protocol error"};
    case exit_code::rate_limited:
      return {1008, "rate limited"};
    case exit_code::hub_down:
      return {1011, "hub down"};
    default:
      return {1011, "internal error"};
  }
}

} // namespace

template <class Stream>
exit_code basic_ws_session<Stream>::exit_code_of(error_code ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset
      || ec == asio::error::broken_pipe || ec == asio::error::operation_aborted
      || ec == asio::error::not_connected)
    return exit_code::socket_closed;
  return exit_code::socket_error;
}

template <class Stream>
void basic_ws_session<Stream>::close(farewell how) {
  asio::post(socket_.get_executor(), [self = this->shared_from_this(), how = std::move(how)] {
    self->do_close(how);
  });
}

template <class Stream>
void basic_ws_session<Stream>::do_close(const farewell& how) {
  if (closing_)
    return;
  closing_ = true;
  reader_ = reader_actor{};
  writer_ = writer_actor{};
  drop_held();
  if (closed_ || finishing_)
    return;
  auto cr = close_reason_of(how.reason);
  std::string text = cr.text;
  if (how.code != 0) { // an application's close_connection
    cr.code = how.code;
    text = how.text;
  }
  // A slow consumer will not read what is still queued, and a peer that
  // missed its heartbeat is gone as far as we can tell: their close frame
  // goes right behind the write in flight. Nobody waits for the answer of
  // the latter: its socket closes once the close frame is out (on_written).
  if (how.reason == exit_code::slow_consumer || how.reason == exit_code::heartbeat_timeout)
    account(out_.discard_data());
  abandoning_ = how.reason == exit_code::heartbeat_timeout;
  // Like every other byte, the close frame goes through the one
  // asynchronous write path: for TLS, no write ever runs beside the
  // engine's pending read.
  out_.push_control(codec_.start_close(cr.code, text));
  out_.flush(this->shared_from_this());
  // The peer's close frame ends it (handle -> finish); at the latest, the
  // close timeout does (also for a close frame the socket never takes).
  arm_close_timer();
  if (!waiting_)
    on_readable({});
}

template <class Stream>
void basic_ws_session<Stream>::report(exit_code reason) {
  if (reported_ || !reader_)
    return;
  reported_ = true;
  caf::anon_send(reader_, closed_atom::value, static_cast<std::uint8_t>(reason));
}

template <class Stream>
void basic_ws_session<Stream>::finish() {
  if (finishing_ || closed_)
    return;
  finishing_ = true;
  drop_held();
  // Our side is shut down once the last frame is out (on_written); the
  // peer's EOF (read on) or the close timeout then closes the socket.
  if (!out_.writing() && out_.empty()) {
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
  arm_close_timer();
  if (!waiting_)
    on_readable({});
}

template <class Stream>
void basic_ws_session<Stream>::arm_close_timer() {
  if (close_timer_)
    return; // one bound for the whole close, whichever way it started
  close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  close_timer_->expires_after(ctx_->close_timeout);
  close_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
    if (!ec)
      self->close_socket();
  });
}

template <class Stream>
void basic_ws_session<Stream>::close_socket() {
  if (closed_)
    return;
  closed_ = true;
  drop_held();
  if (close_timer_)
    close_timer_->cancel();
  // Frames that will never go out are no longer queued.
  account(out_.discard_data());
  error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

// Explicit instantiations of the members defined here (ws_session.cpp has the rest).
template exit_code basic_ws_session<socket_type>::exit_code_of(error_code);
template void basic_ws_session<socket_type>::close(farewell);
template void basic_ws_session<socket_type>::do_close(const farewell&);
template void basic_ws_session<socket_type>::report(exit_code);
template void basic_ws_session<socket_type>::finish();
template void basic_ws_session<socket_type>::arm_close_timer();
template void basic_ws_session<socket_type>::close_socket();
template exit_code basic_ws_session<tls_stream>::exit_code_of(error_code);
template void basic_ws_session<tls_stream>::close(farewell);
template void basic_ws_session<tls_stream>::do_close(const farewell&);
template void basic_ws_session<tls_stream>::report(exit_code);
template void basic_ws_session<tls_stream>::finish();
template void basic_ws_session<tls_stream>::arm_close_timer();
template void basic_ws_session<tls_stream>::close_socket();

} // namespace switchboard::net
