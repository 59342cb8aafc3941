#include "connection.hpp"

namespace switchboard {

namespace {

// The exit reason a farewell stands for.
caf::error reason_of(const farewell& how) {
  if (how.reason == exit_code::disconnected)
    return make_disconnect(how.code, how.text);
  return make_error(how.reason);
}

void on_frames(writer_pointer self, frame_batch& batch) {
  auto& st = self->state;
  // Once closing, what comes after the farewell is not waited for: the
  // client is about to be closed.
  if (st.closing)
    return;
  std::size_t bytes = 0;
  for (auto& f : batch)
    bytes += f->size();
  // The hub never waits on a writer: a client that does not keep up is cut
  // off instead of growing its queue without bound. The bound covers what
  // the transport has not written yet (queued and in flight).
  auto q = st.transport->queued();
  if (q.frames + batch.size() > st.settings->send_queue_frames
      || q.bytes + bytes > st.settings->send_buffer_bytes) {
    self->quit(make_error(exit_code::slow_consumer));
    return;
  }
  st.transport->send(std::move(batch), bytes);
}

void on_farewell(writer_pointer self, farewell& how) {
  auto& st = self->state;
  if (st.closing)
    return;
  if (st.transport->queued().frames == 0) {
    self->quit(reason_of(how));
    return;
  }
  // Flush what was queued before it, for at most shutdown-timeout.
  st.closing = std::move(how);
  st.transport->notify_when_drained(self);
  self->delayed_send(self, st.settings->shutdown_timeout, give_up_atom::value);
}

} // namespace

writer_actor::behavior_type writer(writer_pointer self, transport_ptr transport,
                                   settings_ptr settings) {
  self->state.transport = transport;
  self->state.settings = std::move(settings);
  self->attach_functor([transport](const caf::error& reason) {
    transport->close(farewell_of(reason));
  });
  return {
    [self](frames_atom, frame_batch& batch) { on_frames(self, batch); },
    [self](write_done_atom) {
      if (self->state.closing)
        self->quit(reason_of(*self->state.closing));
    },
    [self](closed_atom, std::uint8_t code) {
      self->quit(make_error(static_cast<exit_code>(code)));
    },
    [self](probe_atom) { self->state.transport->ping(); },
    [self](farewell& how) { on_farewell(self, how); },
    [self](give_up_atom) { self->quit(reason_of(*self->state.closing)); },
  };
}

} // namespace switchboard
