#pragma once

// The node's Redis history store: what node::start makes from
// node_config::redis and node::stop ends. Internal to net/.

#include "redis/redis_history.hpp"

#include "switchboard/node.hpp"

#include <caf/expected.hpp>

namespace switchboard::net {

/// The store's connections (their counters for /stats and /metrics) and
/// its actor (hub_settings::history_store).
struct redis_store {
  std::shared_ptr<redis_shards> shards;
  caf::actor actor;

  /// Closes the connections (pending requests answered unavailable; waits
  /// at most a second for the loop, which must still run and must not be
  /// this thread), then ends the actor and waits at most a second for its
  /// end. True when the actor ended: from then on `shards` (and the copies
  /// the caller made) are all that hold the connections, and dropping them
  /// before the loop's io_context goes is what keeps the connections'
  /// strand and timers from outliving it.
  bool stop();

  /// Ends the actor and waits at most `wait` for its end (what stop() does
  /// after closing the connections): for a node whose loop never ran.
  bool end_actor(caf::timespan wait);
};

/// Resolves the servers of `cfg.redis` (once, here: hiredis would resolve
/// on the loop, blocking it), starts a connection to each on `ioc` and
/// spawns the store actor. An error when a name does not resolve.
caf::expected<redis_store> start_redis_store(caf::actor_system& sys,
                                             boost::asio::io_context& ioc,
                                             const node_config& cfg);

} // namespace switchboard::net
