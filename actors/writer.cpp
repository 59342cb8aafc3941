#include "connection.hpp"

#include <algorithm>

namespace switchboard {

namespace {

// The exit reason a farewell stands for.
caf::error reason_of(const farewell& how) {
  if (how.reason == exit_code::disconnected)
    return make_disconnect(how.code, how.text);
  return make_error(how.reason);
}

// Hands everything queued to the transport in one write: the network layer
// turns it into as few syscalls as it can (see net/cork_stream.hpp).
void start_write(writer_pointer self) {
  auto& st = self->state;
  // Called only when no write is outstanding: every frame counted is queued.
  st.busy = true;
  st.flight_frames = st.frames;
  st.flight_bytes = st.bytes;
  st.transport->write(std::exchange(st.queue, {}), self);
}

void on_frames(writer_pointer self, frame_batch& batch) {
  auto& st = self->state;
  std::size_t bytes = 0;
  for (auto& f : batch)
    bytes += f->size();
  // The hub never waits on a writer: a client that does not keep up is cut
  // off instead of growing its queue without bound.
  if (st.frames + batch.size() > st.settings.send_queue_frames
      || st.bytes + bytes > st.settings.send_buffer_bytes) {
    self->quit(make_error(exit_code::slow_consumer));
    return;
  }
  st.frames += batch.size();
  st.bytes += bytes;
  if (st.queue.empty())
    st.queue = std::move(batch);
  else
    st.queue.insert(st.queue.end(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
  if (!st.busy)
    start_write(self);
}

void on_write_done(writer_pointer self) {
  auto& st = self->state;
  st.busy = false;
  st.frames -= st.flight_frames;
  st.bytes -= st.flight_bytes;
  if (st.closing) {
    st.closing_left -= std::min(st.closing_left, st.flight_frames);
    if (st.closing_left == 0) {
      self->quit(reason_of(*st.closing));
      return;
    }
  }
  if (!st.queue.empty())
    start_write(self);
}

void on_farewell(writer_pointer self, farewell& how) {
  auto& st = self->state;
  if (st.closing)
    return;
  if (st.frames == 0) {
    self->quit(reason_of(how));
    return;
  }
  // Flush what was queued before it, for at most shutdown-timeout.
  st.closing = std::move(how);
  st.closing_left = st.frames;
  self->delayed_send(self, st.settings.shutdown_timeout, give_up_atom::value);
}

} // namespace

writer_actor::behavior_type writer(writer_pointer self, transport_ptr transport,
                                   connection_settings settings) {
  self->state.transport = transport;
  self->state.settings = settings;
  self->attach_functor([transport](const caf::error& reason) {
    transport->close(farewell_of(reason));
  });
  return {
    [self](frames_atom, frame_batch& batch) { on_frames(self, batch); },
    [self](write_done_atom) { on_write_done(self); },
    [self](closed_atom, std::uint8_t code) {
      self->quit(make_error(static_cast<exit_code>(code)));
    },
    [self](probe_atom) { self->state.transport->ping(); },
    [self](farewell& how) { on_farewell(self, how); },
    [self](give_up_atom) { self->quit(reason_of(*self->state.closing)); },
  };
}

} // namespace switchboard
