#include "switchboard/connection.hpp"

#include "switchboard/protocol.hpp"

namespace switchboard {

namespace {

using reader_pointer = caf::stateful_actor<reader_state>*;

std::int64_t ticks(caf::actor_clock::time_point t) {
  return t.time_since_epoch().count();
}

// Hands a command to the hub. The read credit comes back only once the hub
// has handled it, so a client that publishes faster than the hub can fan
// out is held back by TCP instead of growing the hub's mailbox.
template <class Command>
void to_hub(reader_pointer self, Command cmd) {
  auto transport = self->state.transport;
  self->request(self->state.hub, caf::infinite, std::move(cmd))
    .then([transport] { transport->consumed(); });
}

void on_text(reader_pointer self, std::string& text) {
  self->state.last_activity = self->clock().now();
  auto cmd = protocol::parse(text);
  std::visit([self](auto& x) { to_hub(self, std::move(x)); }, cmd);
}

void on_tick(reader_pointer self) {
  auto& st = self->state;
  self->send(st.writer, ping_atom::value);
  self->delayed_send(self, st.settings.pong_timeout, deadline_atom::value,
                     ticks(self->clock().now()));
  self->delayed_send(self, st.settings.ping_interval, tick_atom::value);
}

void on_deadline(reader_pointer self, std::int64_t ping_sent) {
  // Anything at all since the ping (a pong, a data frame) proves liveness.
  if (ticks(self->state.last_activity) < ping_sent)
    self->quit(make_error(exit_code::heartbeat_timeout));
}

} // namespace

caf::behavior reader(caf::stateful_actor<reader_state>* self, hub_actor hub,
                     caf::actor writer, transport_ptr transport,
                     connection_settings settings) {
  auto& st = self->state;
  st.hub = std::move(hub);
  st.writer = std::move(writer);
  st.transport = std::move(transport);
  st.settings = settings;
  st.last_activity = self->clock().now();
  self->link_to(st.writer);
  self->delayed_send(self, settings.ping_interval, tick_atom::value);
  return {
    [self](std::string& text) { on_text(self, text); },
    [self](binary_atom) {
      self->state.last_activity = self->clock().now();
      to_hub(self, protocol::reject("bad_request", "binary frames are not supported"));
    },
    [self](pong_atom) { self->state.last_activity = self->clock().now(); },
    [self](tick_atom) { on_tick(self); },
    [self](deadline_atom, std::int64_t sent) { on_deadline(self, sent); },
    [self](closed_atom, std::uint8_t code) {
      self->quit(make_error(static_cast<exit_code>(code)));
    },
  };
}

connection_actors spawn_connection(caf::actor_system& sys, const hub_actor& hub,
                                   transport_ptr transport,
                                   const connection_settings& settings) {
  auto w = sys.spawn(writer, transport, settings);
  auto r = sys.spawn(reader, hub, w, std::move(transport), settings);
  caf::anon_send(hub, join_atom::value, r, w);
  return {r, w};
}

} // namespace switchboard
