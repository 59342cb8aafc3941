// query_cluster: this node's peers as the cluster actor sees them, plus the
// statistics of every node that answers within a second (each cluster actor
// asks its own hub for them: cluster_report_atom), summed. The fan-out is
// the costly part, so there is one at a time, and its numbers answer every
// query for a second after it ended unless a member came or went meanwhile
// (the peers' states are always current): a client that asks in a loop
// costs every node at most one report a second (more only while members
// come and go). query_peers (/metrics) is the first part alone: no fan-out.

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

// One fan-out: every member and our own hub asked; the numbers of those
// that answer are summed.
struct fan_out {
  hub_stats totals;
  std::map<std::string, std::uint64_t> topics;
  std::uint64_t nodes_answered = 0;
  std::unordered_set<std::string> answered;
  std::size_t pending = 0;

  void add(const cluster_report& rep) {
    add_to(totals, rep.stats);
    for (auto& kvp : rep.topics)
      topics[kvp.first] += kvp.second;
    ++nodes_answered;
  }
};

const char* state_of(const cluster_peer& p) {
  if (p.up)
    return "up";
  if (p.refused)
    return "refused";
  return p.was_up ? "down" : "dialing";
}

// This node's view of its peers, now, with the numbers of the last fan-out.
cluster_info compose(cluster_pointer self) {
  auto& g = self->state.gather;
  auto info = peers_now(self);
  for (auto& p : info.peers)
    p.answered = p.state == "up" && g.answered.count(p.address) != 0;
  info.totals = g.totals;
  info.topics = g.topics;
  info.totals.topics = info.topics.size();
  info.nodes_answered = g.nodes_answered;
  return info;
}

void gathered(cluster_pointer self, fan_out& f) {
  auto& g = self->state.gather;
  auto waiting = std::move(g.waiting);
  g.running = false;
  g.totals = std::move(f.totals);
  g.topics = std::move(f.topics);
  g.nodes_answered = f.nodes_answered;
  g.answered = std::move(f.answered);
  g.done_at = self->clock().now();
  // A member that came or went meanwhile made these numbers stale already.
  g.valid = g.membership == self->state.membership;
  auto info = compose(self);
  for (auto& rp : waiting)
    rp.deliver(info);
}

void start_fan_out(cluster_pointer self) {
  auto& st = self->state;
  st.gather.running = true;
  st.gather.membership = st.membership;
  ++st.gather.rounds;
  auto f = std::make_shared<fan_out>();
  std::vector<std::pair<std::string, caf::actor>> asked;
  for (auto& kvp : st.peers)
    if (kvp.second.up)
      asked.emplace_back(kvp.first, kvp.second.handle);
  f->pending = asked.size() + 1;
  auto one_done = [self, f] {
    if (--f->pending == 0)
      gathered(self, *f);
  };
  ask_hub(self, [f, one_done](caf::optional<cluster_report> rep) {
    if (rep)
      f->add(*rep);
    one_done();
  });
  for (auto& [address, handle] : asked) {
    self->request(handle, query_timeout, cluster_report_atom::value)
      .then(
        [f, one_done, address = address](cluster_report& rep) {
          f->answered.insert(address);
          f->add(rep);
          one_done();
        },
        [one_done](caf::error&) { one_done(); });
  }
}

} // namespace

cluster_info peers_now(cluster_pointer self) {
  auto& st = self->state;
  cluster_info info;
  info.address = st.settings.address;
  info.incarnation = st.incarnation;
  info.tag = st.tag;
  info.backlog_limit = st.settings.backlog;
  for (auto& kvp : st.peers) {
    auto& p = kvp.second;
    peer_info x;
    x.address = p.address;
    x.state = state_of(p);
    x.incarnation = p.incarnation;
    x.forwarded = p.forwarded;
    x.received = p.received;
    x.gaps = p.gaps;
    x.dropped = p.dropped;
    x.backlog = p.unacked + p.out_messages;
    x.reconnects = p.reconnects;
    info.peers.push_back(std::move(x));
  }
  return info;
}

caf::result<cluster_info> query(cluster_pointer self) {
  auto& st = self->state;
  auto& g = st.gather;
  if (!g.running && g.valid && g.membership == st.membership
      && self->clock().now() - g.done_at < cluster_query_reuse)
    return compose(self);
  // One fan-out at a time: a query that comes while one runs waits for it.
  auto rp = self->make_response_promise<cluster_info>();
  g.waiting.push_back(rp);
  if (!g.running)
    start_fan_out(self);
  return rp;
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
