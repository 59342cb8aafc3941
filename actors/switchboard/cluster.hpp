#pragma once

/// A cluster of switchboard nodes over CAF's middleman (BASP): each node runs
/// a cluster actor next to its hub, published on the cluster port; the
/// cluster actors form a full mesh, forward the publishes of their node to
/// the nodes with subscribers on the topic, and route direct sends to the
/// node a connection id names (docs/cluster.md). node_config::cluster turns
/// it on; ask the node's cluster actor (node::cluster()) with query_cluster.

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace switchboard {

/// How a node joins a cluster.
struct cluster_settings {
  /// "host:port" peers reach this node at (node::start fills it in from
  /// cluster_host and the bound port when empty).
  std::string address;
  /// "host:port" of other nodes; our own address may be among them (skipped).
  std::vector<std::string> seeds;
  /// Messages (publishes, direct and user sends, disconnects, closes) a
  /// peer may have unacknowledged; one more and the peer is dropped (the
  /// messages counted as its gap) and rejoined.
  std::size_t backlog = 10000;
  /// The largest data a message from a peer may carry; larger ones are
  /// dropped as malformed. node::start sets it to
  /// node_config::max_message_size: what this node's own clients may send.
  std::size_t max_data = 64 * 1024;
  /// A peer that is down (or a seed not up yet) is dialed again after
  /// redial_min, doubling up to redial_max, each delay +-20 %.
  caf::timespan redial_min = std::chrono::milliseconds(100);
  caf::timespan redial_max = std::chrono::seconds(5);
};

/// One peer as a cluster actor sees it.
struct peer_info {
  std::string address;
  /// "up"; "down" (it was a member and is lost: dialed again with the
  /// backoff, or waiting for its hello after a rejoin); "dialing" (never a
  /// member yet); or "refused" (a node-id clash or not an address: never
  /// dialed again).
  std::string state;
  std::uint64_t incarnation = 0; ///< the peer's, 0 while unknown
  /// Messages (publishes, direct messages, user sends and disconnects,
  /// closes) sent to it.
  std::uint64_t forwarded = 0;
  std::uint64_t received = 0; ///< messages received from it
  std::uint64_t gaps = 0;     ///< messages dropped because it fell behind
  /// Whether it answered the query in time (an "up" peer that did not is
  /// missing from totals and topics).
  bool answered = false;
  /// Malformed items and hello parts it sent, dropped (docs/cluster.md).
  std::uint64_t dropped = 0;
  /// Messages sent or queued for it and not acknowledged yet (one more
  /// than cluster_settings::backlog and it is dropped: its gap).
  std::uint64_t backlog = 0;
  /// Times it became a member again after it had been one (lost and back,
  /// restarted, or rejoined after it fell behind).
  std::uint64_t reconnects = 0;
};

/// The answer to query_cluster.
struct cluster_info {
  std::string address; ///< this node's
  /// This node's id in the cluster: random per start, non-zero.
  std::uint64_t incarnation = 0;
  /// This node's tag (the top bits of its connection ids).
  std::uint16_t tag = 0;
  /// cluster_settings::backlog of this node.
  std::uint64_t backlog_limit = 0;
  std::vector<peer_info> peers;
  hub_stats totals; ///< summed over the nodes that answered (this one included)
  std::map<std::string, std::uint64_t> topics; ///< subscribers, summed over the nodes
  std::uint64_t nodes_answered = 0;
};

/// Reply: cluster_info. Asks every member for its statistics (waits at most
/// about a second for them). One such fan-out runs at a time; its numbers
/// (totals, topics, nodes_answered, answered) answer every query for a
/// second after it ended unless a member came or went meanwhile. The peers'
/// states and counters are always current.
struct query_cluster {};

/// Reply: cluster_info with this node's own fields and its peers, now,
/// without asking any other node (totals, topics and nodes_answered are
/// zero, `answered` false): as cheap as a look at the actor's state, for
/// /metrics.
struct query_peers {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("peer_info"), x.address, x.state, x.incarnation,
           x.forwarded, x.received, x.gaps, x.answered, x.dropped, x.backlog, x.reconnects);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
  return f(caf::meta::type_name("cluster_info"), x.address, x.incarnation, x.tag,
           x.backlog_limit, x.peers, x.totals, x.topics, x.nodes_answered);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_cluster&) {
  return f(caf::meta::type_name("query_cluster"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_peers&) {
  return f(caf::meta::type_name("query_peers"));
}

} // namespace switchboard
