// The cluster actor: the hub's envoy to the other nodes. Membership is a
// full mesh built from hellos: a node dials every address it knows (seeds
// and addresses learned from hellos) through the middleman actor it was
// started with (plain or TLS), never uses a handle that a third node passed
// on, monitors each member, and redials a lost one with jittered
// exponential backoff. Forwarding and
// acks live in cluster_forward.cpp, queries in cluster_query.cpp.

#include "cluster/cluster_state.hpp"

#include "protocol.hpp"
#include "switchboard/log_text.hpp"

#include <caf/io/middleman_actor.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <random>
#include <utility>

namespace switchboard {

namespace {

// The delay before the next dial of `p`: doubles from redial_min to
// redial_max, +-20 % so that nodes that lost each other do not dial in step.
caf::timespan next_backoff(cluster_pointer self, cluster_peer& p) {
  auto& s = self->state.settings;
  p.backoff = p.backoff.count() == 0 ? s.redial_min : std::min(p.backoff * 2, s.redial_max);
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter{0.8, 1.2};
  return caf::timespan{static_cast<caf::timespan::rep>(p.backoff.count() * jitter(rng))};
}

void dial(cluster_pointer self, cluster_peer& p);
void learn_members(cluster_pointer self, cluster_peer& p);

void schedule_redial(cluster_pointer self, cluster_peer& p) {
  if (p.refused)
    return;
  self->delayed_send(self, next_backoff(self, p), cluster_redial_atom::value, p.address,
                     ++p.redial_round);
}

std::vector<std::string> topics_of(const cluster_state& st) {
  return {st.interest.begin(), st.interest.end()};
}

void say_hello(cluster_pointer self, cluster_peer& p) {
  auto& st = self->state;
  cluster_hello msg{caf::actor{self}, st.settings.address, st.incarnation, st.epoch, st.tag,
                    {}, topics_of(st)};
  for (auto& kvp : st.peers)
    if (kvp.second.up)
      msg.members.push_back(kvp.first);
  p.hello_sent = true;
  self->send(p.handle, std::move(msg));
}

void clash(cluster_pointer self, const std::string& address, const caf::node_id& nid) {
  self->state.log->error("cluster: node id clash address={} node={}: the peer has this "
                         "node's id (same host and PID?), refused",
                         address, caf::to_string(nid));
}

// A handle for `p`'s address (from our own dial or from the peer's hello).
void adopt(cluster_pointer self, cluster_peer& p, caf::actor handle) {
  auto& st = self->state;
  if (p.handle == handle)
    return;
  if (p.handle) {
    st.by_actor.erase(p.handle.address());
    self->demonitor(p.handle);
  }
  p.handle = std::move(handle);
  p.hello_sent = false;
  st.by_actor[p.handle.address()] = p.address;
  self->monitor(p.handle);
}

// The peer a dial to `address` was for, no longer dialing; null when it
// was forgotten meanwhile.
cluster_peer* dial_ended(cluster_pointer self, const std::string& address) {
  auto i = self->state.peers.find(address);
  if (i == self->state.peers.end())
    return nullptr;
  i->second.dialing = false;
  return &i->second;
}

void connected(cluster_pointer self, const std::string& address, caf::node_id& nid,
               caf::strong_actor_ptr& ptr) {
  auto& st = self->state;
  auto found = dial_ended(self, address);
  if (found == nullptr)
    return;
  auto& p = *found;
  if (nid == self->node()) {
    // Our own address under another name, or another node with our id.
    p.refused = true;
    if (ptr && ptr->address() == self->address())
      st.log->info("cluster: {} is this node's own address, not dialed again", address);
    else
      clash(self, address, nid);
    return;
  }
  if (!ptr) {
    // The port is open but nothing is published there (yet).
    schedule_redial(self, p);
    return;
  }
  p.dialed = caf::actor_cast<caf::actor>(ptr);
  if (p.up) {
    // Its hello came first: it is a member already, and now known to be
    // the node at its address.
    learn_members(self, p);
    return;
  }
  adopt(self, p, p.dialed);
  // A hello again (our last one got no answer): with a new epoch, so that a
  // peer that still counts us as a member resets its view of us and answers
  // instead of taking it for a repeat.
  if (p.hello_sent)
    ++self->state.epoch;
  say_hello(self, p);
  // Until its hello makes it a member, we dial and say hello again (with
  // the backoff): a hello can be lost with a connection that CAF closes.
  schedule_redial(self, p);
}

// A dial that reached a port and failed there is a peer this node cannot
// talk to: with cluster TLS, mostly a failed TLS handshake (one side
// without TLS, or a certificate not from the other's CA), which CAF's
// OpenSSL module reports as cannot_connect_to_node without a context or as
// disconnect_during_handshake, and logs nothing of. Said once until the
// peer joins; a port where nothing listens (a node not up yet: CAF's
// "ip_connect failed" with the address as context) stays a debug line.
void dial_failed(cluster_pointer self, const std::string& address, const caf::error& err) {
  auto& st = self->state;
  auto found = dial_ended(self, address);
  if (found == nullptr)
    return;
  auto& p = *found;
  auto reason = log_value(describe_error(err));
  auto nothing_listens = err == caf::sec::cannot_connect_to_node && !err.context().empty();
  if (!nothing_listens && !p.dial_warned)
    st.log->warn("cluster: cannot join address={} reason={} cause={}", address, reason,
                 log_value("the port answered but the handshake failed (cluster TLS on one "
                           "side only, a certificate not from the other side's CA, or not a "
                           "switchboard cluster port); dialing again"));
  else if (st.log->should_log(spdlog::level::debug))
    st.log->debug("cluster: dial failed address={} reason={}", address, reason);
  p.dial_warned = p.dial_warned || !nothing_listens;
  schedule_redial(self, p);
}

void dial(cluster_pointer self, cluster_peer& p) {
  if (p.dialing || p.up || p.refused)
    return;
  auto [host, port] = split_address(p.address);
  if (port == 0) {
    self->state.log->error("cluster: not an address (host:port): {}", p.address);
    p.refused = true;
    return;
  }
  p.dialing = true;
  auto address = p.address;
  self->request(self->state.dialer, std::chrono::seconds(10), caf::connect_atom::value, host,
                port)
    .then(
      [self, address](caf::node_id& nid, caf::strong_actor_ptr& ptr,
                      std::set<std::string>&) { connected(self, address, nid, ptr); },
      [self, address](caf::error& err) { dial_failed(self, address, err); });
}

cluster_peer& peer_at(cluster_pointer self, const std::string& address) {
  auto [i, added] = self->state.peers.try_emplace(address);
  if (added)
    i->second.address = address;
  return i->second;
}

// Dials `address` unless it is ours or known already.
void learn(cluster_pointer self, const std::string& address) {
  auto& st = self->state;
  if (address.empty() || address == st.settings.address || st.peers.count(address) != 0
      || st.peers.size() >= max_cluster_peers)
    return;
  dial(self, peer_at(self, address));
}

bool is_seed(const cluster_state& st, const std::string& address) {
  return std::find(st.settings.seeds.begin(), st.settings.seeds.end(), address)
         != st.settings.seeds.end();
}

// The members a peer names are dialed only when the peer is one of our
// seeds (the operator named it) and our own dial of its address reached
// the actor that said hello: a newcomer that knows one seed still finds
// the whole mesh, while a hello from anyone else cannot make this node
// dial addresses of its choosing.
void learn_members(cluster_pointer self, cluster_peer& p) {
  if (!p.up || !p.dialed || p.dialed != p.handle || !is_seed(self->state, p.address))
    return;
  for (auto& address : std::exchange(p.members, {}))
    learn(self, address);
}

// A hello that cannot be taken as it is: logged (throttled with other
// malformed input), and dropped.
void refuse_hello(cluster_pointer self, const cluster_hello& msg, const char* why) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now - st.drop_logged_at < std::chrono::seconds(1)) {
    ++st.drops_unlogged;
    return;
  }
  st.drop_logged_at = now;
  st.log->warn("cluster: refused a hello address={} node={}: {}",
               protocol::quote(msg.address.substr(0, 300)), caf::to_string(msg.sender.node()),
               why);
}

