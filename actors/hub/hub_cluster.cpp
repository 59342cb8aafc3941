// The hub's side of a cluster: it tells its cluster actor what must leave
// the node (publishes, interest changes, sends to connections or users
// elsewhere) and delivers what the cluster actor hands it from other nodes
// to its own connections and listeners, never forwarding it again. The hub
// holds no middleman code: the cluster actor (cluster.cpp) does that.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>

namespace switchboard {

namespace {

void deliver_item(hub_pointer self, cluster_item& item) {
  auto& st = self->state;
  switch (item.kind) {
    case cluster_item::publish:
      publish_local(self, item.topic, item.data, item.from);
      break;
    case cluster_item::direct:
      if (auto i = st.connections.find(item.to); i != st.connections.end())
        enqueue(self, i->second,
                protocol::make_frame(direct_frame(item.from, item.sender, item.data)));
      break;
    case cluster_item::user_send:
      if (first_of_user(st, item.topic) != nullptr)
        enqueue_to_user(self, item.topic,
                        protocol::make_frame(direct_frame(item.from, item.sender, item.data)));
      break;
    case cluster_item::user_disconnect:
      farewell_user(self, item.topic, item.code, item.data);
      break;
    case cluster_item::close:
      if (auto i = st.connections.find(item.to); i != st.connections.end())
        farewell_connection(self, i->second, item.code, item.data);
      break;
    default:
      // Interest is the cluster actor's business; anything else is no item
      // this version knows. (The cluster actor checked every item against
      // the rules a local request meets: cluster_check.cpp.)
      break;
  }
}

} // namespace

void attach_cluster(hub_pointer self, cluster_attach& msg) {
  auto& st = self->state;
  st.cluster = std::move(msg.cluster);
  st.tag = msg.tag;
  st.ids.set_tag(msg.tag);
  st.topics.on_change = [self](const std::string& topic, bool on) {
    to_cluster(self, {on ? cluster_item::interest_on : cluster_item::interest_off, topic,
                      {}, 0, 0, {}, 0});
  };
  // Topics that exist already (listeners added before the cluster came up).
  st.topics.for_each([self](const hub_topic& t) {
    to_cluster(self, {cluster_item::interest_on, *t.name, {}, 0, 0, {}, 0});
  });
}

void on_cluster_delivery(hub_pointer self, cluster_delivery& msg) {
  // From the node's own cluster actor only: a peer cannot reach the hub.
  auto& st = self->state;
  auto& sender = self->current_sender();
  if (!st.cluster || !sender || sender->address() != st.cluster.address()
      || msg.items.empty())
    return;
  st.remote_items += msg.items.size();
  st.remote.push_back(std::move(msg));
  if (!st.remote_paused)
    deliver_remote(self);
}

void deliver_remote(hub_pointer self) {
  // A batch from another node holds up to hundreds of publishes that a
  // local publisher would have sent one by one, paced by its own reads.
  // Handed over at once they could pass a healthy client's bound before its
  // I/O thread wrote any (slow_consumer for nobody's fault). So they go in
  // chunks, and while a socket that got frames is congested (half its bound
  // queued) the hub pauses for a millisecond, serving everything else
  // meanwhile. It never waits for long: after max_waits pauses in a row, or
  // with more than max_held items waiting, it goes on regardless, and a
  // client that really does not read meets its bound as always.
  constexpr std::size_t chunk = 64;
  constexpr std::size_t max_waits = 20;
  constexpr std::size_t max_held = 64 * 1024;
  auto& st = self->state;
  st.remote_paused = false;
  std::size_t done = 0;
  while (!st.remote.empty()) {
    auto& items = st.remote.front().items;
    while (st.remote_next < items.size()) {
      deliver_item(self, items[st.remote_next++]);
      --st.remote_items;
      if (++done % chunk != 0)
        continue;
      // Hand over what the chunk collected, then look at those sockets.
      auto touched = st.dirty;
      drain(self);
      auto congested = std::any_of(touched.begin(), touched.end(), [](hub_connection* c) {
        return !c->over_bound && c->transport->congested();
      });
      if (!congested) {
        st.remote_waits = 0;
      } else if (st.remote_waits < max_waits && st.remote_items < max_held) {
        ++st.remote_waits;
        st.remote_paused = true;
        self->delayed_send(self, std::chrono::milliseconds(1), cluster_resume_atom::value);
        return;
      }
    }
    st.remote.pop_front();
    st.remote_next = 0;
  }
}

void to_cluster(hub_pointer self, cluster_item item) {
  if (auto& c = self->state.cluster)
    self->send(c, std::move(item));
}

bool remote_id(const hub_state& st, conn_id id) {
  return st.cluster && node_tag_of(id) != st.tag;
}

std::string direct_frame(conn_id from, const std::string& sender, const std::string& data) {
  return sender.empty() ? protocol::direct(from, data)
                        : protocol::direct(protocol::quote(sender), data);
}

} // namespace switchboard
