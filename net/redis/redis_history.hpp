#pragma once

// The node's Redis history store (`--redis`): an actor that answers the
// store contract (switchboard/history_store.hpp) from one or more Redis
// servers, and the connections it uses. Internal to net/; the node spawns
// it when node_config::redis is set and hands it to the hub as
// hub_settings::history_store (docs/cluster.md, "Redis").
//
// Actors never touch a socket: the store actor hands each request to the
// connection of the topic's shard (a post onto that connection's strand),
// and the reply comes back to it as a message, which it turns into the
// contract's reply. Per shard at most max_pending requests wait for Redis;
// past that, and while a shard is disconnected, requests are answered
// hub_errc::unavailable at once.

#include "redis/redis_connection.hpp"
#include "redis/redis_metrics.hpp"
#include "redis/redis_scripts.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::net {

/// What the Redis store needs (node_config::redis).
struct redis_settings {
  /// host:port of each server; a topic lives on servers[shard_of(topic)].
  std::vector<std::string> servers;
  std::string password;
  std::string prefix = "switchboard:";
  caf::timespan timeout = std::chrono::seconds{2};
  /// Requests waiting for one server's answers before more are refused.
  std::size_t max_pending = 16384;
};

/// The shard of a topic among `shards` servers: FNV-1a (64 bits) of its
/// name, modulo the number of servers. Stable across nodes, builds and
/// restarts; every node of a cluster must list the servers in one order.
std::size_t redis_shard_of(std::string_view topic, std::size_t shards) noexcept;

/// The connections of a store and their counters. Created by the node,
/// shared with the store actor; stop() before the loops go.
class redis_shards {
public:
  /// `hosts` are resolved addresses with their ports, in the settings' order.
  redis_shards(boost::asio::io_context& ioc, const redis_settings& s,
               const std::vector<std::pair<std::string, std::uint16_t>>& hosts,
               std::shared_ptr<spdlog::logger> log);
  ~redis_shards();

  void start();
  /// Closes every connection (their pending requests answered
  /// unavailable); waits at most a second for the loop to do it. Not from
  /// the loop's thread.
  void stop();

  std::size_t size() const noexcept {
    return connections_.size();
  }
  redis_connection& connection(std::size_t shard) {
    return *connections_[shard];
  }
  redis_metrics& metrics(std::size_t shard) {
    return *metrics_[shard];
  }
  const redis_metrics& metrics(std::size_t shard) const {
    return *metrics_[shard];
  }
  const redis_scripts& scripts() const noexcept {
    return scripts_;
  }

private:
  redis_scripts scripts_;
  std::vector<std::shared_ptr<redis_metrics>> metrics_;
  std::vector<std::shared_ptr<redis_connection>> connections_;
};

/// Spawns the store actor over `shards` (already started).
caf::actor spawn_redis_history(caf::actor_system& sys, std::shared_ptr<redis_shards> shards,
                               const redis_settings& s, std::shared_ptr<spdlog::logger> log);

} // namespace switchboard::net
