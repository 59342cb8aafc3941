#include "testing/fake_transport.hpp"

#include "connection/connection.hpp"

namespace switchboard::testing {

fake_transport::fake_transport(std::shared_ptr<fake_socket> socket,
                               std::shared_ptr<const connection_settings> settings)
  : transport(send_policy_), socket_(std::move(socket)), send_policy_(send_bound(*settings)) {
}

void fake_transport::writer(caf::actor w) {
  socket_->writer_ = std::move(w);
}

void fake_transport::hand_over(frame_batch frames) {
  auto& s = *socket_;
  if (s.closed)
    return; // like a socket that is closing: taken, never written
  ++s.writes;
  s.in_flight.insert(s.in_flight.end(), frames.begin(), frames.end());
  if (s.auto_complete)
    s.complete_write();
}

void fake_transport::left_queue(std::size_t frames, std::size_t bytes) {
  mutable_policy().written(frames, bytes);
  if (drain_waiter_ && policy().drained(drain_target_))
    caf::anon_send(std::exchange(drain_waiter_, nullptr), write_done_atom::value);
}

void fake_transport::notify_when_drained(writer_actor writer) {
  // Waits for what was admitted until now, not for what comes later.
  auto target = policy().mark();
  if (policy().drained(target)) {
    caf::anon_send(writer, write_done_atom::value);
  } else {
    drain_target_ = target;
    drain_waiter_ = caf::actor_cast<caf::actor>(writer);
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

std::shared_ptr<fake_transport>
make_fake_transport(std::shared_ptr<fake_socket> socket,
                    std::shared_ptr<const connection_settings> settings) {
  auto result = std::make_shared<fake_transport>(socket, std::move(settings));
  socket->transport_ = result;
  return result;
}

} // namespace switchboard::testing
