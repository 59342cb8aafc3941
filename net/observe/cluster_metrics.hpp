#pragma once

// The cluster's families of GET /metrics: this node's id, its peers' states
// and, per peer, the messages forwarded, received and lost, the backlog and
// the reconnects (what query_peers answers; docs/operations.md). Pure.

#include "observe/exposition.hpp"
#include "switchboard/cluster.hpp"

namespace switchboard::net {

/// Appends the cluster families to `out`. With `names` (the request may
/// see peer addresses: http_route.hpp, cluster_names_visible) every peer
/// has its own series labelled `peer="host:port"`, and
/// switchboard_cluster_peer_up says which are members; without, each
/// family has one series summed over the peers (and there is no
/// switchboard_cluster_peer_up), as /stats?scope=cluster hides the
/// addresses then.
void cluster_metrics(exposition& out, const cluster_info& info, bool names);

} // namespace switchboard::net
