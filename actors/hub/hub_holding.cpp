// Frames held back for congested sockets. A delivery from another node
// holds up to hundreds of publishes that a local publisher would have sent
// one by one, paced by its own reads. Handed over at once they could pass a
// healthy client's bound before its I/O thread wrote any (slow_consumer for
// nobody's fault). So while the hub hands such a delivery out, a
// connection whose socket is congested (half its bound queued) gets
// nothing more: its frames wait in its pending batch, in order (whatever
// comes for it later waits behind them), and only that connection waits:
// every other one is served as usual.
//
// Every millisecond the hub looks again. A socket that caught up gets the
// held frames in slices of max_batch while it stays uncongested. One that
// is still congested after max_waits looks in a row, or holding more than
// max_held frames, gets all of them at once, and its writer's policy
// decides: a client that really does not read is cut off as a slow
// consumer. The hub itself never waits.

#include "hub/hub_state.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>

namespace switchboard {

namespace {

constexpr std::uint8_t max_waits = 20;
constexpr std::size_t max_held = 64 * 1024;
constexpr auto recheck_interval = std::chrono::milliseconds(1);

void schedule_recheck(hub_pointer self) {
  auto& st = self->state;
  if (st.resume_due || st.holding.empty())
    return;
  st.resume_due = true;
  self->delayed_send(self, recheck_interval, cluster_resume_atom::value);
}

void unhold(hub_state& st, hub_connection& conn) {
  conn.holding = false;
  auto i = std::find(st.holding.begin(), st.holding.end(), &conn);
  *i = st.holding.back();
  st.holding.pop_back();
}

// Hands over what `conn` holds: everything (`all`), or slices while its
// socket is not congested. Returns whether frames are left.
bool release(hub_connection& conn, bool all) {
  auto& held = conn.pending;
  if (all || held.size() <= max_batch) {
    if (all || !conn.out.congested())
      conn.out.send(std::exchange(held, {}), std::exchange(conn.pending_bytes, 0));
    return !held.empty();
  }
  std::size_t done = 0;
  while (done < held.size() && !conn.out.congested()) {
    auto first = held.begin() + static_cast<std::ptrdiff_t>(done);
    auto n = std::min(max_batch, held.size() - done);
    auto last = first + static_cast<std::ptrdiff_t>(n);
    std::size_t bytes = 0;
    for (auto i = first; i != last; ++i)
      bytes += (*i)->size();
    done += n;
    conn.pending_bytes -= bytes;
    frame_batch slice(std::make_move_iterator(first), std::make_move_iterator(last));
    if (!conn.out.send(std::move(slice), bytes)) {
      // Refused: the writer cuts the client off, nothing more goes out.
      done = held.size();
      conn.pending_bytes = 0;
    }
  }
  held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(done));
  return !held.empty();
}

} // namespace

void hold(hub_pointer self, hub_connection& conn) {
  conn.holding = true;
  conn.waits = 0;
  self->state.holding.push_back(&conn);
  schedule_recheck(self);
}

void hold_more(hub_pointer self, hub_connection& conn) {
  if (conn.pending.size() <= max_held)
    return;
  unhold(self->state, conn);
  release(conn, true);
}

void resume_held(hub_pointer self) {
  auto& st = self->state;
  st.resume_due = false;
  auto list = std::move(st.holding);
  st.holding.clear();
  for (auto conn : list) {
    // (A refused connection is being cut off: what it holds is dropped.)
    auto all = conn->out.refused();
    if (!all && conn->out.congested()) {
      if (++conn->waits < max_waits) {
        st.holding.push_back(conn);
        continue;
      }
      all = true;
    }
    conn->waits = 0;
    if (release(*conn, all))
      st.holding.push_back(conn); // congested again: progress all the same
    else
      conn->holding = false;
  }
  schedule_recheck(self);
}

void farewell_to(hub_pointer self, hub_connection& conn, farewell how) {
  // What was held for it came before the farewell: the writer flushes it.
  if (conn.holding) {
    unhold(self->state, conn);
    release(conn, true);
  }
  self->send(conn.writer, std::move(how));
}

void forget_held(hub_state& st, hub_connection& conn) {
  if (conn.holding)
    unhold(st, conn);
}

} // namespace switchboard
