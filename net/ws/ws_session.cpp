#include "ws/ws_session.hpp"

#include "ws/deflate.hpp"
#include "io/spin_guard.hpp"

#include "connection/connection.hpp"

#include <boost/asio/post.hpp>

#include <array>
#include <type_traits>
#include <thread>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

exit_code classify(error_code ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset
      || ec == asio::error::broken_pipe || ec == asio::error::operation_aborted
      || ec == asio::error::not_connected)
    return exit_code::socket_closed;
  return exit_code::socket_error;
}

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

// What one read takes at most: one buffer per I/O thread, shared by all its
// connections, so that an idle connection holds no read buffer.
constexpr std::size_t read_chunk = 64 * 1024;

char* read_buffer() {
  thread_local std::array<char, read_chunk> buf;
  return buf.data();
}

} // namespace

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream&& socket, std::shared_ptr<node_context> ctx,
                                           admission_ticket ticket)
  : ctx_(std::move(ctx)),
    socket_(std::move(socket)),
    metrics_(ctx_->loops->metrics_of(socket_.get_executor().context())),
    codec_(ws_codec::limits{ctx_->max_message_size}),
    out_(socket_, *this, &metrics_),
    batch_(ctx_->loops->batch_of(socket_.get_executor().context())),
    ticket_(std::move(ticket)) {
  error_code ec;
  peer_ = socket_.remote_endpoint(ec);
}

template <class Stream>
basic_ws_session<Stream>::~basic_ws_session() {
  // Runs on the loop (or while the I/O context is destroyed).
  error_code ignored;
  socket_.close(ignored);
}

template <class Stream>
std::shared_ptr<transport> basic_ws_session<Stream>::actor_handle() {
  // Whoever drops the last copy (a CAF worker, usually) only posts the
  // session's last reference to the loop: the socket is closed and the
  // session destroyed there, never concurrently with its own handlers.
  return std::shared_ptr<transport>(
    this, [self = this->shared_from_this(), held = held_by_actor{ctx_.share()}](transport*) mutable {
      auto ex = self->socket_.get_executor();
      asio::post(ex, [last = std::move(self)] {});
    });
}

template <class Stream>
void basic_ws_session<Stream>::start(std::string pending, std::string user, topic_filter allowed,
                                     caf::optional<caf::timestamp> expires) {
  error_code ec;
  socket_.non_blocking(true, ec);
  if constexpr (std::is_same_v<Stream, tls_stream>)
    socket_.set_owner(this->weak_from_this());
  auto pair = spawn_connection(ctx_->sys, ctx_->hub, actor_handle(), ctx_->settings,
                               std::move(user), std::move(allowed), std::move(expires));
  reader_ = std::move(pair.reader);
  writer_ = std::move(pair.writer);
  if (!pending.empty()) {
    ws_codec::output out;
    codec_.feed(pending.data(), pending.size(), out);
    handle(out);
  }
  on_readable({});
}

// -- reading ------------------------------------------------------------------------

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
    report(classify(ec));
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

// -- writing ------------------------------------------------------------------------

template <class Stream>
transport::backlog basic_ws_session<Stream>::queued() const {
  return {queued_frames_.load(std::memory_order_acquire),
          queued_bytes_.load(std::memory_order_acquire)};
}

template <class Stream>
bool basic_ws_session<Stream>::congested() const {
  auto& s = *ctx_->settings;
  return queued_frames_.load(std::memory_order_acquire) * 2 > s.send_queue_frames
         || queued_bytes_.load(std::memory_order_acquire) * 2 > s.send_buffer_bytes;
}

template <class Stream>
bool basic_ws_session<Stream>::send(frame_batch frames, std::size_t bytes) {
  // One caller at a time (the hub); the loop only ever lowers the counts, so
  // a check that passes stays true until the counts are raised here.
  if (refused_.load(std::memory_order_relaxed))
    return false;
  auto& s = *ctx_->settings;
  if (queued_frames_.load(std::memory_order_acquire) + frames.size() > s.send_queue_frames
      || queued_bytes_.load(std::memory_order_acquire) + bytes > s.send_buffer_bytes) {
    refused_.store(true, std::memory_order_relaxed);
    return false;
  }
  handed_over_.fetch_add(frames.size(), std::memory_order_acq_rel);
  queued_frames_ += frames.size();
  queued_bytes_ += bytes;
  {
    spin_guard guard{outbox_lock_};
    if (outbox_.empty())
      outbox_ = std::move(frames);
    else
      outbox_.insert(outbox_.end(), std::make_move_iterator(frames.begin()),
                     std::make_move_iterator(frames.end()));
  }
  // One flush on the loop takes whatever has piled up by then: batches
  // handed over while it is on its way need no flush of their own. And the
  // flushes of all the loop's connections that a fan-out wakes go out in one
  // batch: one wake-up of the loop's thread, not one per connection.
  if (!flush_posted_.exchange(true, std::memory_order_acq_rel))
    batch_.schedule([self = this->shared_from_this()] { self->flush_outbox(); });
  return true;
}