// Whether a hello may (re)define the peer at its address.
bool acceptable(cluster_pointer self, const cluster_hello& msg) {
  auto& st = self->state;
  if (!valid_peer_address(msg.address)) {
    refuse_hello(self, msg, "not a host:port");
    return false;
  }
  // One member, one address: a member may not take over another address
  // (a restarted node has a new handle).
  if (auto i = st.by_actor.find(msg.sender.address());
      i != st.by_actor.end() && i->second != msg.address) {
    auto j = st.peers.find(i->second);
    if (j != st.peers.end() && j->second.up) {
      refuse_hello(self, msg, "a member under another address");
      return false;
    }
  }
  if (st.peers.count(msg.address) == 0 && st.peers.size() >= max_cluster_peers) {
    refuse_hello(self, msg, "too many peers");
    return false;
  }
  return true;
}

// Takes what a hello says about its sender's interest and members, as far
// as it is well-formed.
void take_hello_lists(cluster_pointer self, cluster_peer& p, cluster_hello& msg) {
  std::uint64_t bad = 0;
  for (auto& topic : msg.topics) {
    if (valid_wire_topic(topic))
      p.interest.insert(std::move(topic));
    else
      ++bad;
  }
  p.members.clear();
  for (auto& address : msg.members) {
    if (p.members.size() < max_cluster_peers && valid_peer_address(address))
      p.members.push_back(std::move(address));
    else
      ++bad;
  }
  if (bad > 0)
    dropped_from(self, p, bad, "topics or members of a hello");
}

