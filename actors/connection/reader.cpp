#include "connection/connection.hpp"

#include "protocol.hpp"

#include <algorithm>

namespace switchboard {

namespace {

std::int64_t ticks(caf::actor_clock::time_point t) {
  return t.time_since_epoch().count();
}

// Hands a command to the hub. The read credit comes back only once the hub
// has handled it, so a client that publishes faster than the hub can fan
// out is held back by TCP instead of growing the hub's mailbox.
template <class Command>
void to_hub(reader_pointer self, Command cmd) {
  ++self->state.outstanding;
  self->request(self->state.hub, caf::infinite, std::move(cmd)).then([self] {
    auto& st = self->state;
    if (--st.outstanding == 0)
      st.caught_up = self->clock().now();
    st.transport->consumed();
  });
}

// -- rate limit ---------------------------------------------------------------------

// Token bucket: `client_rate` tokens a second, at most `client_burst` saved.
bool take_token(reader_pointer self) {
  auto& st = self->state;
  auto& s = *st.settings;
  if (s.client_rate <= 0)
    return true;
  auto now = self->clock().now();
  std::chrono::duration<double> elapsed = now - st.refilled;
  st.refilled = now;
  st.tokens = std::min(static_cast<double>(s.client_burst),
                       st.tokens + elapsed.count() * s.client_rate);
  // A full bucket means the client stayed under the rate long enough to
  // earn its whole burst back: whatever it did before is forgiven.
  if (st.tokens >= static_cast<double>(s.client_burst))
    st.refused_since.reset();
  if (st.tokens < 1)
    return false;
  st.tokens -= 1;
  return true;
}

// Refuses a command for the rate, or ends a client that has been over it for
// longer than the grace: refused now, and refused before without earning its
// whole burst back since (a client far over the rate gets a command through
// now and then, and is still abusing).
void refuse_for_rate(reader_pointer self, const request_id& id) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.refused_since)
    st.refused_since = now;
  else if (now - *st.refused_since >= st.settings->client_rate_grace) {
    self->quit(make_error(exit_code::rate_limited));
    return;
  }
  auto err = protocol::reject("rate_limited", "too many commands, slow down", id);
  err.counted_as = "rate_limited";
  to_hub(self, std::move(err));
}

request_id id_of(const protocol::command& cmd) {
  return std::visit(
    [](const auto& x) -> request_id {
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, client_error>)
        return {};
      else
        return x.id;
    },
    cmd);
}

// -- inbound ------------------------------------------------------------------------

void on_text(reader_pointer self, std::string& text) {
  auto& st = self->state;
  st.last_activity = self->clock().now();
  auto cmd = protocol::parse(text);
  if (!take_token(self)) {
    refuse_for_rate(self, id_of(cmd));
    return;
  }
  std::visit([self](auto& x) { to_hub(self, std::move(x)); }, cmd);
}

void on_binary(reader_pointer self) {
  auto& st = self->state;
  st.last_activity = self->clock().now();
  if (!take_token(self)) {
    refuse_for_rate(self, {});
    return;
  }
  to_hub(self, protocol::reject("bad_request", "binary frames are not supported"));
}

// -- heartbeat ----------------------------------------------------------------------

void on_tick(reader_pointer self) {
  auto& st = self->state;
  self->send(st.writer, probe_atom::value);
  self->delayed_send(self, st.settings->pong_timeout, deadline_atom::value,
                     ticks(self->clock().now()));
  self->delayed_send(self, st.settings->ping_interval, heartbeat_atom::value);
}

void on_deadline(reader_pointer self, std::int64_t ping_sent) {
  auto& st = self->state;
  // Anything at all since the ping (a pong, a data frame) proves liveness.
  if (ticks(st.last_activity) >= ping_sent)
    return;
  // While commands wait on the hub the transport may have stopped reading,
  // so the pong may sit unread in the socket: the node is behind, not the
  // client. Judge again once the hub caught up, giving the client a whole
  // pong-timeout of reading from then on.
  auto now = self->clock().now();
  if (st.outstanding > 0) {
    self->delayed_send(self, st.settings->pong_timeout, deadline_atom::value, ping_sent);
    return;
  }
  if (ticks(st.caught_up) > ping_sent && now - st.caught_up < st.settings->pong_timeout) {
    self->delayed_send(self, st.caught_up + st.settings->pong_timeout - now,
                       deadline_atom::value, ping_sent);
    return;
  }
  self->quit(make_error(exit_code::heartbeat_timeout));
}

} // namespace

reader_actor::behavior_type reader(reader_pointer self, hub_internal_actor hub,
                                   writer_actor writer, transport_ptr transport,
                                   settings_ptr settings, std::string user,
                                   topic_filter allowed) {
  auto& st = self->state;
  st.hub = std::move(hub);
  st.writer = std::move(writer);
  st.transport = std::move(transport);
  st.settings = std::move(settings);
  st.last_activity = st.caught_up = st.refilled = self->clock().now();
  st.tokens = static_cast<double>(st.settings->client_burst);
  self->link_to(st.writer);
  // The reader joins the pair to the hub itself: a hub that is gone (or
  // goes before it answers) takes the pair down instead of leaving it
  // unrouted.
  self->request(st.hub, caf::infinite, enroll_atom::value, reader_actor{self}, st.writer,
                st.transport, std::move(user), std::move(allowed))
    .then([] {}, [self](caf::error&) { self->quit(make_error(exit_code::hub_down)); });
  self->delayed_send(self, st.settings->ping_interval, heartbeat_atom::value);
  return {
    [self](std::string& text) { on_text(self, text); },
    [self](binary_atom) { on_binary(self); },
    [self](alive_atom) { self->state.last_activity = self->clock().now(); },
    [self](heartbeat_atom) { on_tick(self); },
    [self](deadline_atom, std::int64_t sent) { on_deadline(self, sent); },
    [self](closed_atom, std::uint8_t code) {
      self->quit(make_error(static_cast<exit_code>(code)));
    },
  };
}

connection_actors spawn_connection(caf::actor_system& sys, const hub_internal_actor& hub,
                                   transport_ptr transport,
                                   settings_ptr settings, std::string user,
                                   topic_filter allowed) {
  auto w = sys.spawn(writer, transport, settings);
  auto r = sys.spawn(reader, hub, w, std::move(transport), std::move(settings),
                     std::move(user), std::move(allowed));
  return {r, w};
}

} // namespace switchboard
