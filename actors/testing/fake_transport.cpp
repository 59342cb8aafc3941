#include "testing/fake_transport.hpp"

namespace switchboard::testing {

fake_transport::fake_transport(std::shared_ptr<fake_socket> socket,
                               std::shared_ptr<const connection_settings> settings)
  : socket_(std::move(socket)), settings_(std::move(settings)) {
}

void fake_transport::writer(caf::actor w) {
  socket_->writer_ = std::move(w);
}

transport::backlog fake_transport::queued() const {
  return {socket_->in_flight.size(), socket_->queued_bytes_};
}

bool fake_transport::congested() const {
  return socket_->in_flight.size() * 2 > settings_->send_queue_frames
         || socket_->queued_bytes_ * 2 > settings_->send_buffer_bytes;
}

bool fake_transport::send(frame_batch frames, std::size_t bytes) {
  auto& s = *socket_;
  if (refused_ || s.in_flight.size() + frames.size() > settings_->send_queue_frames
      || s.queued_bytes_ + bytes > settings_->send_buffer_bytes) {
    refused_ = true;
    return false;
  }
  if (s.closed)
    return true; // like a socket that is closing: taken, never written
  ++s.writes;
  s.handed_over_ += frames.size();
  s.in_flight.insert(s.in_flight.end(), frames.begin(), frames.end());
  s.queued_bytes_ += bytes;
  if (s.auto_complete)
    s.complete_write();
  return true;
}

void fake_transport::notify_when_drained(writer_actor writer) {
  // Waits for what was handed over until now, not for what comes later.
  auto& s = *socket_;
  if (s.written_ >= s.handed_over_) {
    caf::anon_send(writer, write_done_atom::value);
  } else {
    s.drain_target_ = s.handed_over_;
    s.drain_waiter_ = caf::actor_cast<caf::actor>(writer);
  }
}

void fake_transport::ping() {
  ++socket_->pings;
}

void fake_transport::consumed() {
  ++socket_->consumed_count;
}

void fake_transport::close(farewell how) {
  socket_->closed = how.reason;
  socket_->close_code = how.code;
  socket_->close_text = std::move(how.text);
}

} // namespace switchboard::testing
