// Presence across the cluster (docs/cluster.md, "Presence"). Queries: the
// hub answers its own part and asks its cluster actor for the parts of the
// other nodes; the cluster actor asks every member's cluster actor, which
// asks its own hub (presence_part_query: never a fan-out again), and hands
// back what arrived within cluster_presence_timeout, with the number of
// members asked, so that the answer can say it is partial.
//
// Join/leave: a join or leave on a topic with join/leave goes to every peer
// interested in the topic (as a publish does), whose hub tells its
// watchers. Each node records what every peer announced on the topics it is
// interested in, so that when a peer is lost its watchers get a leave for
// each of that peer's members. A peer whose interest in a topic begins gets
// this node's members of it (a snapshot, member_sync): members that joined
// before it was interested would otherwise never get their leave.

#include "cluster/cluster_state.hpp"

#include <spdlog/logger.h>

#include <memory>

namespace switchboard {

namespace {

// One fan-out of a presence query.
struct presence_gather {
  caf::typed_response_promise<cluster_presence_parts> rp;
  cluster_presence_parts result;
  std::size_t pending = 0;

  void one_done() {
    if (--pending == 0)
      rp.deliver(std::move(result));
  }
};

bool recorded(const cluster_peer& p, const cluster_item& item) {
  auto i = p.announced.find(item.topic);
  return i != p.announced.end() && i->second.count(item.from) != 0;
}

void record(cluster_pointer self, cluster_peer& p, const cluster_item& item) {
  if (recorded(p, item))
    return;
  if (p.announced_count >= cluster_members_per_peer) {
    ++self->state.members_unrecorded;
    return;
  }
  p.announced[item.topic].emplace(item.from, item.sender);
  ++p.announced_count;
}

void unrecord(cluster_peer& p, const cluster_item& item) {
  auto i = p.announced.find(item.topic);
  if (i == p.announced.end())
    return;
  p.announced_count -= i->second.erase(item.from);
  if (i->second.empty())
    p.announced.erase(i);
}

} // namespace

caf::result<cluster_presence_parts> gather_presence(cluster_pointer self,
                                                    const cluster_presence_query& q) {
  auto& st = self->state;
  // Only our hub asks for a fan-out.
  auto& sender = self->current_sender();
  if (!sender || sender->address() != st.hub.address())
    return caf::make_error(caf::sec::unexpected_message);
  auto g = std::make_shared<presence_gather>();
  g->rp = self->make_response_promise<cluster_presence_parts>();
  std::vector<caf::actor> asked;
  for (auto& kvp : st.peers)
    if (kvp.second.up)
      asked.push_back(kvp.second.handle);
  g->result.asked = asked.size();
  if (asked.empty()) {
    g->rp.deliver(std::move(g->result));
    return g->rp;
  }
  g->pending = asked.size();
  for (auto& handle : asked)
    self->request(handle, cluster_presence_timeout, cluster_presence_atom::value, q.topic,
                  q.stats)
      .then(
        [g](presence_part& part) {
          g->result.parts.push_back(std::move(part));
          g->one_done();
        },
        // Not answered in time (or refused): left out, and the answer says
        // it is partial.
        [g](caf::error&) { g->one_done(); });
  return g->rp;
}

caf::result<presence_part> presence_part_of(cluster_pointer self, std::string& topic,
                                            bool stats) {
  // Only members ask (a stranger learns nothing of our subscribers).
  auto& st = self->state;
  auto& sender = self->current_sender();
  auto i = sender ? st.by_actor.find(sender->address()) : st.by_actor.end();
  if (i == st.by_actor.end())
    return caf::make_error(caf::sec::unexpected_message);
  if (auto j = st.peers.find(i->second); j == st.peers.end() || !j->second.up)
    return caf::make_error(caf::sec::unexpected_message);
  auto rp = self->make_response_promise<presence_part>();
  self->request(st.hub, cluster_presence_timeout, presence_part_query{std::move(topic), stats})
    .then([rp](presence_part& part) mutable { rp.deliver(std::move(part)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void forward_member(cluster_pointer self, const cluster_item& item) {
  auto& st = self->state;
  if (item.kind == cluster_item::member_join) {
    st.local_members[item.topic][item.from] = item.sender;
  } else if (auto i = st.local_members.find(item.topic); i != st.local_members.end()) {
    i->second.erase(item.from);
    if (i->second.empty())
      st.local_members.erase(i);
  }
  for (auto& kvp : st.peers)
    if (kvp.second.up && kvp.second.interest.count(item.topic) != 0)
      queue_for(self, kvp.second, item);
}

bool take_member(cluster_pointer self, cluster_peer& p, cluster_item& item) {
  // What we are not interested in (any more) is not recorded: our
  // interest_off may have crossed the peer's item.
  if (self->state.interest.count(item.topic) == 0)
    return false;
  switch (item.kind) {
    case cluster_item::member_join:
      record(self, p, item);
      return true;
    case cluster_item::member_leave:
      unrecord(p, item);
      return true;
    case cluster_item::member_sync: {
      auto known = recorded(p, item);
      record(self, p, item);
      if (item.code != 1 || known)
        return false;
      item.kind = cluster_item::member_join;
      return true;
    }
    default:
      return false;
  }
}

void sync_members(cluster_pointer self, cluster_peer& p, const std::string& topic,
                  bool announce) {
  auto i = self->state.local_members.find(topic);
  if (i == self->state.local_members.end())
    return;
  for (auto& [id, user] : i->second)
    queue_for(self, p,
              {cluster_item::member_sync, topic, {}, id, 0, user,
               static_cast<std::uint16_t>(announce ? 1 : 0)});
}

void forget_members(cluster_pointer self, const std::string& topic) {
  for (auto& kvp : self->state.peers) {
    auto& p = kvp.second;
    if (auto i = p.announced.find(topic); i != p.announced.end()) {
      p.announced_count -= i->second.size();
      p.announced.erase(i);
    }
  }
}

void members_lost(cluster_pointer self, cluster_peer& p) {
  if (p.announced_count == 0) {
    p.announced.clear();
    return;
  }
  cluster_delivery leaves;
  leaves.items.reserve(p.announced_count);
  for (auto& [topic, entries] : p.announced)
    for (auto& [id, user] : entries)
      leaves.items.push_back({cluster_item::member_leave, topic, {}, id, 0, user, 0});
  self->state.log->info("cluster: members of address={} gone: {} leave(s)", p.address,
                        leaves.items.size());
  p.announced.clear();
  p.announced_count = 0;
  self->send(self->state.hub, std::move(leaves));
}

} // namespace switchboard
