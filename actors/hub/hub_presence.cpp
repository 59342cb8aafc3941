// Presence and join/leave in the hub (docs/protocol.md v1.1). Who is
// subscribed is the topic table's; what it does not know (distinct users,
// who asked for join/leave events) is kept here, per topic whose namespace
// enables presence or join/leave, from its first subscriber to its last, and
// updated in O(1) per subscribe and unsubscribe.
//
// Join/leave events cost a frame per watcher per event: a topic of N
// subscribers that all reconnect costs N^2 frames. Past
// join_leave_max_subscribers subscribers none are sent (counted as
// suppressed); presence_stats still answers.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

namespace switchboard {

namespace {

bool tracked(const topic_options& opts) {
  return opts.presence || opts.join_leave;
}

// Tells every watcher of `t` (but `subject`, when it is local) that
// connection `id` of `user` joined or left.
void announce(hub_pointer self, topic_presence& p, const hub_topic& t,
              hub_connection* subject, conn_id id, const std::string& user,
              bool join) {
  auto& st = self->state;
  if (p.watchers.empty())
    return;
  auto others = p.watchers.size() - (subject ? p.watchers.count(subject) : 0);
  if (others == 0)
    return;
  if (t.subscribers.size() > st.settings.join_leave_max_subscribers) {
    ++st.stats.join_leave_suppressed;
    return;
  }
  auto frame = share(protocol::join_leave(join, t.quoted, id, user));
  for (auto w : p.watchers)
    if (w != subject) {
      enqueue(self, *w, frame);
      ++st.stats.join_leave_sent;
    }
}

void announce(hub_pointer self, topic_presence& p, const hub_topic& t,
              hub_connection& subject, bool join) {
  announce(self, p, t, &subject, subject.id, subject.user, join);
  // The other nodes' watchers too (cluster_presence.cpp).
  if (self->state.cluster && self->state.settings.options_for(*t.name).join_leave)
    to_cluster(self, {join ? cluster_item::member_join : cluster_item::member_leave, *t.name,
                      {}, subject.id, 0, subject.user, 0});
}

void refuse_not_enabled(hub_pointer self, hub_connection& conn, const request_id& id) {
  enqueue(self, conn,
          share(protocol::error("not_enabled", "this topic has no presence", id)));
}

} // namespace

presence_info presence_list(hub_state& st, const std::string& topic) {
  presence_info result;
  result.topic = topic;
  auto t = st.topics.find(topic);
  if (t == nullptr)
    return result;
  for (auto s : t->subscribers) {
    if (result.clients.size() == max_presence_listed) {
      result.truncated = true;
      break;
    }
    result.clients.push_back({s->conn->id, s->conn->user});
  }
  return result;
}

presence_counts presence_count(hub_state& st, const std::string& topic,
                               std::vector<std::string>* users) {
  presence_counts result;
  result.topic = topic;
  auto t = st.topics.find(topic);
  if (t == nullptr)
    return result;
  result.clients = t->subscribers.size();
  if (auto i = st.presence.find(t); i != st.presence.end()) {
    result.users = i->second.users.size();
    if (users != nullptr)
      for (auto& kvp : i->second.users)
        users->push_back(kvp.first);
  }
  return result;
}

void presence_remote(hub_pointer self, const cluster_item& item) {
  auto& st = self->state;
  auto t = st.topics.find(item.topic);
  if (t == nullptr)
    return;
  auto i = st.presence.find(t);
  if (i == st.presence.end())
    return;
  announce(self, i->second, *t, nullptr, item.from, item.sender,
           item.kind == cluster_item::member_join);
}

void presence_joined(hub_pointer self, hub_connection& conn, hub_topic& t, bool added,
                     bool wants_events) {
  auto& st = self->state;
  if (!tracked(st.settings.options_for(*t.name)))
    return;
  auto& p = st.presence[&t];
  if (added) {
    announce(self, p, t, conn, true);
    if (!conn.user.empty())
      ++p.users[conn.user];
  }
  if (wants_events)
    p.watchers.insert(&conn);
}

void presence_leaving(hub_pointer self, hub_connection& conn, hub_topic& t) {
  auto& st = self->state;
  auto i = st.presence.find(&t);
  if (i == st.presence.end())
    return;
  auto& p = i->second;
  p.watchers.erase(&conn);
  announce(self, p, t, conn, false);
  if (!conn.user.empty()) {
    auto u = p.users.find(conn.user);
    if (u != p.users.end() && --u->second == 0)
      p.users.erase(u);
  }
  // Its last subscriber leaves: the topic may go away (and its address be
  // reused), so nothing may stay keyed by it.
  if (t.subscribers.size() <= 1)
    st.presence.erase(i);
}

void presence_left_all(hub_pointer self, hub_connection& conn) {
  if (self->state.presence.empty())
    return;
  for (auto s = conn.topics.head; s != nullptr; s = s->next)
    presence_leaving(self, conn, *s->topic);
}

void presence_command(hub_pointer self, hub_connection& conn, const client_presence& cmd) {
  auto& st = self->state;
  if (!st.settings.options_for(cmd.topic).presence) {
    refuse_not_enabled(self, conn, cmd.id);
    return;
  }
  ++st.stats.presence_queries;
  if (st.cluster) {
    presence_across(self, conn, cmd);
    return;
  }
  auto quoted = protocol::quote(cmd.topic);
  auto frame = cmd.stats
                 ? protocol::presence_stats(quoted, presence_count(st, cmd.topic), cmd.id)
                 : protocol::presence(quoted, presence_list(st, cmd.topic), cmd.id);
  enqueue(self, conn, share(frame));
}

caf::result<presence_info> presence_request(hub_pointer self, const query_presence& q) {
  auto& st = self->state;
  if (!protocol::valid_topic(q.topic))
    return make_error(hub_errc::invalid_topic);
  if (!st.settings.options_for(q.topic).presence)
    return make_error(hub_errc::not_enabled);
  ++st.stats.presence_queries;
  if (st.cluster)
    return presence_list_across(self, q.topic);
  return presence_list(st, q.topic);
}

caf::result<presence_counts> presence_stats_request(hub_pointer self,
                                                    const query_presence_stats& q) {
  auto& st = self->state;
  if (!protocol::valid_topic(q.topic))
    return make_error(hub_errc::invalid_topic);
  if (!st.settings.options_for(q.topic).presence)
    return make_error(hub_errc::not_enabled);
  ++st.stats.presence_queries;
  if (st.cluster)
    return presence_count_across(self, q.topic);
  return presence_count(st, q.topic);
}

caf::result<presence_part> presence_part_request(hub_pointer self,
                                                 const presence_part_query& q) {
  auto& st = self->state;
  if (!protocol::valid_topic(q.topic))
    return make_error(hub_errc::invalid_topic);
  if (!st.settings.options_for(q.topic).presence)
    return make_error(hub_errc::not_enabled);
  presence_part part;
  if (q.stats) {
    part.count = presence_count(st, q.topic, &part.users).clients;
  } else {
    auto list = presence_list(st, q.topic);
    part.clients = std::move(list.clients);
    part.truncated = list.truncated;
  }
  return part;
}

} // namespace switchboard
