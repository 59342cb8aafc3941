// Publishing through a shared, asynchronous history store
// (hub_settings::history_store; docs/architecture.md, "History").
//
// A publish on a topic with history is sent to the store (store_append);
// the hub frames and hands it out only once the store numbered it, and
// then in offset order per topic: the answers to a topic's appends, and
// the numbered messages other nodes forward (cluster_item::numbered_publish),
// arrive in any order, and each waits in its topic's sequence
// (hub_history_async.hpp) until every lower offset of its epoch was handed
// out. Every node thus hands a topic out in the store's order. Topics
// without history never wait and never touch the store.
//
// Bounds: at most history_store_max_in_flight appends are outstanding (past
// it a publish is refused as `unavailable` at once), every request has
// history_store_timeout, and a gap (a lower offset that does not come: its
// node died between append and forward) is filled from the store
// (store_read) after history_gap_timeout, or skipped when the store does
// not have it any more. A new epoch hands out what was held of the old one
// (in order, gaps skipped) and starts over at offset 1.

#include "hub/hub_state.hpp"

#include <algorithm>

namespace switchboard {

namespace {

using clock_type = caf::actor_clock;

void arm_tick(hub_pointer self) {
  auto& st = self->state;
  auto& a = *st.async;
  if (a.tick_armed || (a.gaps.empty() && a.unused.empty()))
    return;
  a.tick_armed = true;
  auto period = std::max<caf::timespan>(st.settings.history_gap_timeout / 2,
                                        std::chrono::milliseconds(1));
  self->delayed_send(self, period, expire_atom::value);
}

hub_topic* topic_of(hub_pointer self, const std::string& topic) {
  return self->state.topics.find(topic);
}

// Answered subscriptions the sequence has caught up with are live.
void caught_up(topic_sequence& seq) {
  for (auto i = seq.waiting.begin(); i != seq.waiting.end();)
    if (i->second.answered && i->second.floor <= seq.delivered)
      i = seq.waiting.erase(i);
    else
      ++i;
}

// Hands out the held messages that are next in order; notes a gap (and
// when it began) if some are left.
void release(hub_pointer self, topic_sequence& seq, const std::string& topic) {
  auto& st = self->state;
  auto& a = *st.async;
  if (!seq.known) {
    if (!seq.waiting.empty() || seq.held.empty())
      return; // a waiting subscription's reply says where the sequence stands
    // None waits any more (their answers failed): start at the lowest held.
    seq.known = true;
    seq.delivered = seq.held.begin()->first - 1;
  }
  auto t = topic_of(self, topic);
  auto advanced = false;
  while (!seq.held.empty() && seq.held.begin()->first == seq.delivered + 1) {
    auto node = seq.held.extract(seq.held.begin());
    seq.held_bytes -= node.mapped().data.size();
    seq.delivered = node.key();
    advanced = true;
    if (t != nullptr)
      fan_out(self, *t, node.mapped().data, node.mapped().from, node.key(), &seq);
    if (!seq.waiting.empty())
      caught_up(seq);
  }
  if (seq.held.empty()) {
    a.gaps.erase(topic);
    return;
  }
  if (advanced || a.gaps.count(topic) == 0) {
    seq.gap_since = self->clock().now();
    a.gaps.insert(topic);
    arm_tick(self);
  }
}

// What the store does not have any more is skipped: the messages after the
// gap go out.
void skip_gap(hub_pointer self, topic_sequence& seq, const std::string& topic) {
  if (seq.held.empty())
    return;
  seq.known = true;
  seq.delivered = seq.held.begin()->first - 1;
  release(self, seq, topic);
}

// Every held message goes out in order, gaps skipped (before an epoch
// change: nothing of the old epoch can be filled any more).
void flush_held(hub_pointer self, topic_sequence& seq, const std::string& topic) {
  while (!seq.held.empty())
    skip_gap(self, seq, topic);
}

// Whether `pos` is to be held (and handed out in turn); false: it came too
// late (handed out already, or of the epoch before).
bool admit(hub_pointer self, topic_sequence& seq, const std::string& topic,
           const stream_position& pos) {
  if (seq.epoch.empty()) {
    seq.epoch = pos.epoch;
    // Nobody here waits for a position from the store: this node's
    // receivers start with this message.
    if (seq.waiting.empty()) {
      seq.known = true;
      seq.delivered = pos.offset - 1;
    }
    return true;
  }
  if (pos.epoch == seq.epoch)
    return !seq.known || pos.offset > seq.delivered;
  if (pos.epoch == seq.previous_epoch)
    return false;
  // A new epoch (the store lost the topic's history, or it was removed):
  // what is held of the old one goes out, and the new one starts at 1.
  seq.known = true;
  flush_held(self, seq, topic);
  seq.previous_epoch = std::exchange(seq.epoch, pos.epoch);
  seq.delivered = 0;
  return true;
}

void hold(topic_sequence& seq, const std::string& data, conn_id from, std::uint64_t offset) {
  auto [i, added] = seq.held.try_emplace(offset, numbered_message{data, from});
  if (added)
    seq.held_bytes += i->second.data.size();
}

void fill_gap(hub_pointer self, const std::string& topic, topic_sequence& seq);

// The store's answer to a gap's store_read: what it has goes out in order,
// what it does not is skipped.
void filled(hub_pointer self, const std::string& topic, const std::string& epoch,
            std::uint64_t asked, history_result* r) {
  auto& a = *self->state.async;
  auto i = a.topics.find(topic);
  if (i == a.topics.end())
    return;
  auto& seq = i->second;
  seq.filling = false;
  if (seq.epoch != epoch || seq.held.empty())
    return;
  if (r != nullptr && r->top.epoch == epoch)
    for (auto& m : r->messages)
      if (m.offset > seq.delivered)
        hold(seq, m.data, 0, m.offset);
  release(self, seq, topic);
  if (seq.held.empty())
    return;
  // A full page may have more behind it: ask again; else skip what is missing.
  if (r != nullptr && r->messages.size() == asked && asked > 0)
    fill_gap(self, topic, seq);
  else
    skip_gap(self, seq, topic);
}

void fill_gap(hub_pointer self, const std::string& topic, topic_sequence& seq) {
  auto& st = self->state;
  auto lowest = seq.held.begin()->first;
  auto asked = std::min<std::uint64_t>(lowest - seq.delivered - 1, st.settings.recovery_max);
  seq.filling = true;
  auto epoch = seq.epoch;
  store_read q{topic, asked, stream_position{seq.delivered, epoch},
               limits_of(st.settings.options_for(topic))};
  self->request(st.settings.history_store, st.settings.history_store_timeout, std::move(q))
    .then(
      [self, topic, epoch, asked](history_result& r) { filled(self, topic, epoch, asked, &r); },
      [self, topic, epoch, asked](caf::error&) { filled(self, topic, epoch, asked, nullptr); });
}

} // namespace

history_limits limits_of(const topic_options& opts) {
  return {opts.history_size, opts.history_ttl};
}

bool stores_async(const hub_state& st, const std::string& topic) {
  return st.async != nullptr && !st.history_off
         && st.settings.options_for(topic).history_size > 0;
}

void publish_stored(hub_pointer self, const std::string& topic, const std::string& data,
                    conn_id from, publish_done done) {
  auto& st = self->state;
  ++st.stats.messages_in;
  if (st.async->in_flight >= st.settings.history_store_max_in_flight) {
    done(make_error(hub_errc::unavailable));
    return;
  }
  ++st.async->in_flight;
  store_append q{topic, data, limits_of(st.settings.options_for(topic))};
  self->request(st.settings.history_store, st.settings.history_store_timeout, std::move(q))
    .then(
      [self, topic, data, from, done](stream_position& pos) {
        --self->state.async->in_flight;
        if (pos.offset == 0 || pos.epoch.empty()) {
          done(make_error(hub_errc::unavailable)); // no answer a store may give
          return;
        }
        // Other nodes hand it out with the same offset, in the same order.
        to_cluster(self, {cluster_item::numbered_publish, topic, data, from, pos.offset,
                          pos.epoch, 0});
        publish_result r;
        if (auto t = topic_of(self, topic))
          r.receivers = t->subscribers.size() + t->listeners.size();
        accept_numbered(self, topic, data, from, pos);
        r.offset = pos.offset;
        r.epoch = std::move(pos.epoch);
        done(std::move(r));
      },
      [self, done](caf::error&) {
        --self->state.async->in_flight;
        done(make_error(hub_errc::unavailable));
      });
}

void accept_numbered(hub_pointer self, const std::string& topic, const std::string& data,
                     conn_id from, const stream_position& pos) {
  auto& a = *self->state.async;
  if (topic_of(self, topic) == nullptr)
    return; // nobody here: nothing to order
  auto& seq = a.topics[topic];
  if (!admit(self, seq, topic, pos))
    return;
  hold(seq, data, from, pos.offset);
  release(self, seq, topic);
  // Bounded: past the in-flight bound of held messages the gap is skipped
  // at once instead of waiting for its timeout.
  if (seq.held.size() > self->state.settings.history_store_max_in_flight)
    skip_gap(self, seq, topic);
}

void note_position(hub_pointer self, const std::string& topic, const stream_position& top) {
  auto& a = *self->state.async;
  auto i = a.topics.find(topic);
  if (i == a.topics.end()) {
    if (top.epoch.empty() || topic_of(self, topic) == nullptr)
      return;
    i = a.topics.emplace(topic, topic_sequence{}).first;
  }
  auto& seq = i->second;
  if (seq.known)
    return;
  if (top.epoch.empty()) {
    if (seq.waiting.empty())
      skip_gap(self, seq, topic);
    return;
  }
  // What was held before the store's position came is older than the
  // subscription (or of an epoch the store no longer has).
  if (seq.epoch != top.epoch)
    seq.held.clear();
  seq.held.erase(seq.held.begin(), seq.held.upper_bound(top.offset));
  seq.held_bytes = 0;
  for (auto& kvp : seq.held)
    seq.held_bytes += kvp.second.data.size();
  seq.epoch = top.epoch;
  seq.delivered = top.offset;
  seq.known = true;
  release(self, seq, topic);
}

void hold_for(hub_pointer self, hub_connection& conn, waiting_subscription& w,
              std::uint64_t offset, const frame_ptr& frame) {
  if (w.answered) {
    if (offset > w.floor)
      enqueue(self, conn, frame);
    return;
  }
  // The same budget as a replay's: what waits here goes out behind it.
  auto budget = std::min(self->state.settings.replay_max_bytes, conn.out.bound().bytes / 2);
  if (w.overflowed || w.bytes + frame->size() > budget) {
    w.overflowed = true;
    w.resume_at = offset;
    w.held.clear();
    w.bytes = 0;
    return;
  }
  w.bytes += frame->size();
  w.held.emplace_back(offset, frame);
}

void history_tick_soon(hub_pointer self) {
  arm_tick(self);
}

void history_tick(hub_pointer self) {
  auto& st = self->state;
  auto& a = *st.async;
  a.tick_armed = false;
  for (auto& topic : a.unused)
    if (topic_of(self, topic) == nullptr) {
      a.topics.erase(topic);
      a.gaps.erase(topic);
    }
  a.unused.clear();
  auto now = self->clock().now();
  std::vector<std::string> due;
  for (auto& topic : a.gaps) {
    auto i = a.topics.find(topic);
    if (i != a.topics.end() && !i->second.filling && !i->second.held.empty()
        && now - i->second.gap_since >= st.settings.history_gap_timeout)
      due.push_back(topic);
  }
  for (auto& topic : due)
    if (auto i = a.topics.find(topic); i != a.topics.end())
      fill_gap(self, topic, i->second);
  arm_tick(self);
}

} // namespace switchboard
