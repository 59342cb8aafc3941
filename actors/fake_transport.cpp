#include "fake_transport.hpp"

namespace switchboard::testing {

fake_transport::fake_transport(std::shared_ptr<fake_socket> socket)
  : socket_(std::move(socket)) {
}

void fake_transport::write(frame_batch frames, writer_actor writer) {
  auto& s = *socket_;
  ++s.writes;
  s.in_flight = std::move(frames);
  s.writer_ = caf::actor_cast<caf::actor>(writer);
  if (s.auto_complete)
    s.complete_write();
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
