#pragma once

// GET /stats?scope=cluster: the node's /stats object next to what its
// cluster actor knows (query_cluster). Pure except ask_cluster, which sends
// the query through a short-lived actor.

#include "node/node_context.hpp"
#include "observe/stats_json.hpp"
#include "switchboard/cluster.hpp"

#include <functional>
#include <optional>
#include <string_view>

namespace switchboard::net {

enum class stats_scope { node, cluster, invalid };

/// The `scope` parameter of a /stats target: node (also when absent),
/// cluster, or invalid (any other value).
stats_scope scope_of(std::string_view target);

/// `{"node":<stats_json>,"cluster":{"address":..,"peers":[..],
/// "nodes_answered":N,"connections":N,"topic_count":N,"topics":{name:count}}}`
/// and a newline. Without `names` (http_route.hpp, cluster_names_visible)
/// the numbers only: no `address` (the node's and each peer's) and no
/// `topics`.
std::string cluster_stats_json(const hub_stats& hub, const rejection_counts& rejections,
                               const cluster_info& info, bool names = true);

/// Asks the node's cluster actor; `done` runs on an actor's thread with the
/// answer, or nothing when the node is not clustered or it did not answer.
void ask_cluster(const std::shared_ptr<node_context>& ctx,
                 std::function<void(std::optional<cluster_info>)> done);

} // namespace switchboard::net
