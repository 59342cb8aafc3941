// Topic histories in the hub (docs/protocol.md v1.1): every publish on a
// topic with history is numbered and stored; a subscribe answers the
// history's position, and with `since` recovers what was missed; the
// `history` command and the server API read and drop histories.
//
// No gap, no duplicate between a replay and live delivery: the hub is one
// actor and handles one message at a time. A recovering subscribe adds the
// subscription, reads the store and enqueues the reply and the replay in
// one handler, so every publish the hub handles is either before it (then
// it is in the store, numbered at most TOP, and the connection was not yet
// a subscriber: it reaches the client through the replay, if after `since`)
// or after it (numbered above TOP, and delivered live, behind the replay in
// the connection's queue). Nothing can come between the two. This holds for
// any order of the hub's mailbox (hub_history_test.cpp tries them all), and
// a subscribe that waited for an authorizer runs the same way when the
// answer arrives. A shared, asynchronous store must keep it (see
// docs/architecture.md, History).

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <algorithm>
#include <chrono>

namespace switchboard {

namespace {

// How often the hub drops what outlived its TTL (readers trim exactly, so
// this only bounds how long expired messages hold memory).
constexpr auto expiry_period = std::chrono::seconds(1);

// The expiry round runs while the store holds anything.
void arm_expiry(hub_pointer self) {
  auto& st = self->state;
  if (st.expiry_armed || st.async || st.history->totals().topics == 0)
    return;
  st.expiry_armed = true;
  self->delayed_send(self, expiry_period, expire_atom::value);
}

// What one message of a replay or a history reply adds to the connection's
// queue, about (its data, the topic and the envelope).
std::size_t replay_bytes(const std::string& quoted, const history_message& m) {
  return m.data.size() + quoted.size() + 64;
}

} // namespace

std::size_t replay_bytes(const std::string& quoted, const std::vector<history_message>& ms) {
  std::size_t n = 0;
  for (auto& m : ms)
    n += replay_bytes(quoted, m);
  return n;
}

// What the connection's queue may still take from a replay or a history
// reply: the budget (at most half of the writer's bound, so that live
// messages behind it still fit), less what is queued already.
std::size_t replay_room(hub_pointer self, const hub_connection& conn) {
  auto queued = conn.out.queued().bytes + conn.pending_bytes;
  auto budget = std::min(self->state.settings.replay_max_bytes, conn.out.bound().bytes / 2);
  return queued < budget ? budget - queued : 0;
}

// A recovery whose replay would not fit the budget answers recovered:false
// (the client reloads), never a replay the writer would have to refuse.
bool fits(hub_pointer self, const hub_connection& conn, const hub_topic& t,
          const history_result& r) {
  return replay_bytes(t.quoted, r.messages) <= replay_room(self, conn);
}

// Cuts a history reply down to what fits the budget: the oldest messages
// after `since` (the client pages on from the last one), or else the
// newest. Returns whether it cut anything.
bool trim_to_room(std::vector<history_message>& ms, const std::string& quoted,
                  std::size_t room, bool keep_oldest) {
  std::size_t n = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    auto& m = keep_oldest ? ms[i] : ms[ms.size() - 1 - i];
    n += replay_bytes(quoted, m);
    if (n > room)
      break;
    ++kept;
  }
  if (kept == ms.size())
    return false;
  auto drop = static_cast<std::ptrdiff_t>(ms.size() - kept);
  if (keep_oldest)
    ms.erase(ms.end() - drop, ms.end());
  else
    ms.erase(ms.begin(), ms.begin() + drop);
  return true;
}

namespace {

void refuse_not_enabled(hub_pointer self, hub_connection& conn, const request_id& id) {
  enqueue(self, conn,
          share(protocol::error("not_enabled", "this topic has no history", id)));
}

} // namespace

void init_history(hub_pointer self) {
  auto& st = self->state;
  st.history_off = st.settings.topic_defaults.history_size == 0
                   && std::all_of(st.settings.namespaces.begin(),
                                  st.settings.namespaces.end(),
                                  [](auto& kvp) { return kvp.second.history_size == 0; });
  // A history outlives its messages while its topic is in use, so that its
  // offsets go on.
  st.history = std::make_unique<memory_history>(
    st.settings.history_max_bytes,
    [self](const std::string& topic) { return self->state.topics.find(topic) != nullptr; });
  if (!st.settings.history_store)
    return;
  // A shared store: the hub keeps only the reorder buffers of the topics it
  // has (hub_history_async.cpp), and forgets those it no longer has.
  st.async = std::make_unique<async_history>();
  st.topics.on_change = [self](const std::string& topic, bool on) {
    auto& a = *self->state.async;
    if (!on && a.topics.count(topic) != 0) {
      a.unused.insert(topic);
      history_tick_soon(self);
    }
  };
}

stream_position append_history(hub_pointer self, const std::string& topic,
                               const std::string& data) {
  auto& st = self->state;
  // (With a shared store only the store numbers: hub_history_async.cpp.)
  if (st.history_off || st.async)
    return {};
  auto& opts = st.settings.options_for(topic);
  if (opts.history_size == 0)
    return {};
  auto pos = st.history->append(topic, data, limits_of(opts), self->clock().now());
  arm_expiry(self);
  return pos;
}

