// Subscribe replies, recovery, history queries and the API through a shared,
// asynchronous history store (hub_settings::history_store).
//
// No gap, no duplicate: a subscribe on a topic with history adds the
// subscription at once and marks it waiting in the topic's sequence; the
// live messages handed out for it meanwhile wait in its own buffer
// (hold_for, bounded by the replay budget). The store is asked for its
// position (store_top) or the messages after `since` (store_recover); when
// it answers, the hub queues the reply, the replay (up to the store's TOP),
// and then the held messages above TOP. Every message handed out after the
// subscription was added is held, so everything above TOP reaches the
// client once (what was handed out before it was stored before the
// store's answer, so it is at most TOP). While the store's answer is
// outstanding the connection's later commands wait (as behind an
// authorizer), so they apply in order. Past the budget: recovered:false at
// the last message dropped, and live from there.
//
// Every answer may find the connection gone (it closed meanwhile): it is
// then dropped, and only the hub's own bookkeeping is undone.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <memory>

namespace switchboard {

namespace {

void refuse_unavailable(hub_pointer self, hub_connection& conn, const request_id& id) {
  ++self->state.stats.rejections["unavailable"];
  enqueue(self, conn,
          share(protocol::error("unavailable", "the history store cannot be reached", id)));
}

// The connection `id` goes on with the commands that waited for the store.
void resume_after_store(hub_pointer self, conn_id id, caf::response_promise& done) {
  if (auto i = self->state.connections.find(id); i != self->state.connections.end())
    i->second.authorizing = false;
  done.deliver(caf::unit);
  resume(self, id);
}

// Takes the subscription's wait out of its topic's sequence.
waiting_subscription unwait(hub_state& st, const std::string& topic, conn_id id) {
  waiting_subscription w;
  if (auto i = st.async->topics.find(topic); i != st.async->topics.end()) {
    auto j = i->second.waiting.find(id);
    if (j != i->second.waiting.end() && !j->second.answered) {
      w = std::move(j->second);
      i->second.waiting.erase(j);
    }
  }
  return w;
}

// The store answered a subscribe: the reply, a recovery's replay, then
// what was held above the store's top.
void subscribed(hub_pointer self, hub_connection& conn, const client_subscribe& cmd,
                history_result& r, waiting_subscription& w) {
  auto& st = self->state;
  auto t = st.topics.find(cmd.topic);
  if (t == nullptr)
    return;
  auto top = r.top;
  if (w.overflowed) {
    // More live messages than the budget came meanwhile: the client resumes
    // at the last one dropped, without a replay.
    r.recovered = false;
    r.messages.clear();
    top.offset = w.resume_at;
  } else if (r.recovered && !fits(self, conn, *t, r)) {
    r.recovered = false;
    r.messages.clear();
  }
  if (cmd.recover)
    ++(r.recovered ? st.stats.recovered : st.stats.not_recovered);
  enqueue(self, conn,
          share(protocol::subscribed(t->quoted, top, cmd.recover ? (r.recovered ? 2 : 1) : 0,
                                     cmd.id)));
  if (!r.messages.empty()) {
    enqueue(self, conn, protocol::replay_frames(t->quoted, r.messages));
    st.stats.messages_out += r.messages.size() - 1;
  }
  for (auto& [offset, frame] : w.held)
    if (offset > top.offset)
      enqueue(self, conn, frame);
  // A replay that went further than this node has handed out: what comes
  // live up to its top was in it.
  auto& a = *st.async;
  if (auto i = a.topics.find(cmd.topic); i != a.topics.end()) {
    auto& seq = i->second;
    if (seq.epoch == top.epoch && seq.delivered < top.offset) {
      auto& after = seq.waiting[conn.id];
      after.answered = true;
      after.floor = top.offset;
    }
  }
}

// The store's answer to a subscribe (`r` null: it failed).
void subscribe_answered(hub_pointer self, conn_id id, const client_subscribe& cmd,
                        bool added, history_result* r, caf::response_promise& done) {
  auto& st = self->state;
  auto w = unwait(st, cmd.topic, id);
  auto i = st.connections.find(id);
  if (i != st.connections.end()) {
    auto& conn = i->second;
    if (r != nullptr) {
      subscribed(self, conn, cmd, *r, w);
    } else if (added) {
      // Nothing happened: the subscription goes again.
      if (auto t = st.topics.find(cmd.topic); t && st.topics.subscribed(conn, *t))
        presence_leaving(self, conn, *t);
      st.topics.unsubscribe(conn, conn.topics, cmd.topic);
      refuse_unavailable(self, conn, cmd.id);
    } else {
      refuse_unavailable(self, conn, cmd.id); // (it stays subscribed, as it was)
    }
  }
  // Only behind the reply and the replay: the store's position may release
  // live messages the sequence held for it, and this subscription no longer
  // waits for them (nobody else may have had the topic here). A failed
  // answer lets a sequence that waited for it go on.
  note_position(self, cmd.topic, r != nullptr ? r->top : stream_position{});
  resume_after_store(self, id, done);
}

} // namespace

bool subscribe_stored(hub_pointer self, hub_connection& conn, const client_subscribe& cmd,
                      bool added, caf::response_promise& done) {
  auto& st = self->state;
  // A new subscription's live messages wait for its reply (a repeated one
  // has been getting them all along).
  auto& seq = st.async->topics[cmd.topic];
  if (added)
    seq.waiting[conn.id] = waiting_subscription{};
  conn.authorizing = true;
  auto limits = limits_of(st.settings.options_for(cmd.topic));
  auto id = conn.id;
  auto on_error = [self, id, cmd, added, done](caf::error&) mutable {
    subscribe_answered(self, id, cmd, added, nullptr, done);
  };
  auto& store = st.settings.history_store;
  auto timeout = st.settings.history_store_timeout;
  if (cmd.recover) {
    self->request(store, timeout, store_recover{cmd.topic, cmd.since, st.settings.recovery_max,
                                                limits})
      .then(
        [self, id, cmd, added, done](history_result& r) mutable {
          subscribe_answered(self, id, cmd, added, &r, done);
        },
        on_error);
  } else {
    self->request(store, timeout, store_top{cmd.topic, limits})
      .then(
        [self, id, cmd, added, done](stream_position& top) mutable {
          history_result r;
          r.top = std::move(top);
          subscribe_answered(self, id, cmd, added, &r, done);
        },
        on_error);
  }
  return false;
}

bool history_stored(hub_pointer self, hub_connection& conn, const client_history& cmd,
                    caf::response_promise& done) {
  auto& st = self->state;
  if (st.settings.options_for(cmd.topic).history_size == 0) {
    enqueue(self, conn,
            share(protocol::error("not_enabled", "this topic has no history", cmd.id)));
    return true;
  }
  caf::optional<stream_position> since;
  if (cmd.has_since)
    since = cmd.since;
  auto limit = std::min<std::uint64_t>(cmd.limit, st.settings.recovery_max);
  conn.authorizing = true;
  auto id = conn.id;
  auto answered = [self, id, cmd, done](history_result* r) mutable {
    auto& conns = self->state.connections;
    if (auto i = conns.find(id); i != conns.end()) {
      auto& c = i->second;
      if (r == nullptr) {
        refuse_unavailable(self, c, cmd.id);
      } else {
        // Cut down to what fits, as on one node (hub_history.cpp).
        auto quoted = protocol::quote(cmd.topic);
        auto truncated = trim_to_room(r->messages, quoted, replay_room(self, c),
                                      cmd.has_since);
        enqueue(self, c,
                share(protocol::history(quoted, r->top, r->messages, cmd.id, truncated)));
      }
    }
    resume_after_store(self, id, done);
  };
  self->request(st.settings.history_store, st.settings.history_store_timeout,
                store_read{cmd.topic, limit, since, limits_of(st.settings.options_for(cmd.topic))})
    .then([answered](history_result& r) mutable { answered(&r); },
          [answered](caf::error&) mutable { answered(nullptr); });
  return false;
}

// -- the typed API -----------------------------------------------------------------------

caf::result<publish_result> publish_numbered_stored(hub_pointer self,
                                                    const publish_numbered& cmd) {
  auto rp = self->make_response_promise<publish_result>();
  publish_stored(self, cmd.topic, cmd.data, 0,
                 [rp](caf::expected<publish_result> r) mutable {
                   if (r)
                     rp.deliver(std::move(*r));
                   else
                     rp.deliver(std::move(r.error()));
                 });
  return rp;
}

caf::result<std::uint64_t> publish_request_stored(hub_pointer self, const publication& cmd) {
  auto rp = self->make_response_promise<std::uint64_t>();
  publish_stored(self, cmd.topic, cmd.data, 0,
                 [rp](caf::expected<publish_result> r) mutable {
                   if (r)
                     rp.deliver(r->receivers);
                   else
                     rp.deliver(std::move(r.error()));
                 });
  return rp;
}

caf::result<delivery_counts> broadcast_stored(hub_pointer self, const broadcast& cmd) {
  // Topics without history are published at once; the reply waits for the
  // store's answers for the others (any failure: unavailable, though the
  // other topics got it).
  struct pending {
    caf::typed_response_promise<delivery_counts> rp;
    delivery_counts counts;
    std::size_t outstanding = 1;
    bool failed = false;
    void one_done() {
      if (--outstanding > 0)
        return;
      if (failed)
        rp.deliver(make_error(hub_errc::unavailable));
      else
        rp.deliver(std::move(counts));
    }
  };
  auto p = std::make_shared<pending>();
  p->rp = self->make_response_promise<delivery_counts>();
  for (auto& topic : cmd.topics) {
    if (p->counts.count(topic) != 0)
      continue;
    p->counts.emplace(topic, 0);
    if (!stores_async(self->state, topic)) {
      p->counts[topic] = publish_on(self, topic, cmd.data, 0);
      continue;
    }
    ++p->outstanding;
    publish_stored(self, topic, cmd.data, 0, [p, topic](caf::expected<publish_result> r) {
      if (r)
        p->counts[topic] = r->receivers;
      else
        p->failed = true;
      p->one_done();
    });
  }
  p->one_done();
  return p->rp;
}

caf::result<history_page> history_request_stored(hub_pointer self, const query_history& q) {
  auto& st = self->state;
  auto rp = self->make_response_promise<history_page>();
  auto limit = std::min<std::uint64_t>(q.limit, st.settings.recovery_max);
  self->request(st.settings.history_store, st.settings.history_store_timeout,
                store_read{q.topic, limit, q.since, limits_of(st.settings.options_for(q.topic))})
    .then(
      [rp, topic = q.topic](history_result& r) mutable {
        rp.deliver(history_page{topic, std::move(r.top.epoch), r.top.offset,
                                std::move(r.messages)});
      },
      [rp](caf::error&) mutable { rp.deliver(make_error(hub_errc::unavailable)); });
  return rp;
}

caf::result<stream_position> remove_history_stored(hub_pointer self,
                                                   const remove_history& cmd) {
  auto& st = self->state;
  auto rp = self->make_response_promise<stream_position>();
  self->request(st.settings.history_store, st.settings.history_store_timeout,
                store_remove{cmd.topic, limits_of(st.settings.options_for(cmd.topic))})
    .then([rp](stream_position& pos) mutable { rp.deliver(std::move(pos)); },
          [rp](caf::error&) mutable { rp.deliver(make_error(hub_errc::unavailable)); });
  return rp;
}

history_totals stored_totals(hub_pointer self) {
  auto& st = self->state;
  auto& a = *st.async;
  // /stats shows what the store said last; the next one shows fresher.
  if (!a.totals_asked) {
    a.totals_asked = true;
    self->request(st.settings.history_store, st.settings.history_store_timeout, store_totals{})
      .then(
        [self](history_totals& t) {
          self->state.async->totals = t;
          self->state.async->totals_asked = false;
        },
        [self](caf::error&) { self->state.async->totals_asked = false; });
  }
  return a.totals;
}

} // namespace switchboard
