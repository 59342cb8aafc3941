// Forwarding between nodes: what the hub hands over is queued per peer (a
// publish only for peers with interest in its topic) and sent as one batch
// per peer once the cluster actor has worked through its mailbox (a flush
// it sends itself), or earlier when a batch is full. Interest changes ride
// in the same stream, so they keep their order with the publishes. Every
// batch is numbered and acknowledged; a peer with more than `backlog`
// messages (publishes, direct messages, user sends and disconnects, closes)
// unacknowledged is dropped (what it missed counted as its gap) and
// rejoined, so a slow or frozen peer never grows our memory. Interest
// changes do not count: the next hello carries the whole interest anyway,
// and counting the interest a new member is sent would trip the bound
// on a node with many topics.

#include "cluster/cluster_state.hpp"

#include <spdlog/logger.h>

namespace switchboard {

namespace {

void flush(cluster_pointer self, cluster_peer& p) {
  if (p.out.empty())
    return;
  auto& st = self->state;
  // (One batch may pass a backlog smaller than a batch when nothing else is
  // unacknowledged: it is bounded by cluster_batch_items anyway.)
  if (p.unacked > 0 && p.unacked + p.out_messages > st.settings.backlog) {
    p.gaps += p.out_messages;
    st.log->warn("cluster: peer fell behind address={} unacknowledged={} dropped={}: "
                 "rejoining",
                 p.address, p.unacked, p.out_messages);
    rejoin(self, p);
    return;
  }
  auto seq = ++p.next_seq;
  p.in_flight.emplace_back(seq, p.out_messages);
  p.unacked += p.out_messages;
  p.forwarded += p.out_messages;
  self->send(p.handle, cluster_batch{seq, std::move(p.out)});
  p.out.clear();
  p.out_messages = 0;
  p.out_bytes = 0;
}

void append(cluster_pointer self, cluster_peer& p, const cluster_item& item) {
  auto& st = self->state;
  p.out.push_back(item);
  p.out_bytes += item.topic.size() + item.data.size() + item.sender.size() + 32;
  // (A snapshot of members is bounded by this node's own subscribers, and
  // is sent when a peer's interest begins, as interest is: not counted.)
  if (item.kind != cluster_item::interest_on && item.kind != cluster_item::interest_off
      && item.kind != cluster_item::member_sync)
    ++p.out_messages;
  if (p.out.size() >= cluster_batch_items || p.out_bytes >= cluster_batch_bytes) {
    flush(self, p);
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, cluster_flush_atom::value);
  }
}

cluster_peer* sender_peer(cluster_pointer self) {
  auto& st = self->state;
  auto& sender = self->current_sender();
  if (!sender)
    return nullptr;
  auto i = st.by_actor.find(sender->address());
  if (i == st.by_actor.end())
    return nullptr;
  auto j = st.peers.find(i->second);
  return j == st.peers.end() || !j->second.up ? nullptr : &j->second;
}

} // namespace

void forward(cluster_pointer self, cluster_item& item) {
  auto& st = self->state;
  switch (item.kind) {
    case cluster_item::publish:
    case cluster_item::numbered_publish:
      for (auto& kvp : st.peers)
        if (kvp.second.up && kvp.second.interest.count(item.topic) != 0)
          append(self, kvp.second, item);
      return;
    case cluster_item::interest_on:
    case cluster_item::interest_off:
      if (item.kind == cluster_item::interest_on) {
        st.interest.insert(item.topic);
      } else {
        st.interest.erase(item.topic);
        forget_members(self, item.topic);
      }
      break;
    case cluster_item::member_join:
    case cluster_item::member_leave:
      forward_member(self, item);
      return;
    case cluster_item::member_sync:
      return; // only cluster actors make snapshots
    case cluster_item::direct:
    case cluster_item::close: {
      // The id names the node (its tag): only that one, if we know it
      // for sure; every member otherwise.
      cluster_peer* target = nullptr;
      std::size_t matches = 0;
      for (auto& kvp : st.peers)
        if (kvp.second.up && kvp.second.tag == node_tag_of(item.to)) {
          target = &kvp.second;
          ++matches;
        }
      if (matches == 1) {
        append(self, *target, item);
        return;
      }
      break;
    }
    default:
      break;
  }
  for (auto& kvp : st.peers)
    if (kvp.second.up)
      append(self, kvp.second, item);
}

void queue_for(cluster_pointer self, cluster_peer& p, const cluster_item& item) {
  append(self, p, item);
}

void send_interest(cluster_pointer self, cluster_peer& p) {
  for (auto& topic : self->state.interest)
    append(self, p, {cluster_item::interest_on, topic, {}, 0, 0, {}, 0});
}

void flush_all(cluster_pointer self) {
  for (auto& kvp : self->state.peers)
    if (kvp.second.up)
      flush(self, kvp.second);
}

void on_batch(cluster_pointer self, cluster_batch& batch) {
  auto p = sender_peer(self);
  if (p == nullptr) {
    // Not (or no longer) a member: what it sent before its hello, or after
    // we dropped it, is lost (its rejoin resets the link).
    if (self->state.log->should_log(spdlog::level::debug))
      self->state.log->debug("cluster: dropped a batch from a non-member");
    return;
  }
  cluster_delivery delivery;
  delivery.items.reserve(batch.items.size());
  std::uint64_t bad = 0;
  auto last_fault = wire_fault::none;
  for (auto& item : batch.items) {
    // Checked here, on the cluster actor's thread, not the hub's.
    if (auto fault = check_item(item, self->state.settings.max_data);
        fault != wire_fault::none) {
      ++bad;
      last_fault = fault;
      continue;
    }
    switch (item.kind) {
      case cluster_item::interest_on:
        p->interest.insert(item.topic);
        sync_members(self, *p, item.topic, false);
        break;
      case cluster_item::interest_off:
        p->interest.erase(item.topic);
        break;
      case cluster_item::member_join:
      case cluster_item::member_leave:
      case cluster_item::member_sync:
        if (take_member(self, *p, item))
          delivery.items.push_back(std::move(item));
        break;
      default:
        ++p->received;
        delivery.items.push_back(std::move(item));
        break;
    }
  }
  if (bad > 0)
    dropped_from(self, *p, bad, to_string(last_fault));
  if (!delivery.items.empty())
    self->send(self->state.hub, std::move(delivery));
  // (Acknowledged all the same: the peer must not resend what we refuse.)
  self->send(p->handle, cluster_ack{batch.seq});
}

void on_ack(cluster_pointer self, const cluster_ack& ack) {
  auto p = sender_peer(self);
  if (p == nullptr)
    return;
  // Acks of batches sent before a reset find nothing to take.
  while (!p->in_flight.empty() && p->in_flight.front().first <= ack.seq) {
    p->unacked -= p->in_flight.front().second;
    p->in_flight.pop_front();
  }
}

} // namespace switchboard
