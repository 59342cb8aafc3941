#include "ws_session.hpp"

#include "connection.hpp"

#include <algorithm>

namespace switchboard::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

exit_code classify(beast::error_code ec) {
  if (ec == websocket::error::closed || ec == asio::error::eof
      || ec == asio::error::connection_reset || ec == asio::error::broken_pipe
      || ec == asio::error::operation_aborted || ec == asio::error::not_connected)
    return exit_code::socket_closed;
  if (ec == websocket::condition::protocol_violation
      || ec == websocket::error::message_too_big)
    return exit_code::protocol_error;
  // The corking layer refused to buffer more (cork_stream::limit): replies to
  // a client that sends but does not read.
  if (ec == asio::error::no_buffer_space)
    return exit_code::slow_consumer;
  return exit_code::socket_error;
}

websocket::close_reason close_reason_of(const farewell& how) {
  // An application's close_connection brings its own code and text.
  if (how.code != 0)
    return {static_cast<websocket::close_code>(how.code), how.text};
  switch (how.reason) {
    case exit_code::slow_consumer:
      return {websocket::close_code::policy_error, "slow consumer"};
    case exit_code::heartbeat_timeout:
      return {websocket::close_code::going_away, "heartbeat timeout"};
    case exit_code::shutdown:
      return {websocket::close_code::going_away, "server shutdown"};
    case exit_code::protocol_error:
      return {websocket::close_code::protocol_error, "protocol error"};
    case exit_code::rate_limited:
      return {websocket::close_code::policy_error, "rate limited"};
    case exit_code::hub_down:
      return {websocket::close_code::internal_error, "hub down"};
    default:
      return {websocket::close_code::internal_error, "internal error"};
  }
}

// A server close frame (unmasked, RFC 6455 5.5.1) built by hand for the one
// case where Beast's close handshake is not wanted: a peer already known to
// be gone gets it without anyone waiting for an answer.
std::string close_frame(const websocket::close_reason& cr) {
  std::string frame;
  auto len = 2 + std::min<std::size_t>(cr.reason.size(), 123);
  frame.push_back(static_cast<char>(0x88));
  frame.push_back(static_cast<char>(len));
  frame.push_back(static_cast<char>((cr.code >> 8) & 0xff));
  frame.push_back(static_cast<char>(cr.code & 0xff));
  frame.append(cr.reason.data(), len - 2);
  return frame;
}

} // namespace

ws_session::ws_session(beast::tcp_stream&& stream, std::shared_ptr<node_context> ctx,
                       admission_ticket ticket, std::string user)
  : ctx_(std::move(ctx)),
    ws_(std::move(stream)),
    ticket_(std::move(ticket)),
    user_(std::move(user)) {
}

ws_session::~ws_session() {
  // Runs on the strand (or while the I/O context is destroyed): a write may
  // still hold the socket (cork_stream shares it), so abort it.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

void ws_session::run(request req) {
  ws_.set_option(websocket::stream_base::timeout{ctx_->handshake_timeout,
                                                 websocket::stream_base::none(), false});
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "switchboard");
  }));
  auto& cork = ws_.next_layer();
  cork.teardown_timeout(ctx_->close_timeout);
  // Replies Beast writes by itself (pongs) count against the same byte
  // bound as data: the writer keeps its queue below send-buffer, so only a
  // client that sends pings and does not read can pass this.
  auto& s = ctx_->settings;
  cork.limit(s.send_buffer_bytes + s.send_queue_frames * 10 + 4096);
  ws_.read_message_max(ctx_->max_message_size);
  ws_.auto_fragment(false);
  ws_.text(true);
  // Runs on the strand, while a read is pending.
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    on_control(kind);
  });
  // Beast's websocket timer owns the handshake timeout from here.
  beast::get_lowest_layer(ws_).expires_never();
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept,
                                                  shared_from_this()));
}

