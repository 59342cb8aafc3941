#include "hub/topic_table.hpp"

#include "protocol.hpp"

namespace switchboard {

std::pair<topic_table::outcome, hub_topic*>
topic_table::subscribe(hub_connection& conn, subscription_list& subs,
                       const std::string& name, const limits& lim) {
  auto t = find(name);
  if (t != nullptr && subscriptions_.count(key{&conn, t}) != 0)
    return {outcome::already, t};
  if (subs.size >= lim.per_connection)
    return {outcome::connection_limit, nullptr};
  if (t == nullptr && (t = ensure(name, lim.topics)) == nullptr)
    return {outcome::node_limit, nullptr};
  auto& s = subscriptions_[key{&conn, t}];
  s.conn = &conn;
  s.topic = t;
  s.index = static_cast<std::uint32_t>(t->subscribers.size());
  t->subscribers.push_back(&s);
  s.next = subs.head;
  if (subs.head != nullptr)
    subs.head->prev = &s;
  subs.head = &s;
  ++subs.size;
  return {outcome::subscribed, t};
}

bool topic_table::unsubscribe(hub_connection& conn, subscription_list& subs,
                              const std::string& name) {
  auto t = find(name);
  if (t == nullptr)
    return false;
  auto i = subscriptions_.find(key{&conn, t});
  if (i == subscriptions_.end())
    return false;
  remove(subs, i->second);
  return true;
}

void topic_table::unsubscribe_all(subscription_list& subs) {
  while (subs.head != nullptr)
    remove(subs, *subs.head);
}

hub_topic* topic_table::ensure(const std::string& name, std::size_t max_topics) {
  if (auto t = find(name))
    return t;
  if (topics_.size() >= max_topics)
    return nullptr;
  auto [i, added] = topics_.try_emplace(name);
  auto& t = i->second;
  t.name = &i->first;
  t.quoted = protocol::quote(name);
  if (on_change)
    on_change(name, true);
  return &t;
}

hub_topic* topic_table::find(const std::string& name) {
  auto i = topics_.find(name);
  return i == topics_.end() ? nullptr : &i->second;
}

void topic_table::drop_if_empty(hub_topic& t) {
  // By iterator: `t.name` points into the node that goes away.
  if (!t.empty())
    return;
  if (on_change)
    on_change(*t.name, false);
  topics_.erase(topics_.find(*t.name));
}

void topic_table::remove(subscription_list& subs, subscription& s) {
  auto& t = *s.topic;
  // Swap with the last subscriber, which takes over this position.
  auto last = t.subscribers.back();
  t.subscribers[s.index] = last;
  last->index = s.index;
  t.subscribers.pop_back();
  // Unlink from the connection's list.
  if (s.prev != nullptr)
    s.prev->next = s.next;
  else
    subs.head = s.next;
  if (s.next != nullptr)
    s.next->prev = s.prev;
  --subs.size;
  subscriptions_.erase(key{s.conn, s.topic});
  drop_if_empty(t);
}

} // namespace switchboard
