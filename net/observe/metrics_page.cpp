#include "observe/metrics_page.hpp"

#include "observe/cluster_metrics.hpp"
#include "observe/exposition.hpp"
#include "observe/process_metrics.hpp"
#include "redis/redis_history.hpp"

#include "switchboard/version.hpp"

#include <map>

namespace switchboard::net {

namespace {

// Every loop's histogram added up; an observation divided by `unit` is in
// the exposed unit (1e6: microseconds to seconds; a division by an exact
// power of ten rounds correctly, so 50 us reads "5e-05").
template <std::size_t N>
histogram_data add_up(const std::vector<const loop_metrics*>& loops,
                      const std::array<std::uint64_t, N>& bounds,
                      const loop_histogram<N>& (*pick)(const loop_metrics&), double unit) {
  histogram_data h;
  h.counts.assign(N + 1, 0);
  std::uint64_t sum = 0;
  for (auto* m : loops) {
    auto& x = pick(*m);
    for (std::size_t i = 0; i <= N; ++i)
      h.counts[i] += x.count(i);
    sum += x.sum();
  }
  for (auto bound : bounds)
    h.bounds.push_back(static_cast<double>(bound) / unit);
  h.sum = static_cast<double>(sum) / unit;
  return h;
}

const loop_histogram<latency_bounds_us.size()>& latency_of(const loop_metrics& m) {
  return m.publish_latency;
}

const loop_histogram<depth_bounds.size()>& depth_of(const loop_metrics& m) {
  return m.queue_depth;
}

void counter(exposition& out, std::string_view name, std::string_view help,
             std::uint64_t value) {
  out.family(name, "counter", help);
  out.sample(name, {}, value);
}

void gauge(exposition& out, std::string_view name, std::string_view help,
           std::uint64_t value) {
  out.family(name, "gauge", help);
  out.sample(name, {}, value);
}

} // namespace

std::string metrics_page(const hub_stats& hub, const rejection_counts& rejections,
                         const std::vector<const loop_metrics*>& loops,
                         const cluster_info* cluster, bool cluster_names,
                         const tls_snapshot* tls, const redis_shards* redis) {
  exposition out;
  out.family("switchboard_info", "gauge", "The node's version (the value is always 1).");
  out.sample("switchboard_info", {{"version", switchboard::version}}, std::uint64_t{1});

  // -- connections
  std::uint64_t disconnected = 0;
  for (auto& [reason, n] : hub.disconnects)
    disconnected += n;
  gauge(out, "switchboard_connections", "WebSocket connections open now.", hub.connections);
  // Every connection the hub took in is open or has been counted leaving.
  counter(out, "switchboard_connects_total", "WebSocket connections taken in since start.",
          hub.connections + disconnected);
  out.family("switchboard_disconnects_total", "counter",
             "WebSocket connections ended since start, by exit reason.");
  for (auto code : all_exit_codes) {
    auto i = hub.disconnects.find(to_string(code));
    out.sample("switchboard_disconnects_total", {{"reason", to_string(code)}},
               i == hub.disconnects.end() ? std::uint64_t{0} : i->second);
  }

  // -- traffic
  counter(out, "switchboard_messages_in_total",
          "Client commands and server-side publishes and sends the hub handled.",
          hub.messages_in);
  counter(out, "switchboard_messages_out_total",
          "Frames the hub handed to connections (one per message and receiver).",
          hub.messages_out);
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t deflate_saved = 0;
  for (auto* m : loops) {
    bytes_in += m->bytes_in.read();
    bytes_out += m->bytes_out.read();
    deflate_saved += m->deflate_saved_bytes.read();
  }
  counter(out, "switchboard_bytes_in_total",
          "WebSocket wire bytes read after the upgrade (frame headers and control frames "
          "included).",
          bytes_in);
  counter(out, "switchboard_bytes_out_total",
          "WebSocket wire bytes written after the upgrade (frame headers and control frames "
          "included).",
          bytes_out);
  counter(out, "switchboard_compressed_bytes_saved_total",
          "Bytes permessage-deflate kept off the wire (per receiver: a frame's size minus "
          "its compressed size).",
          deflate_saved);
  out.histogram("switchboard_publish_latency_seconds",
                "From the hub framing a publish to the write that put it on a receiver's "
                "socket, per receiver.",
                add_up(loops, latency_bounds_us, &latency_of, 1e6));
  out.histogram("switchboard_writer_queue_frames",
                "Frames a connection had queued (handed over, not yet written) when its "
                "flush ran.",
                add_up(loops, depth_bounds, &depth_of, 1.0));

  // -- the hub
  gauge(out, "switchboard_topics", "Topics with at least one subscriber or listener.",
        hub.topics);
  gauge(out, "switchboard_hub_mailbox_messages",
        "Messages waiting in the hub's mailbox when it answered this scrape.", hub.mailbox);
  counter(out, "switchboard_slow_listeners_total",
          "Server-side actors dropped for falling behind their deliveries.",
          hub.slow_listeners);

  // -- history and presence (docs/protocol.md v1.1)
  gauge(out, "switchboard_history_topics", "Topics holding a history.", hub.history_topics);
  gauge(out, "switchboard_history_messages", "Messages held by all histories.",
        hub.history_messages);
  gauge(out, "switchboard_history_bytes",
        "Bytes held by all histories (data plus a fixed overhead per message).",
        hub.history_bytes);
  counter(out, "switchboard_history_evicted_total",
          "Messages dropped from histories for --history-max-bytes.", hub.history_evicted);
  out.family("switchboard_recoveries_total", "counter",
             "Subscribes with since, by outcome (recovered=\"false\": the client reloads).");
  out.sample("switchboard_recoveries_total", {{"recovered", "true"}}, hub.recovered);
  out.sample("switchboard_recoveries_total", {{"recovered", "false"}}, hub.not_recovered);
  counter(out, "switchboard_presence_queries_total",
          "presence and presence_stats queries answered (clients and the server API).",
          hub.presence_queries);
  out.family("switchboard_join_leave_events_total", "counter",
             "join/leave frames sent, and events not sent past "
             "--join-leave-max-subscribers.");
  out.sample("switchboard_join_leave_events_total", {{"outcome", "sent"}},
             hub.join_leave_sent);
  out.sample("switchboard_join_leave_events_total", {{"outcome", "suppressed"}},
             hub.join_leave_suppressed);

  // -- limits
  out.family("switchboard_rejections_total", "counter",
             "Requests refused: connections before their first request (stage=\"connection\": "
             "a pending limit, 429 or 503), WebSocket upgrades (stage=\"upgrade\": a limit, "
             "429 or 503; the Origin check, 403; the authenticator, its status or 503) and "
             "client commands (stage=\"command\", an error frame).");
  for (auto& [reason, n] : connection_rejections(rejections))
    out.sample("switchboard_rejections_total", {{"stage", "connection"}, {"reason", reason}},
               n);
  auto upgrade = upgrade_rejections(rejections);
  for (auto& [reason, n] : upgrade)
    out.sample("switchboard_rejections_total", {{"stage", "upgrade"}, {"reason", reason}}, n);
  auto commands = hub.rejections;
  for (auto reason : {"limit_exceeded", "rate_limited", "shutting_down", "forbidden"})
    commands.try_emplace(reason, 0);
  for (auto& [reason, n] : commands)
    out.sample("switchboard_rejections_total", {{"stage", "command"}, {"reason", reason}}, n);

  if (auto process = read_process_sample())
    process_metrics(out, *process);
  if (cluster)
    cluster_metrics(out, *cluster, cluster_names);
  // -- TLS (net/tls/tls_metrics.hpp)
  if (tls)
    write_tls_metrics(out, *tls);
  // -- Redis (net/redis/redis_metrics.hpp)
  if (redis)
    write_redis_metrics(out, *redis);
  return out.text();
}

} // namespace switchboard::net
