#pragma once

// What a connection to one Redis server (one shard) counts, for /stats and
// /metrics. Written only on the connection's loop thread (one writer, like
// loop_metrics), read by any scrape. Internal to net/.

#include "observe/loop_metrics.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace switchboard::net {

/// Upper bounds of a Redis round trip (command written to reply read), in
/// microseconds: 100 us to 1 s.
inline constexpr std::array<std::uint64_t, 10> redis_latency_bounds_us{
  100, 250, 500, 1'000, 2'500, 5'000, 10'000, 50'000, 250'000, 1'000'000};

/// One shard's counters.
struct redis_metrics {
  std::string address; ///< host:port, the label of its series
  std::atomic<bool> connected{false};
  loop_counter reconnects; ///< connections made after the first
  loop_counter errors;     ///< error replies, failed connects, lost connections, timeouts
  loop_counter timeouts;   ///< connections dropped for a reply later than the timeout
  loop_counter appends;    ///< history messages stored
  loop_histogram<redis_latency_bounds_us.size()> latency{redis_latency_bounds_us};
};

class exposition;
class redis_shards;

/// The switchboard_redis_* families and switchboard_history_appends_total:
/// per server (label `server`, host:port as given) whether connected, its
/// reconnects, errors and timeouts; the round-trip latency of every server
/// together.
void write_redis_metrics(exposition& out, const redis_shards& redis);

/// The `redis` object of /stats: {"servers":[{"server":..,"connected":..,
/// "reconnects":..,"errors":..,"timeouts":..,"appends":..}],
/// "latency_us":{"count":..,"sum":..}}.
boost::json::object redis_stats_json(const redis_shards& redis);

} // namespace switchboard::net
