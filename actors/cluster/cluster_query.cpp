// query_cluster: this node's peers as the cluster actor sees them, plus the
// statistics of every node that answers within a second (each cluster actor
// asks its own hub for them: cluster_report_atom), summed.

#include "cluster/cluster_state.hpp"

#include <functional>

namespace switchboard {

namespace {

constexpr auto query_timeout = std::chrono::seconds(1);

void add_to(hub_stats& sum, const hub_stats& x) {
  sum.connections += x.connections;
  sum.messages_in += x.messages_in;
  sum.messages_out += x.messages_out;
  for (auto& kvp : x.disconnects)
    sum.disconnects[kvp.first] += kvp.second;
  for (auto& kvp : x.rejections)
    sum.rejections[kvp.first] += kvp.second;
  sum.listeners += x.listeners;
  sum.services += x.services;
  sum.slow_listeners += x.slow_listeners;
  sum.mailbox += x.mailbox;
}

// Asks the hub for its statistics and topics; `done` gets them (or nothing
// when the hub does not answer).
void ask_hub(cluster_pointer self, std::function<void(caf::optional<cluster_report>)> done) {
  auto hub = self->state.hub;
  self->request(hub, query_timeout, query_stats{})
    .then(
      [self, hub, done](hub_stats& stats) {
        auto rep = std::make_shared<cluster_report>();
        rep->stats = std::move(stats);
        self->request(hub, query_timeout, query_topics{{}, max_topics_listed})
          .then(
            [rep, done](topic_list& list) {
              for (auto& t : list.topics)
                rep->topics[t.name] = t.subscribers;
              done(std::move(*rep));
            },
            [rep, done](caf::error&) { done(std::move(*rep)); });
      },
      [done](caf::error&) { done(caf::none); });
}

struct gathering {
  cluster_info info;
  std::size_t pending = 0;
  caf::response_promise rp;

  void add(const cluster_report& rep) {
    add_to(info.totals, rep.stats);
    for (auto& kvp : rep.topics)
      info.topics[kvp.first] += kvp.second;
    ++info.nodes_answered;
  }

  void one_done() {
    if (--pending == 0) {
      info.totals.topics = info.topics.size();
      rp.deliver(std::move(info));
    }
  }
};

} // namespace

caf::result<cluster_info> query(cluster_pointer self) {
  auto& st = self->state;
  auto g = std::make_shared<gathering>();
  g->rp = self->make_response_promise();
  g->info.address = st.settings.address;
  std::vector<std::pair<std::size_t, caf::actor>> asked;
  for (auto& kvp : st.peers) {
    auto& p = kvp.second;
    g->info.peers.push_back(peer_info{p.address, p.up ? "up" : p.refused ? "refused" : "dialing", p.incarnation,
                                      p.forwarded, p.received, p.gaps, false, p.dropped});
    if (p.up)
      asked.emplace_back(g->info.peers.size() - 1, p.handle);
  }
  g->pending = asked.size() + 1;
  ask_hub(self, [g](caf::optional<cluster_report> rep) {
    if (rep)
      g->add(*rep);
    g->one_done();
  });
  for (auto& [index, handle] : asked) {
    auto i = index;
    self->request(handle, query_timeout, cluster_report_atom::value)
      .then(
        [g, i](cluster_report& rep) {
          g->info.peers[i].answered = true;
          g->add(rep);
          g->one_done();
        },
        [g](caf::error&) { g->one_done(); });
  }
  return g->rp;
}

caf::result<cluster_report> report(cluster_pointer self) {
  auto rp = self->make_response_promise<cluster_report>();
  ask_hub(self, [rp](caf::optional<cluster_report> rep) mutable {
    if (rep)
      rp.deliver(std::move(*rep));
    else
      rp.deliver(caf::make_error(caf::sec::request_timeout));
  });
  return rp;
}

} // namespace switchboard
