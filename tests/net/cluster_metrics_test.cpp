// The cluster's families of /metrics (observe/cluster_metrics.hpp) from a
// known cluster_info: per peer with names, summed without, label values
// escaped, every state listed; and a clustered metrics page.

#include "observe/cluster_metrics.hpp"
#include "observe/metrics_page.hpp"

#include "exposition_support.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;

namespace {

peer_info peer(std::string address, std::string state, std::uint64_t base) {
  peer_info p;
  p.address = std::move(address);
  p.state = std::move(state);
  p.incarnation = 9007199254740993u;
  p.forwarded = base + 1;
  p.received = base + 2;
  p.gaps = base + 3;
  p.dropped = base + 4;
  p.backlog = base + 5;
  p.reconnects = base + 6;
  return p;
}

cluster_info three_peers() {
  cluster_info info;
  info.address = "10.0.0.1:4000";
  info.incarnation = 18446744073709551557u;
  info.tag = 513;
  info.backlog_limit = 10000;
  info.peers.push_back(peer("10.0.0.2:4000", "up", 0));
  info.peers.push_back(peer("10.0.0.3:4000", "down", 10));
  // An address is validated (host:port) before it becomes a peer; the
  // label is escaped whatever it holds.
  info.peers.push_back(peer("we\"ird\\:1", "dialing", 100));
  return info;
}

std::string render(const cluster_info& info, bool names) {
  exposition out;
  cluster_metrics(out, info, names);
  return out.text();
}

} // namespace

TEST_CASE("cluster metrics: the node's id, and per peer its state and counters") {
  auto page = render(three_peers(), true);
  INFO(page);
  // The incarnation exactly, as a label (a sample value is a double).
  CHECK(has_line(page, "switchboard_cluster_node_info{incarnation=\"18446744073709551557\","
                       "tag=\"513\",address=\"10.0.0.1:4000\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_backlog_limit_messages 10000"));
  CHECK(has_line(page, "switchboard_cluster_peers{state=\"up\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_peers{state=\"down\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_peers{state=\"dialing\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_peers{state=\"refused\"} 0"));
  CHECK(has_line(page, "# TYPE switchboard_cluster_peer_up gauge"));
  CHECK(has_line(page, "switchboard_cluster_peer_up{peer=\"10.0.0.2:4000\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_peer_up{peer=\"10.0.0.3:4000\"} 0"));
  CHECK(has_line(page, "switchboard_cluster_peer_up{peer=\"we\\\"ird\\\\:1\"} 0"));
  CHECK(has_line(page, "# TYPE switchboard_cluster_forwarded_total counter"));
  CHECK(has_line(page, "switchboard_cluster_forwarded_total{peer=\"10.0.0.3:4000\"} 11"));
  CHECK(has_line(page, "switchboard_cluster_received_total{peer=\"10.0.0.3:4000\"} 12"));
  CHECK(has_line(page, "switchboard_cluster_gaps_total{peer=\"10.0.0.3:4000\"} 13"));
  CHECK(has_line(page, "switchboard_cluster_dropped_total{peer=\"10.0.0.3:4000\"} 14"));
  CHECK(has_line(page, "# TYPE switchboard_cluster_backlog_messages gauge"));
  CHECK(has_line(page, "switchboard_cluster_backlog_messages{peer=\"10.0.0.3:4000\"} 15"));
  CHECK(has_line(page, "switchboard_cluster_reconnects_total{peer=\"10.0.0.3:4000\"} 16"));
  CHECK(has_line(page, "switchboard_cluster_reconnects_total{peer=\"10.0.0.2:4000\"} 6"));
}

TEST_CASE("cluster metrics: without names, no address anywhere and one sum per family") {
  auto page = render(three_peers(), false);
  INFO(page);
  CHECK(page.find("10.0.0") == std::string::npos);
  CHECK(page.find("ird") == std::string::npos);
  CHECK(page.find("switchboard_cluster_peer_up") == std::string::npos);
  CHECK(has_line(page, "switchboard_cluster_node_info{incarnation=\"18446744073709551557\","
                       "tag=\"513\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_peers{state=\"down\"} 1"));
  CHECK(has_line(page, "switchboard_cluster_forwarded_total 113")); // 1 + 11 + 101
  CHECK(has_line(page, "switchboard_cluster_gaps_total 119"));
  CHECK(has_line(page, "switchboard_cluster_backlog_messages 125"));
  CHECK(has_line(page, "switchboard_cluster_reconnects_total 128"));
}

TEST_CASE("cluster metrics: a node without peers lists every family and state") {
  cluster_info info;
  info.address = "a:1";
  auto page = render(info, true);
  for (auto state : {"up", "down", "dialing", "refused"})
    CHECK(has_line(page, std::string{"switchboard_cluster_peers{state=\""} + state + "\"} 0"));
  CHECK(has_line(page, "# TYPE switchboard_cluster_gaps_total counter"));
  CHECK(has_line(render(info, false), "switchboard_cluster_gaps_total 0"));
}

TEST_CASE("metrics page: a clustered node's page has the cluster and the process") {
  auto info = three_peers();
  auto page = metrics_page(hub_stats{}, rejection_counts{}, {}, &info, true);
  CHECK(has_line(page, "switchboard_connections 0"));
  CHECK(has_line(page, "switchboard_cluster_peer_up{peer=\"10.0.0.2:4000\"} 1"));
  CHECK(has_line(page, "# TYPE process_open_fds gauge"));
  // Each family declared once, counters named _total.
  std::set<std::string> declared;
  for (auto& line : lines_of(page)) {
    if (line.rfind("# TYPE ", 0) != 0)
      continue;
    std::istringstream in{line.substr(7)};
    std::string name;
    std::string type;
    in >> name >> type;
    INFO(line);
    CHECK(declared.insert(name).second);
    CHECK(valid_metric_name(name));
    if (type == "counter")
      CHECK(name.substr(name.size() - 6) == "_total");
  }
  auto plain = metrics_page(hub_stats{}, rejection_counts{}, {});
  CHECK(plain.find("switchboard_cluster_") == std::string::npos);
}
