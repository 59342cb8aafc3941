#pragma once

// The cluster actor's inside: what cluster actors say to each other and to
// their hubs, the state of each peer, and the functions the cluster's source
// files share (cluster.cpp: membership; cluster_forward.cpp: batches and
// acks; cluster_query.cpp: query_cluster). Not installed.

#include "cluster/cluster_check.hpp"
#include "cluster/cluster_messages.hpp"
#include "hub/hub_state.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <spdlog/fwd.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace switchboard {

// -- state ----------------------------------------------------------------------------

/// Members of topics with join/leave: topic -> connection id -> user.
using member_record =
  std::unordered_map<std::string, std::unordered_map<conn_id, std::string>>;

struct cluster_peer {
  std::string address;
  caf::actor handle;   ///< null until a dial or a hello gave one
  /// What our own dial of `address` reached: a hello from this handle is
  /// the node at that address, not someone who claims it.
  caf::actor dialed;
  bool up = false;     ///< its hello arrived: it is a member
  bool was_up = false; ///< it has been a member since this node started
  std::uint64_t reconnects = 0; ///< times it became a member again
  bool hello_sent = false;
  bool dialing = false; ///< a connect request is in flight
  std::uint64_t incarnation = 0;
  std::uint64_t epoch = 0; ///< its epoch, from its last hello
  std::uint16_t tag = 0;
  std::unordered_set<std::string> interest;
  /// The members its last hello named (dialed only when it is a seed that
  /// our own dial reached: cluster.cpp, learn_members).
  std::vector<std::string> members;
  /// The next batch, and the messages (items other than interest changes)
  /// and bytes in it.
  std::vector<cluster_item> out;
  std::size_t out_messages = 0;
  std::size_t out_bytes = 0;
  /// Batches sent and not acknowledged: (seq, messages).
  std::deque<std::pair<std::uint64_t, std::size_t>> in_flight;
  std::size_t unacked = 0; ///< messages in in_flight: the backlog
  std::uint64_t next_seq = 0;
  std::uint64_t forwarded = 0; ///< messages sent to it
  std::uint64_t received = 0;  ///< messages received from it
  std::uint64_t gaps = 0;      ///< messages dropped because it fell behind
  /// Malformed items and hello parts it sent (cluster_check.hpp).
  std::uint64_t dropped = 0;
  caf::timespan backoff{0};
  /// Redial timers of an older round find a different number here.
  std::uint64_t redial_round = 0;
  /// Marks a peer only a clash refused: never dialed again.
  bool refused = false;
  /// A failed dial was logged as a warning since it was last up: the next
  /// ones are debug lines, not a warning at every redial.
  bool dial_warned = false;
  /// The members it announced (joins and snapshots, minus leaves) on
  /// topics this node is interested in, by topic and connection id: when
  /// it is lost, this node's watchers get a leave for each
  /// (cluster_presence.cpp). At most cluster_members_per_peer.
  member_record announced;
  std::size_t announced_count = 0;
};

/// The last fan-out of query_cluster (cluster_query.cpp): the numbers of the
/// nodes that answered, reused for a while so that a flood of queries does
/// not become a flood of requests to every node.
struct cluster_gather {
  bool running = false;
  /// Queries waiting for the fan-out that is running.
  std::vector<caf::typed_response_promise<cluster_info>> waiting;
  /// Whether the numbers below may be reused: the fan-out ended with the
  /// membership it started with (and it is still the same, query() checks).
  bool valid = false;
  caf::actor_clock::time_point done_at{};
  std::uint64_t membership = 0; ///< cluster_state::membership at its start
  hub_stats totals;
  std::map<std::string, std::uint64_t> topics;
  std::uint64_t nodes_answered = 0;
  std::unordered_set<std::string> answered; ///< addresses of peers that answered
  std::uint64_t rounds = 0; ///< fan-outs started
};

struct cluster_state {
  hub_internal_actor hub;
  cluster_settings settings;
  /// The middleman actor peers are dialed through (given with
  /// cluster_start_atom): CAF's plain one, or the OpenSSL module's for a
  /// cluster over TLS. The cluster actor itself knows nothing of TLS.
  caf::io::middleman_actor dialer;
  std::uint64_t incarnation = 0;
  std::uint16_t tag = 0;
  std::uint64_t epoch = 0; ///< ours, sent in every hello
  std::shared_ptr<spdlog::logger> log;
  std::map<std::string, cluster_peer> peers; ///< by address
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  /// Topics with a local subscriber or listener (the hub's interest).
  std::unordered_set<std::string> interest;
  bool flush_scheduled = false;
  std::uint64_t peers_lost = 0;
  /// Changes whenever a member comes or goes.
  std::uint64_t membership = 0;
  cluster_gather gather;
  /// Lines about malformed input are throttled: one a second at most, the
  /// drops in between counted into the next.
  caf::actor_clock::time_point drop_logged_at{};
  std::uint64_t drops_unlogged = 0;
  /// This node's own members of topics with join/leave (from its hub's
  /// member_join and member_leave): the snapshot a peer gets when its
  /// interest in a topic begins.
  member_record local_members;
  /// Joins from peers not recorded (a peer past cluster_members_per_peer):
  /// no leave will be sent for them if that peer is lost.
  std::uint64_t members_unrecorded = 0;
  static inline const char* name = "switchboard.cluster";
};

