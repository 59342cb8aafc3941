// What the hub tells about its topics and connections (the server API's
// GET requests). Every answer is bounded: a topic list holds at most
// max_topics_listed entries, a connection at most its topic limit.

#include "hub/hub_state.hpp"

#include <algorithm>

namespace switchboard {

namespace {

topic_info info_of(const hub_topic& t) {
  return {*t.name, t.subscribers.size(), t.listeners.size()};
}

} // namespace

topic_list list_topics(hub_pointer self, const query_topics& q) {
  auto& topics = self->state.topics;
  topic_list result;
  result.total = topics.size();
  auto limit = std::min(q.limit, max_topics_listed);
  // The table is a hash map: without a prefix this stops after `limit`
  // topics; a prefix that matches few topics walks the whole table
  // (docs/api.md says so).
  topics.for_each_until([&](const hub_topic& t) {
    if (t.name->compare(0, q.prefix.size(), q.prefix) != 0)
      return true;
    if (result.topics.size() == limit) {
      result.truncated = true;
      return false;
    }
    result.topics.push_back(info_of(t));
    return true;
  });
  return result;
}

caf::result<topic_info> describe_topic(hub_pointer self, const query_topic& q) {
  auto t = self->state.topics.find(q.name);
  if (t == nullptr)
    return make_error(hub_errc::not_found);
  return info_of(*t);
}

caf::result<connection_info> describe_connection(hub_pointer self,
                                                 const query_connection& q) {
  auto& st = self->state;
  auto i = st.connections.find(q.conn);
  if (i == st.connections.end())
    return make_error(hub_errc::not_found);
  auto& conn = i->second;
  connection_info result;
  result.id = conn.id;
  result.user = conn.user;
  for (auto s = conn.topics.head; s != nullptr; s = s->next)
    result.topics.push_back(*s->topic->name);
  result.age = std::chrono::duration_cast<caf::timespan>(self->clock().now() - conn.joined);
  auto wall = caf::make_timestamp().time_since_epoch();
  result.connected_since = wall - result.age;
  return result;
}

} // namespace switchboard