std::shared_ptr<transport> ws_session::actor_handle() {
  // Whoever drops the last copy (a CAF worker, usually) only posts the
  // session's last reference to the strand: the socket is closed and the
  // session destroyed there, never concurrently with its own handlers.
  return std::shared_ptr<transport>(
    this, [self = shared_from_this(), held = held_by_actor{ctx_.share()}](transport*) mutable {
      auto ex = self->ws_.get_executor();
      asio::post(ex, [last = std::move(self)] {});
    });
}

void ws_session::on_accept(beast::error_code ec) {
  if (ec)
    return; // Beast answered the bad upgrade; dropping the session closes it
  auto pair = spawn_connection(ctx_->sys, ctx_->hub, actor_handle(), ctx_->settings,
                               std::exchange(user_, {}));
  reader_ = std::move(pair.reader);
  writer_ = std::move(pair.writer);
  do_read();
}

void ws_session::on_control(websocket::frame_type kind) {
  // Any control frame after our ping proves the client alive; one message
  // to the reader per ping is enough (a ping flood costs no messages).
  if (kind != websocket::frame_type::close && awaiting_pong_ && reader_) {
    awaiting_pong_ = false;
    caf::anon_send(reader_, alive_atom::value);
  }
}

void ws_session::do_read() {
  // async_read() would reserve Beast's full frame size (1536 bytes) in the
  // buffer of every idle connection while it waits. Reading the message in
  // growing pieces keeps that reservation at idle_read_size, and a large
  // message still takes only a few steps (each at least doubles the buffer).
  auto limit = std::max(idle_read_size, buffer_.size());
  ws_.async_read_some(buffer_, limit,
                      beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    read_failed_ = true;
    // The reader exits with this reason and takes the writer along.
    if (reader_)
      caf::anon_send(std::exchange(reader_, reader_actor{}), closed_atom::value,
                     static_cast<std::uint8_t>(classify(ec)));
    return;
  }
  // Once closing, Beast's close operation does the reading (until the
  // peer's close frame); the pair is gone, nobody takes messages.
  if (closing_)
    return;
  if (!ws_.is_message_done()) {
    do_read();
    return;
  }
  if (ws_.got_text())
    caf::anon_send(reader_, beast::buffers_to_string(buffer_.data()));
  else
    caf::anon_send(reader_, binary_atom::value);
  buffer_.consume(buffer_.size());
  // An idle connection should not keep the buffer of its largest message.
  if (buffer_.capacity() > 4096)
    buffer_.shrink_to_fit();
  // Credit-based flow control: stop reading while the reader is behind.
  if (unhandled_.fetch_add(1) + 1 < read_credit)
    do_read();
}

void ws_session::consumed() {
  // Exactly one caller sees the count drop from the limit: it resumes.
  if (unhandled_.fetch_sub(1) == read_credit)
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->read_failed_ && !self->closing_)
        self->do_read();
    });
}

transport::backlog ws_session::queued() const {
  return {queued_frames_.load(std::memory_order_acquire),
          queued_bytes_.load(std::memory_order_acquire)};
}

void ws_session::send(frame_batch frames, std::size_t bytes) {
  queued_frames_ += frames.size();
  queued_bytes_ += bytes;
  {
    std::lock_guard<std::mutex> guard{outbox_mtx_};
    if (outbox_.empty())
      outbox_ = std::move(frames);
    else
      outbox_.insert(outbox_.end(), std::make_move_iterator(frames.begin()),
                     std::make_move_iterator(frames.end()));
  }
  // One flush on the strand takes whatever has piled up by then: batches
  // handed over while it is on its way need no post of their own.
  if (!flush_posted_.exchange(true, std::memory_order_acq_rel))
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->flush(); });
}