template <class Stream>
void basic_ws_session<Stream>::flush_outbox() {
  flush_posted_.store(false, std::memory_order_release);
  frame_batch frames;
  {
    spin_guard guard{outbox_lock_};
    frames.swap(outbox_);
  }
  // Once closing nothing more goes out (the pair is gone or going).
  if (closing_ || finishing_ || closed_) {
    progress dropped;
    for (auto& f : frames) {
      ++dropped.frames;
      dropped.bytes += f->size();
    }
    account(dropped);
    return;
  }
  // The queue depth is sampled here, once per flush: what the writer's
  // bound sees (handed over, not yet on the socket).
  metrics_.queue_depth.observe(queued_frames_.load(std::memory_order_relaxed));
  if (deflate_)
    deflate_all(frames);
  for (auto& f : frames)
    out_.push(std::move(f));
  out_.flush(this->shared_from_this());
}

template <class Stream>
void basic_ws_session<Stream>::deflate_all(frame_batch& frames) {
  std::size_t saved = 0;
  for (auto& f : frames) {
    auto d = deflated(f);
    saved += f->size() - d->size();
    f = std::move(d);
  }
  // From here on the frames are counted at the size they go out with, as
  // the writer's progress reports them.
  queued_bytes_ -= saved;
  metrics_.deflate_saved_bytes.add(saved);
}

template <class Stream>
void basic_ws_session<Stream>::on_written(error_code ec, progress done) {
  account(done);
  if (ec) {
    if (writer_)
      caf::anon_send(std::exchange(writer_, writer_actor{}), closed_atom::value,
                     static_cast<std::uint8_t>(classify(ec)));
    close_socket();
    return;
  }
  if (!out_.empty()) {
    out_.flush(this->shared_from_this());
  } else if (finishing_) {
    // The last frame (our close, or the answer to the peer's) is out.
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
}

template <class Stream>
void basic_ws_session<Stream>::account(progress done) {
  if (done.frames == 0)
    return;
  queued_frames_ -= done.frames;
  queued_bytes_ -= done.bytes;
  written_ += done.frames;
  if (drain_target_ != 0 && written_ >= drain_target_ && writer_) {
    drain_target_ = 0;
    caf::anon_send(writer_, write_done_atom::value);
  }
}

template <class Stream>
void basic_ws_session<Stream>::notify_when_drained(writer_actor writer) {
  // What was handed over until now is waited for, not what comes later.
  auto target = handed_over_.load(std::memory_order_acquire);
  asio::post(socket_.get_executor(),
             [self = this->shared_from_this(), writer = std::move(writer), target] {
               if (self->written_ >= target)
                 caf::anon_send(writer, write_done_atom::value);
               else
                 self->drain_target_ = target;
             });
}

template <class Stream>
void basic_ws_session<Stream>::ping() {
  asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
    if (self->closing_ || self->finishing_ || self->closed_)
      return;
    self->awaiting_pong_ = true;
    self->out_.push_control(std::string{"\x89\x00", 2});
    self->out_.flush(self);
  });
}

template <class Stream>
std::string basic_ws_session<Stream>::peer() const {
  if (peer_.address().is_v6())
    return "[" + peer_.address().to_string() + "]:" + std::to_string(peer_.port());
  return peer_.address().to_string() + ":" + std::to_string(peer_.port());
}

// -- closing --------------------------------------------------------------------------

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
  // A peer that missed its heartbeat is gone as far as we can tell: it gets
  // its close frame if the socket takes it right now, and nobody waits.
  if (how.reason == exit_code::heartbeat_timeout) {
    if (!out_.writing() && out_.empty()) {
      auto frame = ws_codec::close_frame(cr.code, text);
      error_code ignored;
      metrics_.bytes_out.add(socket_.send(asio::buffer(frame), 0, ignored));
    }
    close_socket();
    return;
  }
  // A slow consumer will not read what is still queued: its close frame goes
  // right behind the write in flight.
  if (how.reason == exit_code::slow_consumer)
    account(out_.discard_data());
  out_.push_control(codec_.start_close(cr.code, text));
  out_.flush(this->shared_from_this());
  // The peer's close frame ends it (handle -> finish); at the latest, the
  // close timeout does.
  close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  close_timer_->expires_after(ctx_->close_timeout);
  close_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
    if (!ec)
      self->close_socket();
  });
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
  if (!close_timer_) {
    close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
    close_timer_->expires_after(ctx_->close_timeout);
    close_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec)
        self->close_socket();
    });
  }
  if (!waiting_)
    on_readable({});
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

template class basic_ws_session<socket_type>;
template class basic_ws_session<tls_stream>;

} // namespace switchboard::net
