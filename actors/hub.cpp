#include "switchboard/hub.hpp"

#include "switchboard/protocol.hpp"

#include <algorithm>

namespace switchboard {

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
  auto i = st.topics.find(topic);
  if (i == st.topics.end())
    return 0;
  auto& t = i->second;
  if (!t.subscribers.empty()) {
    auto frame = share(protocol::message(t.quoted, data));
    for (auto conn : t.subscribers)
      enqueue(self, *conn, frame);
  }
  for (auto& listener : t.listeners)
    caf::anon_send(listener, topic_message{topic, data, from});
  return t.subscribers.size() + t.listeners.size();
}

// -- membership -----------------------------------------------------------------

hub_topic& topic_entry(hub_pointer self, const std::string& name) {
  auto& t = self->state.topics[name];
  if (t.quoted.empty())
    t.quoted = protocol::quote(name);
  return t;
}

void drop_if_empty(hub_pointer self, const std::string& name) {
  auto i = self->state.topics.find(name);
  if (i != self->state.topics.end() && i->second.subscribers.empty()
      && i->second.listeners.empty())
    self->state.topics.erase(i);
}

hub_topic& subscribe(hub_pointer self, hub_connection& conn, const std::string& name) {
  auto& t = topic_entry(self, name);
  if (std::find(conn.topics.begin(), conn.topics.end(), name) == conn.topics.end()) {
    conn.topics.push_back(name);
    t.subscribers.push_back(&conn);
  }
  return t;
}

void unsubscribe(hub_pointer self, hub_connection& conn, const std::string& name) {
  auto i = std::find(conn.topics.begin(), conn.topics.end(), name);
  if (i == conn.topics.end())
    return;
  conn.topics.erase(i);
  erase_first(self->state.topics[name].subscribers, &conn);
  drop_if_empty(self, name);
}

void remove_connection(hub_pointer self, hub_connection& conn,
                       const caf::error& reason) {
  auto& st = self->state;
  for (auto& name : std::vector<std::string>(conn.topics))
    unsubscribe(self, conn, name);
  if (conn.dirty)
    erase_first(st.dirty, &conn);
  ++st.stats.disconnects[to_string(exit_code_of(reason))];
  // One exit for the pair: if only one of them is down, take the other along.
  self->send_exit(conn.reader, reason);
  self->send_exit(conn.writer, reason);
  st.connections.erase(conn.id);
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
    // A server-side subscriber.
    std::vector<std::string> emptied;
    for (auto& [name, t] : st.topics) {
      t.listeners.erase(std::remove_if(t.listeners.begin(), t.listeners.end(),
                                       [&](const caf::actor& a) {
                                         return a.address() == dm.source;
                                       }),
                        t.listeners.end());
      if (t.listeners.empty() && t.subscribers.empty())
        emptied.push_back(name);
    }
    for (auto& name : emptied)
      st.topics.erase(name);
  }
  quit_if_done(self);
}

void join(hub_pointer self, caf::actor reader, caf::actor writer) {
  auto& st = self->state;
  auto id = st.next_id++;
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

void shutdown(hub_pointer self) {
  auto& st = self->state;
  st.shutting_down = true;
  flush(self); // queued frames go before the shutdown notice
  for (auto& [id, conn] : st.connections)
    caf::anon_send(conn.writer, shutdown_atom::value);
  quit_if_done(self);
}

} // namespace

hub_actor::behavior_type hub(hub_pointer self) {
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [self](join_atom, caf::actor& reader, caf::actor& writer) {
      join(self, std::move(reader), std::move(writer));
    },
    [self](client_subscribe& cmd) {
      ++self->state.stats.messages_in;
      if (auto conn = sender_of(self)) {
        auto& t = subscribe(self, *conn, cmd.topic);
        enqueue(self, *conn, share(protocol::subscribed(t.quoted, cmd.id)));
      }
    },
    [self](client_unsubscribe& cmd) {
      ++self->state.stats.messages_in;
      if (auto conn = sender_of(self)) {
        unsubscribe(self, *conn, cmd.topic);
        enqueue(self, *conn,
                share(protocol::unsubscribed(protocol::quote(cmd.topic), cmd.id)));
      }
    },
    [self](client_publish& cmd) {
      auto conn = sender_of(self);
      if (!conn)
        return;
      publish(self, cmd.topic, cmd.data, conn->id);
      if (!cmd.id.empty())
        enqueue(self, *conn, share(protocol::ack(cmd.id)));
    },
    [self](client_send& cmd) {
      ++self->state.stats.messages_in;
      auto conn = sender_of(self);
      if (!conn)
        return;
      auto& conns = self->state.connections;
      auto target = conns.find(cmd.to);
      if (target == conns.end()) {
        enqueue(self, *conn,
                share(protocol::error("unknown_connection",
                                      "no connection with that id", cmd.id)));
        return;
      }
      enqueue(self, target->second, share(protocol::direct(conn->id, cmd.data)));
      if (!cmd.id.empty())
        enqueue(self, *conn, share(protocol::ack(cmd.id)));
    },
    [self](client_error& err) {
      ++self->state.stats.messages_in;
      if (auto conn = sender_of(self))
        enqueue(self, *conn, std::move(err.frame));
    },
    [self](publish_atom, const std::string& topic,
           const std::string& data) -> caf::result<std::uint64_t> {
      // Server-side data goes into frames verbatim: it must be JSON.
      if (!protocol::valid_topic(topic) || !protocol::valid_json(data))
        return caf::make_error(caf::sec::invalid_argument);
      return publish(self, topic, data, 0);
    },
    [self](send_atom, conn_id to, const std::string& data) -> caf::result<bool> {
      if (!protocol::valid_json(data))
        return caf::make_error(caf::sec::invalid_argument);
      ++self->state.stats.messages_in;
      auto& conns = self->state.connections;
      auto target = conns.find(to);
      if (target == conns.end())
        return false;
      enqueue(self, target->second, share(protocol::direct(0, data)));
      return true;
    },
    [self](subscribe_atom, const std::string& topic, caf::actor& listener) {
      if (!protocol::valid_topic(topic) || !listener)
        return false;
      auto& t = topic_entry(self, topic);
      if (std::find(t.listeners.begin(), t.listeners.end(), listener)
          == t.listeners.end()) {
        self->monitor(listener);
        t.listeners.push_back(std::move(listener));
      }
      return true;
    },
    [self](unsubscribe_atom, const std::string& topic, const caf::actor& listener) {
      auto i = self->state.topics.find(topic);
      if (i == self->state.topics.end())
        return;
      erase_first(i->second.listeners, listener);
      drop_if_empty(self, topic);
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