void ws_session::flush() {
  flush_posted_.store(false, std::memory_order_release);
  frame_batch frames;
  {
    std::lock_guard<std::mutex> guard{outbox_mtx_};
    frames.swap(outbox_);
  }
  std::size_t bytes = 0;
  for (auto& f : frames)
    bytes += f->size();
  // Once closing or after a read failure the pair is already going down:
  // nothing more goes out. Beast sent a close frame once it is not open.
  if (closing_ || read_failed_ || !ws_.is_open()) {
    on_written(frames.size(), bytes, {});
    return;
  }
  // The frames are complete (the hub framed them once for all receivers):
  // they go into the corking buffer as they are, behind whatever Beast
  // wrote itself (pongs), and one socket write takes them all.
  auto& cork = ws_.next_layer();
  cork.cork();
  beast::error_code ec;
  for (auto& f : frames) {
    cork.write_some(asio::buffer(*f), ec);
    if (ec)
      break;
  }
  cork.uncork([self = shared_from_this(), n = frames.size(), bytes,
               keep = std::move(frames)](beast::error_code wec) {
    self->on_written(n, bytes, wec);
  });
}

void ws_session::on_written(std::size_t frames, std::size_t bytes, beast::error_code ec) {
  queued_frames_ -= frames;
  queued_bytes_ -= bytes;
  if (ec && writer_) {
    caf::anon_send(std::exchange(writer_, writer_actor{}), closed_atom::value,
                   static_cast<std::uint8_t>(classify(ec)));
    return;
  }
  if (notify_drained_ && queued_frames_ == 0 && writer_) {
    notify_drained_ = false;
    caf::anon_send(writer_, write_done_atom::value);
  }
}

void ws_session::notify_when_drained(writer_actor writer) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), writer = std::move(writer)] {
    self->writer_ = writer;
    if (self->queued_frames_ == 0)
      caf::anon_send(writer, write_done_atom::value);
    else
      self->notify_drained_ = true;
  });
}

void ws_session::ping() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    if (!self->closing_ && !self->read_failed_ && self->ws_.is_open()) {
      self->awaiting_pong_ = true;
      self->ws_.async_ping({}, [self](beast::error_code) {});
    }
  });
}

void ws_session::close(farewell how) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), how = std::move(how)] {
    self->do_close(how);
  });
}

void ws_session::do_close(const farewell& how) {
  if (closing_)
    return;
  closing_ = true;
  reader_ = reader_actor{};
  writer_ = writer_actor{};
  if (read_failed_ || !ws_.is_open()) {
    close_now(nullptr);
    return;
  }
  auto cr = close_reason_of(how);
  // A peer that missed its heartbeat is gone as far as we can tell: it gets
  // its close frame if the socket takes it right now, and nobody waits.
  if (how.reason == exit_code::heartbeat_timeout) {
    close_now(&cr);
    return;
  }
  // A slow consumer will not read what is still queued: its close frame
  // goes right behind the write in flight.
  if (how.reason == exit_code::slow_consumer)
    ws_.next_layer().discard_pending();
  // Every other close waits for the peer's close frame (and its FIN) for at
  // most close-timeout, then the socket is closed anyway.
  close_timer_.emplace(ws_.get_executor());
  close_timer_->expires_after(ctx_->close_timeout);
  close_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->close_now(nullptr);
  });
  ws_.async_close(cr, [self = shared_from_this()](beast::error_code) {
    // Closed, or failed (the timer closed the socket): either way done.
    if (self->close_timer_)
      self->close_timer_->cancel();
  });
}

void ws_session::close_now(const websocket::close_reason* farewell) {
  auto& socket = beast::get_lowest_layer(ws_).socket();
  beast::error_code ignored;
  // Best effort and never blocking: only if nothing else is on its way (a
  // frame must not land in the middle of another), and only what the
  // socket buffer takes at once.
  if (farewell != nullptr && ws_.next_layer().buffered() == 0) {
    auto frame = close_frame(*farewell);
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(frame), 0, ignored);
  }
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

} // namespace switchboard::net
