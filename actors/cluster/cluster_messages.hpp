#pragma once

// What crosses between a hub and its cluster actor and between the cluster
// actors of two nodes (cluster_state.hpp has the actor). Not installed.

#include "switchboard/cluster.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace switchboard {

// -- ids ------------------------------------------------------------------------------

/// A clustered node's connection ids carry its tag in their top 16 of 53
/// bits, so any node can tell where a connection lives.
constexpr unsigned node_tag_shift = 37;

constexpr std::uint16_t node_tag_of(conn_id id) noexcept {
  return static_cast<std::uint16_t>(id >> node_tag_shift);
}

// -- what crosses between hub and cluster actor, and between nodes ---------------------

/// One thing for other nodes: the hub hands them to its cluster actor, the
/// cluster actor batches them per peer, and the peer's cluster actor hands
/// the hub what it received (never forwarded again).
struct cluster_item {
  enum kind_t : std::uint8_t {
    publish = 1,     ///< topic, data, from
    interest_on,     ///< topic: this node has its first subscriber (or listener)
    interest_off,    ///< topic: this node lost its last one
    direct,          ///< to, data, from (a connection) or sender ("service:NAME")
    user_send,       ///< topic = the user, data, from or sender
    user_disconnect, ///< topic = the user, code, data = the reason
    close,           ///< to (a connection), code, data = the reason
    /// A publish on a topic with history that a shared store numbered:
    /// topic, data, from, to = its offset, sender = its epoch. (A kind of
    /// its own, in the fields every version has: a node that does not know
    /// it drops it as an unknown kind, and the link stays up.)
    numbered_publish,
    /// Presence across the cluster (cluster_presence.cpp): from = the
    /// connection, sender = its user (empty: anonymous), on a topic with
    /// join/leave. A join or leave happened on the sending node.
    member_join,
    member_leave,
    /// A member the sending node has (a snapshot, sent when the receiver's
    /// interest in the topic begins): recorded by the receiver, and
    /// announced to its watchers as a join only when code is 1 (a snapshot
    /// after a hello: members the receiver had not known).
    member_sync,
  };
  kind_t kind = publish;
  std::string topic = {};
  std::string data = {};
  conn_id from = 0;
  conn_id to = 0;
  std::string sender = {};
  std::uint16_t code = 0;
};

// -- presence across the cluster ---------------------------------------------------

/// One node's part of a presence query: its subscribers of the topic (a
/// list, for `presence`) or their count and distinct users (for
/// `presence_stats`: distinct across nodes needs the names).
struct presence_part {
  std::vector<presence_client> clients = {};
  bool truncated = false;
  std::uint64_t count = 0;
  std::vector<std::string> users = {};
};

/// To a hub: its own part of a presence query, never asking other nodes
/// (a cluster actor asks it for a peer). Reply: presence_part; not_enabled,
/// invalid_topic.
struct presence_part_query {
  std::string topic = {};
  bool stats = false;
};

/// From a hub to its cluster actor: the parts of every member that answers
/// in time. Reply: cluster_presence_parts.
struct cluster_presence_query {
  std::string topic = {};
  bool stats = false;
};

/// The parts of the members that answered, and how many were asked.
struct cluster_presence_parts {
  std::vector<presence_part> parts = {};
  std::uint64_t asked = 0;
};

/// What the hub sees of its cluster actor.
using cluster_inbox_actor =
  caf::typed_actor<caf::reacts_to<cluster_item>,
                   caf::replies_to<cluster_presence_query>::with<cluster_presence_parts>>;

/// The hub learns its cluster actor and the node's tag.
struct cluster_attach {
  cluster_inbox_actor cluster;
  std::uint16_t tag = 0;
};

/// What a cluster actor hands its hub: items from one peer, in order.
struct cluster_delivery {
  std::vector<cluster_item> items;
};

/// Membership: sent by a cluster actor to a peer it dialed or that said
/// hello first. `epoch` changes when the sender rejoins without a restart
/// (after its backlog to the receiver overflowed).
struct cluster_hello {
  caf::actor sender;
  std::string address;
  std::uint64_t incarnation = 0;
  std::uint64_t epoch = 0;
  std::uint16_t tag = 0;
  std::vector<std::string> members; ///< addresses the sender knows
  std::vector<std::string> topics;  ///< the sender's interest
};

/// Items from one peer to another, numbered per link.
struct cluster_batch {
  std::uint64_t seq = 0;
  std::vector<cluster_item> items;
};

/// The receiver of batches up to `seq` handled them.
struct cluster_ack {
  std::uint64_t seq = 0;
};

/// One node's part of a query_cluster (reply to cluster_report_atom).
struct cluster_report {
  hub_stats stats;
  std::map<std::string, std::uint64_t> topics;
};

using cluster_flush_atom = caf::atom_constant<caf::atom("cl_flush")>;
/// The hub goes on with deliveries from other nodes it paused (to itself).
using cluster_resume_atom = caf::atom_constant<caf::atom("cl_resume")>;
using cluster_redial_atom = caf::atom_constant<caf::atom("cl_redial")>;
using cluster_report_atom = caf::atom_constant<caf::atom("cl_report")>;
/// (cluster_presence_atom, topic, stats) to a peer's cluster actor: its
/// node's presence_part.
using cluster_presence_atom = caf::atom_constant<caf::atom("cl_presnc")>;
/// (cluster_start_atom, address, caf::io::middleman_actor): the node
/// published the cluster actor at address; dial peers through that
/// middleman actor (plain or TLS: the node chose, docs/cluster.md).
using cluster_start_atom = caf::atom_constant<caf::atom("cl_start")>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_item& x) {
  return f(caf::meta::type_name("cluster_item"), x.kind, x.topic, x.data, x.from, x.to,
           x.sender, x.code);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_attach& x) {
  return f(caf::meta::type_name("cluster_attach"), x.cluster, x.tag);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_delivery& x) {
  return f(caf::meta::type_name("cluster_delivery"), x.items);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_hello& x) {
  return f(caf::meta::type_name("cluster_hello"), x.sender, x.address, x.incarnation,
           x.epoch, x.tag, x.members, x.topics);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_batch& x) {
  return f(caf::meta::type_name("cluster_batch"), x.seq, x.items);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_ack& x) {
  return f(caf::meta::type_name("cluster_ack"), x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_report& x) {
  return f(caf::meta::type_name("cluster_report"), x.stats, x.topics);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_part& x) {
  return f(caf::meta::type_name("presence_part"), x.clients, x.truncated, x.count, x.users);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_part_query& x) {
  return f(caf::meta::type_name("presence_part_query"), x.topic, x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_presence_query& x) {
  return f(caf::meta::type_name("cluster_presence_query"), x.topic, x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_presence_parts& x) {
  return f(caf::meta::type_name("cluster_presence_parts"), x.parts, x.asked);
}

/// Registers every type above and those of cluster.hpp (add_message_types
/// calls it: every node registers them, clustered or not).
void add_cluster_message_types(caf::actor_system_config& cfg);

} // namespace switchboard