void on_hello(cluster_pointer self, cluster_hello& msg) {
  auto& st = self->state;
  if (!msg.sender || msg.sender.address() == self->address()
      || msg.address == st.settings.address)
    return;
  if (msg.sender.node() == self->node()) {
    clash(self, msg.address, msg.sender.node());
    return;
  }
  if (!acceptable(self, msg))
    return;
  auto& p = peer_at(self, msg.address);
  if (p.up && p.handle == msg.sender && p.incarnation == msg.incarnation
      && p.epoch == msg.epoch)
    return; // a member already
  if (p.incarnation != 0 && p.incarnation != msg.incarnation)
    st.log->info("cluster: peer restarted address={} incarnation={} was={}", p.address,
                 msg.incarnation, p.incarnation);
  // A new incarnation, a new handle or a rejoin: nothing of the old link
  // applies any more.
  auto fresh = p.up;
  members_lost(self, p);
  reset_link(p);
  adopt(self, p, msg.sender);
  if (fresh)
    p.hello_sent = false; // it reset its view of us: it needs our interest again
  if (p.was_up)
    ++p.reconnects;
  p.up = true;
  p.was_up = true;
  p.dialing = false;
  p.backoff = caf::timespan{0};
  p.incarnation = msg.incarnation;
  p.epoch = msg.epoch;
  p.tag = msg.tag;
  p.dial_warned = false;
  ++st.membership;
  take_hello_lists(self, p, msg);
  st.log->info("cluster: peer up address={} incarnation={}", p.address, p.incarnation);
  if (!p.hello_sent)
    say_hello(self, p);
  else
    // Our hello went out before this one came: a topic that got its first
    // subscriber since is in neither, and the peer would never forward it.
    send_interest(self, p);
  // Our members of the topics it watches are news to it: announced as joins
  // (after our hello: a full batch goes out at once).
  for (auto& topic : p.interest)
    sync_members(self, p, topic, true);
  learn_members(self, p);
}

void on_down(cluster_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.by_actor.find(dm.source);
  if (i == st.by_actor.end())
    return;
  auto j = st.peers.find(i->second);
  st.by_actor.erase(i);
  if (j == st.peers.end())
    return;
  auto& p = j->second;
  ++st.peers_lost;
  ++st.membership;
  st.log->info("cluster: peer down address={} reason={}", p.address,
               log_value(describe_error(dm.reason)));
  members_lost(self, p);
  reset_link(p);
  p.handle = nullptr;
  p.dialed = nullptr;
  p.up = false;
  p.hello_sent = false;
  // Our next hello to it carries a new epoch: if it still counts us as a
  // member (it may: a duplicate BASP connection between two nodes is closed
  // by CAF, and its proxy's down message reaches only one side), it resets
  // its view of us and answers, instead of taking the hello for a repeat
  // and leaving us waiting for its hello forever.
  ++st.epoch;
  schedule_redial(self, p);
}

void on_redial(cluster_pointer self, const std::string& address, std::uint64_t round) {
  auto& st = self->state;
  auto i = st.peers.find(address);
  if (i != st.peers.end() && i->second.redial_round == round)
    dial(self, i->second);
}

} // namespace

