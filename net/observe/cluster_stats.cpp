#include "observe/cluster_stats.hpp"

#include <boost/json.hpp>

namespace switchboard::net {

stats_scope scope_of(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return stats_scope::node;
  auto rest = target.substr(q + 1);
  auto result = stats_scope::node;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.substr(0, 6) != "scope=")
      continue;
    auto value = pair.substr(6);
    if (value == "node")
      result = stats_scope::node;
    else if (value == "cluster")
      result = stats_scope::cluster;
    else
      return stats_scope::invalid;
  }
  return result;
}

std::string cluster_stats_json(const hub_stats& hub, const rejection_counts& rejections,
                               const cluster_info& info, bool names) {
  boost::json::array peers;
  for (auto& p : info.peers) {
    // A random 64-bit id as a string: a JSON number above 2^53 loses its
    // last digits in JavaScript and jq.
    boost::json::object peer{{"state", p.state},
                             {"incarnation", std::to_string(p.incarnation)},
                             {"forwarded", p.forwarded},
                             {"received", p.received},
                             {"gaps", p.gaps},
                             {"dropped", p.dropped},
                             {"backlog", p.backlog},
                             {"reconnects", p.reconnects},
                             {"answered", p.answered}};
    if (names)
      peer["address"] = p.address;
    peers.push_back(std::move(peer));
  }
  boost::json::object cluster{{"incarnation", std::to_string(info.incarnation)},
                              {"backlog_limit", info.backlog_limit},
                              {"peers", std::move(peers)},
                              {"nodes_answered", info.nodes_answered},
                              {"connections", info.totals.connections},
                              {"topic_count", info.topics.size()}};
  if (names) {
    cluster["address"] = info.address;
    boost::json::object topics;
    for (auto& [name, n] : info.topics)
      topics[name] = n;
    cluster["topics"] = std::move(topics);
  }
  boost::json::object obj{{"node", boost::json::parse(stats_json(hub, rejections))},
                          {"cluster", std::move(cluster)}};
  return boost::json::serialize(obj) + "\n";
}

} // namespace switchboard::net
