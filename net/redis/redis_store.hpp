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
  /// this thread) and ends the actor.
  void stop();
};

/// Resolves the servers of `cfg.redis` (once, here: hiredis would resolve
/// on the loop, blocking it), starts a connection to each on `ioc` and
/// spawns the store actor. An error when a name does not resolve.
caf::expected<redis_store> start_redis_store(caf::actor_system& sys,
                                             boost::asio::io_context& ioc,
                                             const node_config& cfg);

} // namespace switchboard::net
