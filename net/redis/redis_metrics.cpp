#include "redis/redis_metrics.hpp"

#include "observe/exposition.hpp"
#include "redis/redis_history.hpp"

namespace switchboard::net {

namespace {

histogram_data latency_of(const redis_shards& redis) {
  histogram_data h;
  h.counts.assign(redis_latency_bounds_us.size() + 1, 0);
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < redis.size(); ++s) {
    auto& l = redis.metrics(s).latency;
    for (std::size_t i = 0; i < h.counts.size(); ++i)
      h.counts[i] += l.count(i);
    sum += l.sum();
  }
  for (auto bound : redis_latency_bounds_us)
    h.bounds.push_back(static_cast<double>(bound) / 1e6);
  h.sum = static_cast<double>(sum) / 1e6;
  return h;
}

} // namespace

void write_redis_metrics(exposition& out, const redis_shards& redis) {
  auto per_server = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto value) {
    out.family(name, type, help);
    for (std::size_t s = 0; s < redis.size(); ++s) {
      auto& m = redis.metrics(s);
      out.sample(name, {{"server", m.address}}, static_cast<std::uint64_t>(value(m)));
    }
  };
  per_server("switchboard_redis_connected", "gauge",
             "1 while the node is connected to this Redis server, else 0.",
             [](const redis_metrics& m) { return m.connected.load(); });
  per_server("switchboard_redis_reconnects_total", "counter",
             "Connections to this Redis server made again after one was lost.",
             [](const redis_metrics& m) { return m.reconnects.read(); });
  per_server("switchboard_redis_errors_total", "counter",
             "Failed connects, lost connections, timeouts and error replies of this Redis "
             "server.",
             [](const redis_metrics& m) { return m.errors.read(); });
  per_server("switchboard_redis_timeouts_total", "counter",
             "Connections to this Redis server dropped for a reply later than "
             "--redis-timeout.",
             [](const redis_metrics& m) { return m.timeouts.read(); });
  std::uint64_t appends = 0;
  for (std::size_t s = 0; s < redis.size(); ++s)
    appends += redis.metrics(s).appends.read();
  out.family("switchboard_history_appends_total", "counter",
             "Messages this node stored in the histories in Redis.");
  out.sample("switchboard_history_appends_total", {}, appends);
  out.histogram("switchboard_redis_latency_seconds",
                "Round trip of a Redis command, from its write to its reply (every server).",
                latency_of(redis));
}

boost::json::object redis_stats_json(const redis_shards& redis) {
  boost::json::array servers;
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < redis.size(); ++s) {
    auto& m = redis.metrics(s);
    servers.push_back(boost::json::object{{"server", m.address},
                                          {"connected", m.connected.load()},
                                          {"reconnects", m.reconnects.read()},
                                          {"errors", m.errors.read()},
                                          {"timeouts", m.timeouts.read()},
                                          {"appends", m.appends.read()}});
    for (std::size_t i = 0; i <= redis_latency_bounds_us.size(); ++i)
      count += m.latency.count(i);
    sum += m.latency.sum();
  }
  return {{"servers", std::move(servers)}, {"latency_us", {{"count", count}, {"sum", sum}}}};
}

} // namespace switchboard::net