void reply_subscribed(hub_pointer self, hub_connection& conn, const hub_topic& t,
                      const client_subscribe& cmd) {
  auto& st = self->state;
  auto& opts = st.settings.options_for(cmd.topic);
  if (opts.history_size == 0) {
    enqueue(self, conn, share(protocol::subscribed(t.quoted, cmd.id)));
    return;
  }
  auto now = self->clock().now();
  if (!cmd.recover) {
    auto top = st.history->top(cmd.topic, limits_of(opts), now);
    enqueue(self, conn, share(protocol::subscribed(t.quoted, top, 0, cmd.id)));
    arm_expiry(self);
    return;
  }
  auto r = st.history->recover(cmd.topic, cmd.since, st.settings.recovery_max,
                               limits_of(opts), now);
  if (r.recovered && !fits(self, conn, t, r)) {
    r.recovered = false;
    r.messages.clear();
  }
  ++(r.recovered ? st.stats.recovered : st.stats.not_recovered);
  enqueue(self, conn, share(protocol::subscribed(t.quoted, r.top, r.recovered ? 2 : 1, cmd.id)));
  if (!r.messages.empty()) {
    // One buffer, one place in the queue (docs/protocol.md: the frames are
    // ordinary message frames); counted as the messages it holds.
    enqueue(self, conn, protocol::replay_frames(t.quoted, r.messages));
    st.stats.messages_out += r.messages.size() - 1;
  }
  arm_expiry(self);
}

void history_command(hub_pointer self, hub_connection& conn, const client_history& cmd) {
  auto& st = self->state;
  auto& opts = st.settings.options_for(cmd.topic);
  if (opts.history_size == 0) {
    refuse_not_enabled(self, conn, cmd.id);
    return;
  }
  std::optional<stream_position> since;
  if (cmd.has_since)
    since = cmd.since;
  auto limit = static_cast<std::size_t>(
    std::min<std::uint64_t>(cmd.limit, st.settings.recovery_max));
  auto r = st.history->read(cmd.topic, limit, since, limits_of(opts), self->clock().now());
  // A reply the connection's queue cannot take would cut the client off as
  // a slow consumer for asking: it gets what fits, marked truncated.
  auto quoted = protocol::quote(cmd.topic);
  auto truncated = trim_to_room(r.messages, quoted, replay_room(self, conn), cmd.has_since);
  enqueue(self, conn, share(protocol::history(quoted, r.top, r.messages, cmd.id, truncated)));
}

void expire_history(hub_pointer self) {
  auto& st = self->state;
  if (st.async) {
    history_tick(self);
    return;
  }
  st.expiry_armed = false;
  st.history->expire(self->clock().now());
  arm_expiry(self);
}

void add_history_stats(hub_pointer self, hub_stats& out) {
  auto totals = self->state.async ? stored_totals(self) : self->state.history->totals();
  out.history_topics = totals.topics;
  out.history_messages = totals.messages;
  out.history_bytes = totals.bytes;
  out.history_evicted = totals.evicted;
}

// -- the typed API -----------------------------------------------------------------------

caf::result<publish_result> publish_numbered_request(hub_pointer self,
                                                     const publish_numbered& cmd) {
  if (auto err = publish_refusal(self->state, cmd.topic, cmd.data))
    return err;
  if (stores_async(self->state, cmd.topic))
    return publish_numbered_stored(self, cmd);
  publish_result result;
  stream_position pos;
  result.receivers = publish_on(self, cmd.topic, cmd.data, 0, &pos);
  result.offset = pos.offset;
  result.epoch = std::move(pos.epoch);
  return result;
}

caf::result<history_page> history_request(hub_pointer self, const query_history& q) {
  auto& st = self->state;
  if (!protocol::valid_topic(q.topic))
    return make_error(hub_errc::invalid_topic);
  auto& opts = st.settings.options_for(q.topic);
  if (opts.history_size == 0)
    return make_error(hub_errc::not_enabled);
  if (st.async)
    return history_request_stored(self, q);
  std::optional<stream_position> since;
  if (q.since)
    since = *q.since;
  auto limit = std::min<std::size_t>(q.limit, st.settings.recovery_max);
  auto r = st.history->read(q.topic, limit, since, limits_of(opts), self->clock().now());
  return history_page{q.topic, std::move(r.top.epoch), r.top.offset, std::move(r.messages)};
}

caf::result<stream_position> remove_history_request(hub_pointer self,
                                                    const remove_history& cmd) {
  auto& st = self->state;
  if (!protocol::valid_topic(cmd.topic))
    return make_error(hub_errc::invalid_topic);
  auto& opts = st.settings.options_for(cmd.topic);
  if (opts.history_size == 0)
    return make_error(hub_errc::not_enabled);
  if (st.async)
    return remove_history_stored(self, cmd);
  auto pos = st.history->remove(cmd.topic, limits_of(opts), self->clock().now());
  arm_expiry(self);
  return pos;
}

} // namespace switchboard
