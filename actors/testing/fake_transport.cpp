#include "testing/fake_transport.hpp"

#include "connection/connection.hpp"

namespace switchboard::testing {

fake_transport::fake_transport(std::shared_ptr<fake_socket> socket,
                               std::shared_ptr<const connection_settings> settings)
  : transport(send_policy_), socket_(std::move(socket)), send_policy_(send_bound(*settings)) {
}

detail::socket_peer& detail::socket_peer::of(fake_socket& socket) {
  if (!socket.peer_)
    socket.peer_ = std::make_shared<socket_peer>();
  return *socket.peer_;
}

void detail::socket_peer::left_queue(std::vector<fake_socket::frame>::const_iterator begin,
                                     std::vector<fake_socket::frame>::const_iterator end) {
  std::size_t bytes = 0;
  for (auto i = begin; i != end; ++i)
    bytes += (*i)->size();
  if (auto t = transport.lock())
    t->left_queue(static_cast<std::size_t>(end - begin), bytes);
}

void fake_transport::writer(caf::actor w) {
  detail::socket_peer::of(*socket_).writer = std::move(w);
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
  detail::socket_peer::of(*socket).transport = result;
  return result;
}

} // namespace switchboard::testing
