#include "connection/connection.hpp"

namespace switchboard {

namespace {

// The exit reason a farewell stands for.
caf::error reason_of(const farewell& how) {
  if (how.reason == exit_code::disconnected)
    return make_disconnect(how.code, how.text);
  if (how.reason == exit_code::shutdown && how.code != 0)
    return make_shutdown(how.code, how.text); // a restart's 1012
  return make_error(how.reason);
}

void on_farewell(writer_pointer self, farewell& how) {
  auto& st = self->state;
  if (st.closing)
    return;
  if (st.transport->policy().queued().frames == 0) {
    self->quit(reason_of(how));
    return;
  }
  // Flush what was handed over before it, for at most shutdown-timeout.
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
    // The policy refused a batch the hub handed through this writer's
    // outbound handle (it would have passed the bound): a client that does
    // not keep up is cut off instead of growing its queue, and the hub
    // never waits on it. (Once closing, the farewell's reason stands:
    // give_up bounds the wait.)
    [self](over_bound_atom) {
      if (!self->state.closing)
        self->quit(make_error(exit_code::slow_consumer));
    },
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
