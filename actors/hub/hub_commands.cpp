// Client commands in the hub: subscribe, unsubscribe, publish, send (to a
// connection, a user's connections or a service) and the reader's
// rejections. A connection whose authenticator limited its topics may
// subscribe and publish only on those; with an authorizer configured,
// subscribe and publish then ask it (and a refresh the authenticator,
// hub_refresh.cpp); while an answer is outstanding the connection's later
// commands wait, so that every command applies in the order the client
// sent it.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <optional>

namespace switchboard {

namespace {

// Answers a client command with an error frame and counts the rejection.
void refuse(hub_pointer self, hub_connection& conn, const char* code, const char* reason,
            const request_id& id) {
  ++self->state.stats.rejections[code];
  enqueue(self, conn, share(protocol::error(code, reason, id)));
}

// -- each command, once allowed -----------------------------------------------------

// Each returns false when it keeps `done` (the reader's read credit) to
// deliver once a shared history store answered (hub_history_reads.cpp).
bool subscribe(hub_pointer self, hub_connection& conn, const client_subscribe& cmd,
               caf::response_promise& done) {
  auto& st = self->state;
  // v1.1 asks only what the topic's namespace enables; nothing changes else.
  auto& opts = st.settings.options_for(cmd.topic);
  if ((cmd.recover && opts.history_size == 0) || (cmd.join_leave && !opts.join_leave)) {
    enqueue(self, conn,
            share(protocol::error("not_enabled",
                                  cmd.recover ? "this topic has no history"
                                              : "this topic has no join/leave events",
                                  cmd.id)));
    return true;
  }
  topic_table::limits lim{st.settings.max_topics_per_connection, st.settings.max_topics};
  auto [result, t] = st.topics.subscribe(conn, conn.topics, cmd.topic, lim);
  switch (result) {
    case topic_table::outcome::subscribed:
    case topic_table::outcome::already: {
      // The reply (and a recovery's replay) in this same handler as the
      // subscription: hub_history.cpp says why that leaves no gap (and
      // hub_history_reads.cpp how a shared store keeps that).
      auto ran = true;
      if (stores_async(st, cmd.topic))
        ran = subscribe_stored(self, conn, cmd, result == topic_table::outcome::subscribed,
                               done);
      else
        reply_subscribed(self, conn, *t, cmd);
      presence_joined(self, conn, *t, result == topic_table::outcome::subscribed,
                      cmd.join_leave);
      return ran;
    }
    case topic_table::outcome::connection_limit:
      refuse(self, conn, "limit_exceeded",
             "this connection is subscribed to its maximum number of topics", cmd.id);
      break;
    case topic_table::outcome::node_limit:
      refuse(self, conn, "limit_exceeded", "the node holds its maximum number of topics",
             cmd.id);
      break;
  }
  return true;
}

void unsubscribe(hub_pointer self, hub_connection& conn, const client_unsubscribe& cmd) {
  if (!self->state.presence.empty())
    if (auto t = self->state.topics.find(cmd.topic); t != nullptr)
      if (self->state.topics.subscribed(conn, *t))
        presence_leaving(self, conn, *t);
  self->state.topics.unsubscribe(conn, conn.topics, cmd.topic);
  enqueue(self, conn, share(protocol::unsubscribed(protocol::quote(cmd.topic), cmd.id)));
}

// Once the shared store answered: the ack, or error `unavailable` (nothing
// was delivered), if the connection is still there; then the read credit.
void publish_answered(hub_pointer self, conn_id id, const request_id& req, bool stored,
                      caf::response_promise& done) {
  auto& st = self->state;
  if (auto i = st.connections.find(id); i != st.connections.end()) {
    if (!stored)
      refuse(self, i->second, "unavailable", "the history store cannot be reached", req);
    else if (!req.empty())
      enqueue(self, i->second, share(protocol::ack(req)));
  }
  done.deliver(caf::unit);
}

bool publish(hub_pointer self, hub_connection& conn, const client_publish& cmd,
             caf::response_promise& done) {
  if (self->state.shutting_down) {
    ++self->state.stats.messages_in;
    refuse(self, conn, "shutting_down", "the node is stopping", cmd.id);
    return true;
  }
  if (stores_async(self->state, cmd.topic)) {
    // The read credit comes back once it is stored: a slow store holds the
    // publisher back by TCP, not by the hub's memory.
    publish_stored(self, cmd.topic, cmd.data, conn.id,
                   [self, id = conn.id, req = cmd.id,
                    done = std::move(done)](caf::expected<publish_result> r) mutable {
                     publish_answered(self, id, req, static_cast<bool>(r), done);
                   });
    return false;
  }
  publish_on(self, cmd.topic, cmd.data, conn.id);
  if (!cmd.id.empty())
    enqueue(self, conn, share(protocol::ack(cmd.id)));
  return true;
}

void send_to_service(hub_pointer self, hub_connection& conn, const client_send& cmd) {
  auto& st = self->state;
  auto i = st.services.find(cmd.service);
  if (i == st.services.end()) {
    enqueue(self, conn,
            share(protocol::error("unknown_service", "no service with that name", cmd.id)));
    return;
  }
  deliver(self, *i->second,
          caf::make_message(service_message{cmd.service, conn.id, conn.user, cmd.data}));
  if (!cmd.id.empty())
    enqueue(self, conn, share(protocol::ack(cmd.id)));
}

// Every connection of the user gets the same frame (the sender too, if it
// is one of them).
void send_to_user_of(hub_pointer self, hub_connection& conn, const client_send& cmd) {
  auto frame = share(protocol::direct(conn.id, cmd.data));
  // Clustered, the user may be connected elsewhere: every node is told, and
  // no node can say "unknown" for the others.
  to_cluster(self, {cluster_item::user_send, cmd.user, cmd.data, conn.id, 0, {}, 0});
  if (enqueue_to_user(self, cmd.user, frame) == 0 && !self->state.cluster) {
    enqueue(self, conn,
            share(protocol::error("unknown_user", "no connection of that user", cmd.id)));
    return;
  }
  if (!cmd.id.empty())
    enqueue(self, conn, share(protocol::ack(cmd.id)));
}

void send(hub_pointer self, hub_connection& conn, const client_send& cmd) {
  auto& st = self->state;
  if (st.shutting_down) {
    refuse(self, conn, "shutting_down", "the node is stopping", cmd.id);
    return;
  }
  if (!cmd.service.empty()) {
    send_to_service(self, conn, cmd);
    return;
  }
  if (!st.settings.client_send) {
    refuse(self, conn, "forbidden", "direct messages between clients are disabled", cmd.id);
    return;
  }
  if (!cmd.user.empty()) {
    send_to_user_of(self, conn, cmd);
    return;
  }
  auto target = st.connections.find(cmd.to);
  if (target == st.connections.end() && remote_id(st, cmd.to)) {
    // Another node's connection: that node delivers it.
    to_cluster(self, {cluster_item::direct, {}, cmd.data, conn.id, cmd.to, {}, 0});
    if (!cmd.id.empty())
      enqueue(self, conn, share(protocol::ack(cmd.id)));
    return;
  }
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

// Runs `cmd`; false when it kept `done` for later (a shared store's answer).
bool run(hub_pointer self, hub_connection& conn, client_command& cmd,
         caf::response_promise& done) {
  auto& st = self->state;
  // A publish is counted where it is published (or refused).
  if (!std::holds_alternative<client_publish>(cmd))
    ++st.stats.messages_in;
  return std::visit(
    [&](auto& x) {
      using type = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<type, client_subscribe>)
        return subscribe(self, conn, x, done);
      else if constexpr (std::is_same_v<type, client_unsubscribe>)
        unsubscribe(self, conn, x);
      else if constexpr (std::is_same_v<type, client_publish>)
        return publish(self, conn, x, done);
      else if constexpr (std::is_same_v<type, client_send>)
        send(self, conn, x);
      else if constexpr (std::is_same_v<type, client_history>)
        return st.async != nullptr ? history_stored(self, conn, x, done)
                                   : (history_command(self, conn, x), true);
      else if constexpr (std::is_same_v<type, client_presence>)
        presence_command(self, conn, x);
      else if constexpr (std::is_same_v<type, client_refresh>)
        return true; // never here: process() hands it to refresh()
      else
        enqueue(self, conn, std::move(x.frame));
      return true;
    },
    cmd);
}

// -- authorization ------------------------------------------------------------------

// What the authorizer is asked about `cmd`, if anything.
std::optional<access_request> question(const hub_connection& conn,
                                       const client_command& cmd) {
  if (auto sub = std::get_if<client_subscribe>(&cmd))
    return access_request{conn.id, conn.user, access::subscribe, sub->topic};
  if (auto pub = std::get_if<client_publish>(&cmd))
    return access_request{conn.id, conn.user, access::publish, pub->topic};
  // Reading a topic's history or presence takes what subscribing takes.
  if (auto h = std::get_if<client_history>(&cmd))
    return access_request{conn.id, conn.user, access::subscribe, h->topic};
  if (auto p = std::get_if<client_presence>(&cmd))
    return access_request{conn.id, conn.user, access::subscribe, p->topic};
  return std::nullopt;
}

// The topic `cmd` subscribes to or publishes on (null for other commands).
const std::string* topic_of(const client_command& cmd) {
  if (auto sub = std::get_if<client_subscribe>(&cmd))
    return &sub->topic;
  if (auto pub = std::get_if<client_publish>(&cmd))
    return &pub->topic;
  if (auto h = std::get_if<client_history>(&cmd))
    return &h->topic;
  if (auto p = std::get_if<client_presence>(&cmd))
    return &p->topic;
  return nullptr;
}

const request_id& id_of(const client_command& cmd) {
  static const request_id none;
  return std::visit(
    [](const auto& x) -> const request_id& {
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, client_error>)
        return none;
      else
        return x.id;
    },
    cmd);
}

void process(hub_pointer self, hub_connection& conn, client_command cmd,
             caf::response_promise done);

void answered(hub_pointer self, conn_id id, client_command& cmd,
              caf::response_promise& done, bool allowed) {
  auto& st = self->state;
  auto i = st.connections.find(id);
  if (i != st.connections.end()) {
    auto& conn = i->second;
    conn.authorizing = false;
    if (allowed) {
      if (!run(self, conn, cmd, done)) {
        // The store's answer delivers `done` (and resumes, if it waits).
        resume(self, id);
        return;
      }
    } else {
      ++st.stats.messages_in;
      refuse(self, conn, "forbidden", "not allowed on this topic", id_of(cmd));
    }
  }
  done.deliver(caf::unit);
  resume(self, id);
}

void process(hub_pointer self, hub_connection& conn, client_command cmd,
             caf::response_promise done) {
  auto& st = self->state;
  // A refresh asks the authenticator; the connection's next commands wait
  // for its answer like they wait for an authorizer's.
  if (auto r = std::get_if<client_refresh>(&cmd)) {
    refresh(self, conn, *r, std::move(done));
    return;
  }
  // The topics the authenticator allowed come first: no authorizer is asked
  // about a topic the connection may never use.
  if (conn.allowed.restricted()) {
    if (auto topic = topic_of(cmd); topic && !conn.allowed.allows(*topic)) {
      ++st.stats.messages_in;
      refuse(self, conn, "forbidden", "not allowed on this topic", id_of(cmd));
      done.deliver(caf::unit);
      return;
    }
  }
  auto q = st.settings.authorizer ? question(conn, cmd) : std::nullopt;
  if (!q) {
    if (run(self, conn, cmd, done))
      done.deliver(caf::unit);
    return;
  }
  conn.authorizing = true;
  auto id = conn.id;
  // The command and its reply wait in the continuation; the connection's
  // next commands wait in its queue.
  auto state = std::make_shared<std::pair<client_command, caf::response_promise>>(
    std::move(cmd), std::move(done));
  self->request(st.settings.authorizer, st.settings.authorize_timeout, std::move(*q))
    .then(
      [self, id, state](bool allowed) {
        answered(self, id, state->first, state->second, allowed);
      },
      [self, id, state](caf::error&) {
        answered(self, id, state->first, state->second,
                 self->state.settings.authorize_default);
      });
}

} // namespace

void resume(hub_pointer self, conn_id id) {
  auto& st = self->state;
  for (;;) {
    auto i = st.connections.find(id);
    if (i == st.connections.end() || i->second.authorizing || i->second.waiting.empty())
      return;
    auto& waiting = i->second.waiting;
    auto next = std::move(waiting.front());
    waiting.erase(waiting.begin());
    if (waiting.empty())
      std::vector<waiting_command>{}.swap(waiting);
    process(self, i->second, std::move(next.cmd), std::move(next.done));
  }
}

hub_connection* sender_of(hub_pointer self) {
  auto& st = self->state;
  auto i = st.by_actor.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == st.by_actor.end())
    return nullptr;
  auto j = st.connections.find(i->second);
  return j == st.connections.end() ? nullptr : &j->second;
}

void on_command(hub_pointer self, hub_connection* conn, client_command cmd,
                caf::response_promise done) {
  if (conn == nullptr) {
    done.deliver(caf::unit);
    return;
  }
  if (conn->authorizing) {
    conn->waiting.push_back({std::move(cmd), std::move(done)});
    return;
  }
  process(self, *conn, std::move(cmd), std::move(done));
}

} // namespace switchboard