void reset_link(cluster_peer& p) {
  p.up = false;
  p.tag = 0;
  p.interest.clear();
  p.members.clear();
  p.out.clear();
  p.out_messages = 0;
  p.out_bytes = 0;
  p.in_flight.clear();
  p.unacked = 0;
}

void rejoin(cluster_pointer self, cluster_peer& p) {
  auto& st = self->state;
  // A new epoch tells the peer to reset its view of us, as a restart would.
  ++st.epoch;
  ++st.membership;
  members_lost(self, p);
  reset_link(p);
  say_hello(self, p);
}

void dropped_from(cluster_pointer self, cluster_peer& p, std::uint64_t n, const char* what) {
  auto& st = self->state;
  p.dropped += n;
  auto now = self->clock().now();
  if (now - st.drop_logged_at < std::chrono::seconds(1)) {
    st.drops_unlogged += n;
    return;
  }
  st.drop_logged_at = now;
  st.log->warn("cluster: dropped {} malformed item(s) from address={} (last: {}); {} more "
               "dropped since the last such line",
               n, p.address, what, std::exchange(st.drops_unlogged, 0));
}

namespace {

caf::behavior running(cluster_pointer self) {
  return {
    [self](cluster_item& item) {
      // Only the node's own hub hands over items.
      auto& sender = self->current_sender();
      if (sender && sender->address() == self->state.hub.address())
        forward(self, item);
    },
    [self](cluster_flush_atom) {
      self->state.flush_scheduled = false;
      flush_all(self);
    },
    [self](cluster_hello& msg) { on_hello(self, msg); },
    [self](cluster_batch& batch) { on_batch(self, batch); },
    [self](cluster_ack& ack) { on_ack(self, ack); },
    [self](cluster_redial_atom, std::string& address, std::uint64_t round) {
      on_redial(self, address, round);
    },
    [self](query_cluster) { return query(self); },
    [self](query_peers) { return peers_now(self); },
    [self](cluster_report_atom) { return report(self); },
    [self](const cluster_presence_query& q) { return gather_presence(self, q); },
    [self](cluster_presence_atom, std::string& topic, bool stats) {
      return presence_part_of(self, topic, stats);
    },
  };
}

// Once published, the node tells the actor the address peers reach it at
// and the middleman actor to dial them through; only then does it dial
// (pitfall 8 of cluster-notes: publish before dialing) and say hello.
void start(cluster_pointer self, std::string& address, caf::io::middleman_actor& dialer) {
  auto& st = self->state;
  st.settings.address = std::move(address);
  st.dialer = std::move(dialer);
  // What a peer of another version (or a broken one) sends must not take
  // the cluster actor down.
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& x) {
    self->state.log->warn("cluster: dropped an unexpected message {}",
                          caf::to_string(x.content()));
    return caf::result<caf::message>{caf::make_error(caf::sec::unexpected_message)};
  });
  st.log->info("cluster: node address={} incarnation={} tag={}", st.settings.address,
               st.incarnation, st.tag);
  for (auto& seed : st.settings.seeds)
    learn(self, seed);
  self->become(running(self));
}

} // namespace

caf::behavior cluster(cluster_pointer self, hub_internal_actor hub, cluster_settings settings,
                      std::uint64_t incarnation, std::uint16_t tag,
                      std::shared_ptr<spdlog::logger> log) {
  auto& st = self->state;
  st.hub = std::move(hub);
  st.settings = std::move(settings);
  st.incarnation = incarnation;
  st.tag = tag;
  st.log = std::move(log);
  // One dies, the node dies: a hub without its envoy would silently stop
  // reaching the other nodes.
  self->link_to(st.hub);
  self->send(st.hub, cluster_attach{caf::actor_cast<cluster_inbox_actor>(self), tag});
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  self->set_error_handler([self](caf::error& err) {
    self->state.log->warn("cluster: an error message error={}",
                          log_value(describe_error(err)));
  });
  // Until started, everything else waits in the mailbox.
  self->set_default_handler(caf::skip);
  return {
    [self](cluster_start_atom, std::string& address, caf::io::middleman_actor& dialer) {
      start(self, address, dialer);
    },
  };
}

} // namespace switchboard
