#pragma once

// The body of GET /metrics: the hub's statistics, the admission's
// rejections and every I/O loop's counters and histograms, in the
// Prometheus text format (docs/operations.md lists every metric).

#include "admission/admission_table.hpp"
#include "observe/loop_metrics.hpp"
#include "switchboard/cluster.hpp"
#include "switchboard/messages.hpp"
#include "tls/tls_metrics.hpp"

#include <string>
#include <vector>

namespace switchboard::net {

class redis_shards;

/// `Content-Type` of the page.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4";

/// The whole page (every family, zeros included, so that a series never
/// appears out of nowhere), the process_* families, on a clustered node
/// (`cluster` not null) the cluster's (cluster_metrics.hpp; `names`: per
/// peer, by address), and the switchboard_tls_* families with `tls` (a TLS
/// node's), and the switchboard_redis_* families with `redis` (a node
/// with --redis).
std::string metrics_page(const hub_stats& hub, const rejection_counts& rejections,
                         const std::vector<const loop_metrics*>& loops,
                         const cluster_info* cluster = nullptr, bool cluster_names = true,
                         const tls_snapshot* tls = nullptr,
                         const redis_shards* redis = nullptr);

} // namespace switchboard::net
