#include "connection/connection.hpp"

#include "protocol.hpp"

#include <algorithm>
#include <chrono>

namespace switchboard {

namespace {

std::int64_t ticks(caf::actor_clock::time_point t) {
  return t.time_since_epoch().count();
}

// -- to the hub ---------------------------------------------------------------------

// The hub has handled one command: its read credit goes back, so the
// transport may read another message.
void handled(reader_pointer self) {
  auto& st = self->state;
  if (--st.outstanding == 0 && st.held.empty())
    st.caught_up = self->clock().now();
  st.transport->consumed();
}

// Hands a command to the hub. The read credit comes back only once the hub
// has handled it, so a client that publishes faster than the hub can fan
// out is held back by TCP instead of growing the hub's mailbox.
template <class Command>
void to_hub(reader_pointer self, Command cmd) {
  ++self->state.outstanding;
  self->request(self->state.hub, caf::infinite, std::move(cmd)).then([self] { handled(self); });
}

void set_expiry(reader_pointer self, const caf::optional<caf::timestamp>& expires);
void check_expiry(reader_pointer self);

// A refresh's answer may move the credentials' deadline.
void to_hub(reader_pointer self, client_refresh cmd) {
  auto& st = self->state;
  ++st.outstanding;
  ++st.refreshing;
  auto answered = [self](const refresh_result& result) {
    --self->state.refreshing;
    if (result.refreshed)
      set_expiry(self, result.expires);
    handled(self);
    check_expiry(self);
  };
  self->request(st.hub, caf::infinite, std::move(cmd))
    .then([answered](refresh_result& result) { answered(result); },
          [answered](caf::error&) { answered(refresh_result{}); });
}

// Parses a message the bucket had a token for and hands it on.
void handle(reader_pointer self, held_message& msg) {
  if (msg.binary) {
    to_hub(self, protocol::reject("bad_request", "binary frames are not supported"));
    return;
  }
  auto cmd = protocol::parse(msg.text);
  std::visit([self](auto& x) { to_hub(self, std::move(x)); }, cmd);
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
    st.limited_since.reset();
  if (st.tokens < 1)
    return false;
  st.tokens -= 1;
  return true;
}

// Tells the hub how many messages waited for the rate since it last heard
// (its rejections count them): one message per refill, not per command.
void report_held(reader_pointer self) {
  auto& st = self->state;
  if (st.held_unreported > 0)
    self->send(st.hub, throttled_atom::value, std::exchange(st.held_unreported, 0));
}

// Over the rate for longer than the grace: held back since then without
// earning its whole burst back (a client far over the rate gets a command
// through now and then, and is still abusing).
bool past_grace(reader_pointer self) {
  auto& st = self->state;
  return st.limited_since
         && self->clock().now() - *st.limited_since >= st.settings->client_rate_grace;
}

void quit_for_rate(reader_pointer self) {
  report_held(self);
  self->quit(make_error(exit_code::rate_limited));
}

void schedule_refill(reader_pointer self) {
  auto& st = self->state;
  if (st.refill_pending)
    return;
  st.refill_pending = true;
  // Until the bucket holds a whole token, rounded up: never early. (At most
  // a day: a tiny rate must not overflow the clock; the refill looks again.)
  std::chrono::duration<double> wait{
    std::min((1.0 - st.tokens) / st.settings->client_rate, 86400.0)};
  self->delayed_send(self, std::chrono::ceil<caf::timespan>(wait), refill_atom::value);
}

// Keeps `msg` unparsed, and its read credit with it, until the bucket has a
// token: the transport stops reading once its credit is out, so the client
// waits in TCP and its messages cost nothing meanwhile.
void hold(reader_pointer self, held_message msg) {
  auto& st = self->state;
  if (!st.limited_since)
    st.limited_since = self->clock().now();
  if (past_grace(self)) {
    quit_for_rate(self);
    return;
  }
  st.held.push_back(std::move(msg));
  ++st.held_unreported;
  schedule_refill(self);
}

void on_refill(reader_pointer self) {
  auto& st = self->state;
  st.refill_pending = false;
  // Held back since the grace began: cut off, without parsing another.
  if (past_grace(self)) {
    quit_for_rate(self);
    return;
  }
  while (!st.held.empty() && take_token(self)) {
    auto msg = std::move(st.held.front());
    st.held.pop_front();
    handle(self, msg);
  }
  report_held(self);
  if (!st.held.empty())
    schedule_refill(self);
}

// -- inbound ------------------------------------------------------------------------

void on_inbound(reader_pointer self, held_message msg) {
  auto& st = self->state;
  st.last_activity = self->clock().now();
  // The token comes first: nothing is parsed (or answered) beyond the rate.
  // Behind held messages a message waits its turn, tokens or not.
  if (!st.held.empty() || !take_token(self)) {
    hold(self, std::move(msg));
    return;
  }
  handle(self, msg);
}

// -- credentials --------------------------------------------------------------------

// `expires` is wall-clock time (an authenticator's verdict); the timer runs
// on the actor clock (virtual in tests). Wall-clock "now" is reckoned from
// the reader's start on the actor clock, so a step of the system clock
// meanwhile does not move the deadline.
void set_expiry(reader_pointer self, const caf::optional<caf::timestamp>& expires) {
  auto& st = self->state;
  if (!expires) {
    st.expires.reset();
    return;
  }
  auto now = self->clock().now();
  auto wall_now = st.started_wall + std::chrono::duration_cast<caf::timespan>(now - st.started);
  auto left = std::max(caf::timespan{0}, *expires - wall_now);
  st.expires = now + left;
  // A timer of an earlier deadline that a refresh moved finds it in the
  // future and does nothing.
  if (left > caf::timespan{0})
    self->delayed_send(self, left, expire_atom::value);
  else
    self->send(self, expire_atom::value);
}

void check_expiry(reader_pointer self) {
  auto& st = self->state;
  // A refresh still with the hub was sent before the deadline: its answer
  // decides (the authenticator's timeout bounds the wait).
  if (!st.expires || self->clock().now() < *st.expires || st.refreshing > 0)
    return;
  self->quit(make_error(exit_code::token_expired));
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
  // While commands wait on the hub (or for the rate) the transport may have
  // stopped reading, so the pong may sit unread in the socket: the client
  // is not judged by it. Judge again once caught up, giving the client a
  // whole pong-timeout of reading from then on.
  auto now = self->clock().now();
  if (st.outstanding > 0 || !st.held.empty()) {
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
                                   topic_filter allowed,
                                   caf::optional<caf::timestamp> expires) {
  auto& st = self->state;
  st.hub = std::move(hub);
  st.writer = std::move(writer);
  st.transport = std::move(transport);
  st.settings = std::move(settings);
  st.last_activity = st.caught_up = st.refilled = st.started = self->clock().now();
  st.started_wall = caf::make_timestamp();
  st.tokens = static_cast<double>(st.settings->client_burst);
  self->link_to(st.writer);
  // The reader joins the pair to the hub itself: a hub that is gone (or
  // goes before it answers) takes the pair down instead of leaving it
  // unrouted.
  self->request(st.hub, caf::infinite, enroll_atom::value, reader_actor{self}, st.writer,
                st.transport, std::move(user), std::move(allowed))
    .then([] {}, [self](caf::error&) { self->quit(make_error(exit_code::hub_down)); });
  self->delayed_send(self, st.settings->ping_interval, heartbeat_atom::value);
  set_expiry(self, expires);
  return {
    [self](std::string& text) { on_inbound(self, {std::move(text), false}); },
    [self](binary_atom) { on_inbound(self, {{}, true}); },
    [self](alive_atom) { self->state.last_activity = self->clock().now(); },
    [self](heartbeat_atom) { on_tick(self); },
    [self](deadline_atom, std::int64_t sent) { on_deadline(self, sent); },
    [self](closed_atom, std::uint8_t code) {
      self->quit(make_error(static_cast<exit_code>(code)));
    },
    [self](refill_atom) { on_refill(self); },
    [self](expire_atom) { check_expiry(self); },
  };
}

connection_actors spawn_connection(caf::actor_system& sys, const hub_internal_actor& hub,
                                   transport_ptr transport,
                                   settings_ptr settings, std::string user,
                                   topic_filter allowed,
                                   caf::optional<caf::timestamp> expires) {
  auto w = sys.spawn(writer, transport, settings);
  auto r = sys.spawn(reader, hub, w, std::move(transport), std::move(settings),
                     std::move(user), std::move(allowed), std::move(expires));
  return {r, w};
}

} // namespace switchboard
