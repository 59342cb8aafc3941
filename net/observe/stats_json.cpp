#include "observe/stats_json.hpp"

#include "redis/redis_history.hpp"

#include <boost/json.hpp>

namespace switchboard::net {

std::map<std::string, std::uint64_t>
merge_rejections(const rejection_counts& node,
                 const std::map<std::string, std::uint64_t>& extra) {
  auto result = upgrade_rejections(node);
  result.merge(connection_rejections(node));
  for (auto& [reason, n] : extra)
    result[reason] += n;
  return result;
}

std::string stats_json(const hub_stats& hub, const rejection_counts& rejections,
                       const tls_snapshot* tls, const redis_shards* redis) {
  boost::json::object disconnects;
  for (auto reason : all_exit_codes)
    disconnects[to_string(reason)] = 0;
  for (auto& [reason, n] : hub.disconnects)
    disconnects[reason] = n;
  boost::json::object rejected;
  // The hub's reasons are always listed, counted or not.
  auto hub_rejections = hub.rejections;
  for (auto reason : {"limit_exceeded", "rate_limited", "shutting_down", "forbidden"})
    hub_rejections.try_emplace(reason, 0);
  for (auto& [reason, n] : merge_rejections(rejections, hub_rejections))
    rejected[reason] = n;
  boost::json::object obj;
  obj["connections"] = hub.connections;
  obj["topics"] = hub.topics;
  obj["messages_in"] = hub.messages_in;
  obj["messages_out"] = hub.messages_out;
  obj["disconnects"] = std::move(disconnects);
  obj["rejections"] = std::move(rejected);
  // v1.1 (docs/protocol.md): histories, recoveries, presence, join/leave.
  boost::json::object history;
  history["topics"] = hub.history_topics;
  history["messages"] = hub.history_messages;
  history["bytes"] = hub.history_bytes;
  history["evicted"] = hub.history_evicted;
  history["recovered"] = hub.recovered;
  history["not_recovered"] = hub.not_recovered;
  obj["history"] = std::move(history);
  obj["presence_queries"] = hub.presence_queries;
  boost::json::object join_leave;
  join_leave["sent"] = hub.join_leave_sent;
  join_leave["suppressed"] = hub.join_leave_suppressed;
  obj["join_leave"] = std::move(join_leave);
  if (tls)
    obj["tls"] = tls_stats_json(*tls);
  if (redis)
    obj["redis"] = redis_stats_json(*redis);
  return boost::json::serialize(obj) + "\n";
}

} // namespace switchboard::net
