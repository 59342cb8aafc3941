#include "switchboard/hub.hpp"

#include "switchboard/protocol.hpp"

#include <algorithm>

namespace switchboard {

hub_state::~hub_state() {
  auto reason = make_error(exit_code::hub_down);
  for (auto& kvp : connections) {
    caf::anon_send(kvp.second.reader, caf::exit_msg{caf::actor_addr{}, reason});
    caf::anon_send(kvp.second.writer, caf::exit_msg{caf::actor_addr{}, reason});
  }
}

namespace {

template <class T>
void erase_first(std::vector<T>& xs, const T& x) {
  // Order does not matter in these sets: swap with the last and pop.
  auto i = std::find(xs.begin(), xs.end(), x);
  if (i != xs.end()) {
    *i = std::move(xs.back());
    xs.pop_back();
  }
}

frame_ptr share(std::string frame) {
  return std::make_shared<const std::string>(std::move(frame));
}

// -- delivery -------------------------------------------------------------------

// A batch goes out early once it holds this many frames: a burst of
// publishes then reaches a fast writer while the hub is still working, instead
// of landing on it all at once and passing its queue bound.
constexpr std::size_t max_batch = 64;

// The hub is typed and the pair is not, so it cannot send() to them: it
// writes to them anonymously, which costs the same.
void send_pending(hub_connection& conn) {
  caf::anon_send(conn.writer, frames_atom::value, std::exchange(conn.pending, {}));
}

// Frames for one connection are collected until the hub has worked through
// what is in its mailbox, then go out as one batch per writer (flush). This
// keeps the per-delivery cost at a vector push instead of a CAF message.
void enqueue(hub_pointer self, hub_connection& conn, frame_ptr frame) {
  auto& st = self->state;
  if (!conn.dirty) {
    conn.dirty = true;
    st.dirty.push_back(&conn);
    if (st.dirty.size() == 1)
      self->send(self, flush_atom::value);
  }
  conn.pending.push_back(std::move(frame));
  ++st.stats.messages_out;
  if (conn.pending.size() >= max_batch)
    send_pending(conn);
}

void flush(hub_pointer self) {
  for (auto conn : self->state.dirty) {
    conn->dirty = false;
    if (!conn->pending.empty())
      send_pending(*conn);
  }
  self->state.dirty.clear();
}

// Answers a client command with an error frame and counts the rejection.
void refuse(hub_pointer self, hub_connection& conn, const char* code,
            const char* reason, const request_id& id) {
  ++self->state.stats.rejections[code];
  enqueue(self, conn, share(protocol::error(code, reason, id)));
}

hub_connection* sender_of(hub_pointer self) {
  auto& st = self->state;
  auto i = st.by_actor.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == st.by_actor.end())
    return nullptr;
  auto j = st.connections.find(i->second);
  return j == st.connections.end() ? nullptr : &j->second;
}

// Delivers `data` on `topic` to every subscriber; returns the receivers.
std::uint64_t publish(hub_pointer self, const std::string& topic,
                      const std::string& data, conn_id from) {
  auto& st = self->state;
  ++st.stats.messages_in;
  auto t = st.topics.find(topic);
  if (t == nullptr)
    return 0;
  if (!t->subscribers.empty()) {
    auto frame = share(protocol::message(t->quoted, data));
    for (auto s : t->subscribers)
      enqueue(self, *s->conn, frame);
  }
  for (auto& listener : t->listeners)
    caf::anon_send(listener, topic_message{topic, data, from});
  return t->subscribers.size() + t->listeners.size();
}

// -- connections ------------------------------------------------------------------

void join(hub_pointer self, caf::actor reader, caf::actor writer) {
  auto& st = self->state;
  auto id = st.ids.next();
  while (st.connections.count(id) != 0)
    id = st.ids.next();
  self->monitor(reader);
  self->monitor(writer);
  st.by_actor.emplace(reader.address(), id);
  st.by_actor.emplace(writer.address(), id);
  auto& conn = st.connections[id];
  conn.id = id;
  conn.reader = std::move(reader);
  conn.writer = std::move(writer);
  enqueue(self, conn, share(protocol::welcome(id)));
  if (st.shutting_down) {
    flush(self);
    caf::anon_send(conn.writer, shutdown_atom::value);
  }
}

void remove_connection(hub_pointer self, hub_connection& conn,
                       const caf::error& reason) {
  auto& st = self->state;
  st.topics.unsubscribe_all(conn.topics);
  if (conn.dirty)
    erase_first(st.dirty, &conn);
  ++st.stats.disconnects[to_string(exit_code_of(reason))];
  // One exit for the pair: if only one of them is down, take the other along.
  self->send_exit(conn.reader, reason);
  self->send_exit(conn.writer, reason);
  st.connections.erase(conn.id);
}

// -- server-side listeners -----------------------------------------------------------

bool add_listener(hub_pointer self, const std::string& topic, caf::actor listener) {
  auto& st = self->state;
  auto t = st.topics.ensure(topic, st.settings.max_topics);
  if (t == nullptr)
    return false;
  auto [i, added] = st.listeners.try_emplace(listener.address());
  if (added) {
    i->second.handle = listener;
    self->monitor(listener);
  }
  if (i->second.topics.insert(t).second)
    t->listeners.push_back(std::move(listener));
  return true;
}

void remove_listener(hub_pointer self, const std::string& topic,
                     const caf::actor& listener) {
  auto& st = self->state;
  auto i = st.listeners.find(listener.address());
  auto t = st.topics.find(topic);
  if (i == st.listeners.end() || t == nullptr || i->second.topics.erase(t) == 0)
    return;
  erase_first(t->listeners, listener);
  st.topics.drop_if_empty(*t);
  if (i->second.topics.empty()) {
    self->demonitor(listener);
    st.listeners.erase(i);
  }
}

void listener_down(hub_pointer self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto i = st.listeners.find(addr);
  if (i == st.listeners.end())
    return;
  for (auto t : i->second.topics) {
    erase_first(t->listeners, i->second.handle);
    st.topics.drop_if_empty(*t);
  }
  st.listeners.erase(i);
}

// Once stopping, the hub lives until both actors of every pair are down, so
// that no actor still holds a socket when the node's I/O context goes away.
void quit_if_done(hub_pointer self) {
  auto& st = self->state;
  if (st.shutting_down && st.connections.empty() && st.by_actor.empty())
    self->quit();
}

void on_down(hub_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (auto i = st.by_actor.find(dm.source); i != st.by_actor.end()) {
    auto id = i->second;
    st.by_actor.erase(i);
    if (auto j = st.connections.find(id); j != st.connections.end())
      remove_connection(self, j->second, dm.reason);
  } else {
    listener_down(self, dm.source);
  }
  quit_if_done(self);
}

void shutdown(hub_pointer self) {
  auto& st = self->state;
  st.shutting_down = true;
  flush(self); // queued frames go before the shutdown notice
  for (auto& kvp : st.connections)
    caf::anon_send(kvp.second.writer, shutdown_atom::value);
  quit_if_done(self);
}

// -- client commands -----------------------------------------------------------------

void on_subscribe(hub_pointer self, hub_connection& conn, const client_subscribe& cmd) {
  auto& st = self->state;
  topic_table::limits lim{st.settings.max_topics_per_connection, st.settings.max_topics};
  auto [result, t] = st.topics.subscribe(conn, conn.topics, cmd.topic, lim);
  switch (result) {
    case topic_table::outcome::subscribed:
    case topic_table::outcome::already:
      enqueue(self, conn, share(protocol::subscribed(t->quoted, cmd.id)));
      break;
    case topic_table::outcome::connection_limit:
      refuse(self, conn, "limit_exceeded",
             "this connection is subscribed to its maximum number of topics", cmd.id);
      break;
    case topic_table::outcome::node_limit:
      refuse(self, conn, "limit_exceeded", "the node holds its maximum number of topics",
             cmd.id);
      break;
  }
}

void on_send(hub_pointer self, hub_connection& conn, const client_send& cmd) {
  auto& st = self->state;
  if (!st.settings.client_send) {
    refuse(self, conn, "forbidden", "direct messages between clients are disabled",
           cmd.id);
    return;
  }
  if (st.shutting_down) {
    refuse(self, conn, "shutting_down", "the node is stopping", cmd.id);
    return;
  }
  auto target = st.connections.find(cmd.to);
  if (target == st.connections.end()) {
    enqueue(self, conn,
            share(protocol::error("unknown_connection", "no connection with that id",
                                  cmd.id)));
    return;
  }
  enqueue(self, target->second, share(protocol::direct(conn.id, cmd.data)));
  if (!cmd.id.empty())
    enqueue(self, conn, share(protocol::ack(cmd.id)));
}

} // namespace