using cluster_pointer = caf::stateful_actor<cluster_state>*;

/// A cluster actor for `hub`: links to it and tells it the tag; once sent
/// (cluster_start_atom, address, dialer) it dials the seeds through
/// `dialer`. `incarnation` and
/// `tag` are random per node start (non-zero).
caf::behavior cluster(cluster_pointer self, hub_internal_actor hub, cluster_settings settings,
                      std::uint64_t incarnation, std::uint16_t tag,
                      std::shared_ptr<spdlog::logger> log);

// -- shared by the cluster's source files -----------------------------------------------

/// The most peers a node knows (a mesh is meant for a handful): hellos
/// from further addresses are refused.
constexpr std::size_t max_cluster_peers = 256;

/// A query_cluster within this time after a fan-out ended (and with the
/// same members) is answered with that fan-out's numbers.
constexpr caf::timespan cluster_query_reuse = std::chrono::seconds(1);

// Batches per peer are cut at this many items or bytes.
constexpr std::size_t cluster_batch_items = 512;
constexpr std::size_t cluster_batch_bytes = 256 * 1024;

/// The most members of other nodes recorded per peer (for the leave
/// events sent when it is lost).
constexpr std::size_t cluster_members_per_peer = 100000;

/// How long a presence query waits for the members' parts.
constexpr caf::timespan cluster_presence_timeout = std::chrono::seconds(1);

/// An item from the hub: queued for the peers that need it.
void forward(cluster_pointer self, cluster_item& item);

/// Sends every peer's queued batch.
void flush_all(cluster_pointer self);

/// Queues our whole interest for `p` (it became a member after our hello
/// went out: interest that came meanwhile is in no hello it got).
void send_interest(cluster_pointer self, cluster_peer& p);

/// A batch from a peer: handed to the hub, acknowledged.
void on_batch(cluster_pointer self, cluster_batch& batch);

void on_ack(cluster_pointer self, const cluster_ack& ack);

/// Forgets everything about a peer's link (queued items, batches in flight,
/// its interest and tag), keeps its address and counters.
void reset_link(cluster_peer& p);

/// Drops a peer that fell behind and says hello again (cluster.cpp).
void rejoin(cluster_pointer self, cluster_peer& p);

/// Counts `n` malformed things from `p` and logs them, at most one line a
/// second (cluster.cpp).
void dropped_from(cluster_pointer self, cluster_peer& p, std::uint64_t n, const char* what);

/// The reply to query_cluster (cluster_query.cpp).
caf::result<cluster_info> query(cluster_pointer self);

/// The reply to query_peers: this node and its peers, now (cluster_query.cpp).
cluster_info peers_now(cluster_pointer self);

/// This node's part of a query.
caf::result<cluster_report> report(cluster_pointer self);

/// Queues `item` for `p` (cluster_forward.cpp).
void queue_for(cluster_pointer self, cluster_peer& p, const cluster_item& item);

// Presence across the cluster (cluster_presence.cpp).
/// The reply to the hub's cluster_presence_query: asks every member.
caf::result<cluster_presence_parts> gather_presence(cluster_pointer self,
                                                    const cluster_presence_query& q);
/// The reply to a peer's cluster_presence_atom: this node's part.
caf::result<presence_part> presence_part_of(cluster_pointer self, std::string& topic,
                                            bool stats);
/// A member_join or member_leave from our hub: recorded, and queued for
/// the peers interested in its topic.
void forward_member(cluster_pointer self, const cluster_item& item);
/// A member item from `p`: recorded; true when the hub must see it.
bool take_member(cluster_pointer self, cluster_peer& p, cluster_item& item);
/// `p`'s interest in `topic` began: it gets our members of it as
/// member_sync items (`announce`: after a hello, as joins).
void sync_members(cluster_pointer self, cluster_peer& p, const std::string& topic,
                  bool announce);
/// Our interest in `topic` ended: what peers announced on it is forgotten.
void forget_members(cluster_pointer self, const std::string& topic);
/// `p` is lost (or its link reset): our hub gets a leave for every member
/// it announced, and they are forgotten.
void members_lost(cluster_pointer self, cluster_peer& p);

} // namespace switchboard
