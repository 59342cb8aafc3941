#include "fake_transport.hpp"

namespace switchboard::testing {

fake_transport::fake_transport(std::shared_ptr<fake_socket> socket, caf::actor writer)
  : socket_(std::move(socket)) {
  socket_->writer_ = std::move(writer);
}

void fake_transport::writer(caf::actor w) {
  socket_->writer_ = std::move(w);
}

transport::backlog fake_transport::queued() const {
  return {socket_->in_flight.size(), socket_->queued_bytes_};
}

void fake_transport::send(frame_batch frames, std::size_t bytes) {
  auto& s = *socket_;
  ++s.writes;
  s.in_flight.insert(s.in_flight.end(), frames.begin(), frames.end());
  s.queued_bytes_ += bytes;
  if (s.auto_complete)
    s.complete_write();
}

void fake_transport::notify_when_drained(writer_actor writer) {
  auto& s = *socket_;
  if (s.in_flight.empty())
    caf::anon_send(writer, write_done_atom::value);
  else
    s.drain_waiter_ = caf::actor_cast<caf::actor>(writer);
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
