// The hub's delivery: frames collect per connection until the hub drains
// (once its mailbox is worked through, or one coalescing window later while
// it is busy), then each connection's batch goes through its writer's
// outbound handle.

#include "hub/hub_state.hpp"

#include <utility>

namespace switchboard {

namespace {

// Hands the connection's batch through its writer's outbound handle: the
// writer's policy takes it or refuses it (then the writer cuts the client
// off, and the batch is dropped). While a delivery from another node is
// handed out, a congested socket gets nothing more: its frames are held
// back (hub_holding.cpp) and everybody else goes on.
void send_pending(hub_pointer self, hub_connection& conn) {
  if (conn.holding) {
    hold_more(self, conn);
    return;
  }
  if (self->state.remote_delivery && conn.out.congested() && !conn.out.refused()) {
    hold(self, conn);
    return;
  }
  auto bytes = std::exchange(conn.pending_bytes, 0);
  conn.out.send(std::exchange(conn.pending, {}), bytes);
}

// The next drain: once the mailbox is worked through, or, while the hub is
// busy (it drained within the last ten windows), one coalescing window from
// now, so that the frames of the publishes that arrive meanwhile go out in
// one write per connection (the kernel's cost is per write; a client that
// publishes as fast as its acks come keeps the hub in that state;
// docs/benchmarks.md, round three). After a quiet spell a delivery goes out
// at once.
void schedule_drain(hub_pointer self) {
  auto window = self->state.settings.delivery_coalesce;
  if (window.count() > 0) {
    auto now = self->clock().now();
    if (now < self->state.last_drain + 10 * window) {
      self->delayed_send(self, window, drain_atom::value);
      return;
    }
  }
  self->send(self, drain_atom::value);
}

} // namespace

void drain(hub_pointer self) {
  if (self->state.settings.delivery_coalesce.count() > 0)
    self->state.last_drain = self->clock().now();
  for (auto conn : self->state.dirty) {
    conn->dirty = false;
    if (!conn->pending.empty())
      send_pending(self, *conn);
  }
  self->state.dirty.clear();
}

// Frames for one connection are collected until the hub has worked through
// what is in its mailbox, then go out as one batch per writer (drain). This
// keeps the per-delivery cost at a vector push instead of a CAF message.
void enqueue(hub_pointer self, hub_connection& conn, frame_ptr frame) {
  auto& st = self->state;
  if (!conn.dirty) {
    conn.dirty = true;
    st.dirty.push_back(&conn);
    if (st.dirty.size() == 1)
      schedule_drain(self);
  }
  conn.pending_bytes += frame->size();
  conn.pending.push_back(std::move(frame));
  ++st.stats.messages_out;
  if (conn.pending.size() >= max_batch)
    send_pending(self, conn);
}

} // namespace switchboard
