// The hub's side of a cluster: it tells its cluster actor what must leave
// the node (publishes, interest changes, sends to connections or users
// elsewhere) and delivers what the cluster actor hands it from other nodes
// to its own connections and listeners, never forwarding it again. The hub
// holds no middleman code: the cluster actor (cluster.cpp) does that.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <spdlog/logger.h>

namespace switchboard {

namespace {

void deliver_item(hub_pointer self, cluster_item& item) {
  auto& st = self->state;
  switch (item.kind) {
    case cluster_item::publish:
      publish_local(self, item.topic, item.data, item.from);
      break;
    case cluster_item::numbered_publish:
      // Numbered by the shared store on the node that published it: handed
      // out here in the store's order. A node without that store (a
      // misconfigured cluster) numbers it as its own.
      if (stores_async(st, item.topic))
        accept_numbered(self, item.topic, item.data, item.from,
                        stream_position{item.to, item.sender});
      else
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
    case cluster_item::member_join:
    case cluster_item::member_leave:
      presence_remote(self, item);
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
  // (After whatever the hub itself watches: hub_history.cpp, init_history.)
  st.topics.on_change = [self, before = std::move(st.topics.on_change)](
                          const std::string& topic, bool on) {
    if (before)
      before(topic, on);
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
  deliver_remote(self, msg);
}

void deliver_remote(hub_pointer self, cluster_delivery& msg) {
  // A delivery holds up to hundreds of publishes that a local publisher
  // would have sent one by one, paced by its own reads. While it is handed
  // out, a socket it congests (half its bound queued) gets its next frames
  // held back, in order, and every other connection is served at once
  // (hub_holding.cpp): one slow socket never delays anybody else.
  auto& st = self->state;
  st.remote_delivery = true;
  std::size_t n = 0;
  for (auto& item : msg.items) {
    deliver_item(self, item);
    // What every max_batch items collected goes out at once: a socket that
    // gets a frame now and then need not wait for the whole delivery.
    if (++n % max_batch == 0)
      drain(self);
  }
  drain(self);
  st.remote_delivery = false;
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
