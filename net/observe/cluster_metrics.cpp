#include "observe/cluster_metrics.hpp"

#include <string>

namespace switchboard::net {

namespace {

// The states peer_info::state takes; each is always listed, zero or not,
// so that an alert on one finds a series from the start.
constexpr const char* peer_states[] = {"up", "down", "dialing", "refused"};

// One per-peer family: a series per peer, or one sum over them.
void per_peer(exposition& out, const cluster_info& info, bool names, std::string_view name,
              std::string_view type, std::string_view help,
              std::uint64_t peer_info::*field) {
  out.family(name, type, help);
  if (!names) {
    std::uint64_t sum = 0;
    for (auto& p : info.peers)
      sum += p.*field;
    out.sample(name, {}, sum);
    return;
  }
  for (auto& p : info.peers)
    out.sample(name, {{"peer", p.address}}, p.*field);
}

} // namespace

void cluster_metrics(exposition& out, const cluster_info& info, bool names) {
  // The incarnation as a label: a 64-bit id is not exact as a sample value.
  auto incarnation = std::to_string(info.incarnation);
  auto tag = std::to_string(info.tag);
  labels node{{"incarnation", incarnation}, {"tag", tag}};
  if (names)
    node.emplace_back("address", info.address);
  out.family("switchboard_cluster_node_info", "gauge",
             "This node in its cluster: its incarnation (a random id per start), its tag "
             "(the top bits of its connection ids) and, where names are shown, its cluster "
             "address (the value is always 1).");
  out.sample("switchboard_cluster_node_info", node, std::uint64_t{1});
  out.family("switchboard_cluster_backlog_limit_messages", "gauge",
             "Unacknowledged messages a peer may have (--cluster-backlog); one more and it "
             "is dropped, its messages counted as its gap.");
  out.sample("switchboard_cluster_backlog_limit_messages", {}, info.backlog_limit);

  out.family("switchboard_cluster_peers", "gauge",
             "Peers this node knows, by state: up (a member), down (was a member, lost, "
             "dialed again), dialing (never a member yet), refused (never dialed again).");
  for (auto state : peer_states) {
    std::uint64_t n = 0;
    for (auto& p : info.peers)
      n += p.state == state ? 1 : 0;
    out.sample("switchboard_cluster_peers", {{"state", state}}, n);
  }
  if (names) {
    out.family("switchboard_cluster_peer_up", "gauge",
               "Whether the peer is a member now (1) or not (0: down, dialing or refused).");
    for (auto& p : info.peers)
      out.sample("switchboard_cluster_peer_up", {{"peer", p.address}},
                 std::uint64_t{p.state == "up" ? 1u : 0u});
  }
  per_peer(out, info, names, "switchboard_cluster_forwarded_total", "counter",
           "Messages (publishes, direct messages, user sends and disconnects, closes) sent "
           "to the peer.",
           &peer_info::forwarded);
  per_peer(out, info, names, "switchboard_cluster_received_total", "counter",
           "Messages received from the peer.", &peer_info::received);
  per_peer(out, info, names, "switchboard_cluster_gaps_total", "counter",
           "Messages lost to the peer: dropped because it had more than --cluster-backlog "
           "unacknowledged (it is rejoined).",
           &peer_info::gaps);
  per_peer(out, info, names, "switchboard_cluster_dropped_total", "counter",
           "Malformed items and hello parts the peer sent, dropped.", &peer_info::dropped);
  per_peer(out, info, names, "switchboard_cluster_backlog_messages", "gauge",
           "Messages sent or queued for the peer and not acknowledged yet.",
           &peer_info::backlog);
  per_peer(out, info, names, "switchboard_cluster_reconnects_total", "counter",
           "Times the peer became a member again after it had been one (lost and back, "
           "restarted, or rejoined after falling behind).",
           &peer_info::reconnects);
}

} // namespace switchboard::net
