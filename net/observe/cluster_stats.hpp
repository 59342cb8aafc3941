#pragma once

// GET /stats?scope=cluster: the node's /stats object next to what its
// cluster actor knows (query_cluster, asked by http_session). Pure.

#include "observe/stats_json.hpp"
#include "switchboard/cluster.hpp"

#include <string>
#include <string_view>

namespace switchboard::net {

enum class stats_scope { node, cluster, invalid };

/// The `scope` parameter of a /stats target: node (also when absent),
/// cluster, or invalid (any other value).
stats_scope scope_of(std::string_view target);

/// `{"node":<stats_json>,"cluster":{"address":..,"incarnation":"N",
/// "backlog_limit":N,"peers":[..],"nodes_answered":N,"connections":N,
/// "topic_count":N,"topics":{name:count}}}` and a newline. Incarnations
/// are strings (random 64-bit ids: JSON numbers above 2^53 are not exact
/// in JavaScript). Without `names` (http_route.hpp, cluster_names_visible)
/// the numbers only: no `address` (the node's and each peer's) and no
/// `topics`.
std::string cluster_stats_json(const hub_stats& hub, const rejection_counts& rejections,
                               const cluster_info& info, bool names = true);

} // namespace switchboard::net
