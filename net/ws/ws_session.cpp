// basic_ws_session: its life (construction, the actors' handle, start) and
// the writing side. Reading is in ws_session_read.cpp, the close state
// machine in ws_session_close.cpp.

#include "ws/ws_session.hpp"

#include "ws/deflate.hpp"
#include "io/spin_guard.hpp"

#include "connection/connection.hpp"

#include <boost/asio/post.hpp>

#include <type_traits>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream&& socket, std::shared_ptr<node_context> ctx,
                                           admission_ticket ticket)
  : transport(send_policy_),
    ctx_(std::move(ctx)),
    socket_(std::move(socket)),
    metrics_(ctx_->loops->metrics_of(socket_.get_executor().context())),
    codec_(ws_codec::limits{ctx_->max_message_size}),
    out_(socket_, *this, &metrics_),
    batch_(ctx_->loops->batch_of(socket_.get_executor().context())),
    send_policy_(send_bound(*ctx_->settings)),
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

// -- writing ------------------------------------------------------------------------

template <class Stream>
void basic_ws_session<Stream>::hand_over(frame_batch frames) {
  // One caller at a time (the hub), and the writer's policy admitted (and
  // counted) the frames before they got here.
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
  metrics_.queue_depth.observe(policy().queued().frames);
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
  // the frame_writer's progress reports them.
  mutable_policy().shrunk(saved);
  metrics_.deflate_saved_bytes.add(saved);
}

template <class Stream>
void basic_ws_session<Stream>::on_written(error_code ec, progress done) {
  account(done);
  if (ec) {
    if (writer_)
      caf::anon_send(std::exchange(writer_, writer_actor{}), closed_atom::value,
                     static_cast<std::uint8_t>(exit_code_of(ec)));
    close_socket();
    return;
  }
  if (!out_.empty()) {
    out_.flush(this->shared_from_this());
  } else if (abandoning_) {
    // The close frame of a peer that missed its heartbeat is out; its
    // answer is not waited for.
    close_socket();
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
  mutable_policy().written(done.frames, done.bytes);
  if (drain_target_ != 0 && policy().drained(drain_target_) && writer_) {
    drain_target_ = 0;
    caf::anon_send(writer_, write_done_atom::value);
  }
}

template <class Stream>
void basic_ws_session<Stream>::notify_when_drained(writer_actor writer) {
  // What was admitted until now is waited for, not what comes later.
  auto target = policy().mark();
  asio::post(socket_.get_executor(),
             [self = this->shared_from_this(), writer = std::move(writer), target] {
               if (self->policy().drained(target))
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

// The members defined in this file; ws_session_read.cpp and
// ws_session_close.cpp instantiate theirs.
template class basic_ws_session<socket_type>;
template class basic_ws_session<tls_stream>;

} // namespace switchboard::net