hub_actor::behavior_type hub(hub_pointer self, hub_settings settings) {
  self->state.settings = settings;
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [self](join_atom, caf::actor& reader, caf::actor& writer) {
      join(self, std::move(reader), std::move(writer));
    },
    [self](client_subscribe& cmd) {
      ++self->state.stats.messages_in;
      if (auto conn = sender_of(self))
        on_subscribe(self, *conn, cmd);
    },
    [self](client_unsubscribe& cmd) {
      auto& st = self->state;
      ++st.stats.messages_in;
      if (auto conn = sender_of(self)) {
        st.topics.unsubscribe(*conn, conn->topics, cmd.topic);
        enqueue(self, *conn,
                share(protocol::unsubscribed(protocol::quote(cmd.topic), cmd.id)));
      }
    },
    [self](client_publish& cmd) {
      auto conn = sender_of(self);
      if (!conn)
        return;
      if (self->state.shutting_down) {
        ++self->state.stats.messages_in;
        refuse(self, *conn, "shutting_down", "the node is stopping", cmd.id);
        return;
      }
      publish(self, cmd.topic, cmd.data, conn->id);
      if (!cmd.id.empty())
        enqueue(self, *conn, share(protocol::ack(cmd.id)));
    },
    [self](client_send& cmd) {
      ++self->state.stats.messages_in;
      if (auto conn = sender_of(self))
        on_send(self, *conn, cmd);
    },
    [self](client_error& err) {
      auto& st = self->state;
      ++st.stats.messages_in;
      if (!err.counted_as.empty())
        ++st.stats.rejections[err.counted_as];
      if (auto conn = sender_of(self))
        enqueue(self, *conn, std::move(err.frame));
    },
    [self](publish_atom, const std::string& topic,
           const std::string& data) -> caf::result<std::uint64_t> {
      // Server-side data goes into frames verbatim: it must be JSON.
      if (!protocol::valid_topic(topic) || !protocol::valid_json(data))
        return caf::make_error(caf::sec::invalid_argument);
      if (self->state.shutting_down)
        return caf::make_error(caf::sec::runtime_error, "shutting_down");
      return publish(self, topic, data, 0);
    },
    [self](send_atom, conn_id to, const std::string& data) -> caf::result<bool> {
      if (!protocol::valid_json(data))
        return caf::make_error(caf::sec::invalid_argument);
      auto& st = self->state;
      if (st.shutting_down)
        return caf::make_error(caf::sec::runtime_error, "shutting_down");
      ++st.stats.messages_in;
      auto target = st.connections.find(to);
      if (target == st.connections.end())
        return false;
      enqueue(self, target->second, share(protocol::direct(0, data)));
      return true;
    },
    [self](subscribe_atom, const std::string& topic, caf::actor& listener) {
      if (!protocol::valid_topic(topic) || !listener)
        return false;
      return add_listener(self, topic, std::move(listener));
    },
    [self](unsubscribe_atom, const std::string& topic, const caf::actor& listener) {
      remove_listener(self, topic, listener);
    },
    [self](stats_atom) {
      auto& st = self->state;
      auto result = st.stats;
      result.connections = st.connections.size();
      result.topics = st.topics.size();
      return result;
    },
    [self](shutdown_atom) { shutdown(self); },
    [self](flush_atom) { flush(self); },
  };
}

} // namespace switchboard
