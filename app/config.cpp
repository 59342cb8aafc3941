#include "config.hpp"

#include <caf/io/middleman.hpp>

#include <cstdint>
#include <fstream>
#include <utility>
#include <string_view>
#include <type_traits>

namespace switchboard::app {

config::config() {
  // Measured on 2 cores (docs/benchmarks.md): the node spends its time in
  // the I/O threads (framing, sendmsg); the actors need one CAF worker, and
  // a second one mostly spins looking for work to steal. A worker with
  // nothing to do polls its queue 100 times, then 500 more times 50 us
  // apart (CAF's "moderate" phase: 25 ms of wake-ups per idle spell), then
  // sleeps on a condition variable that every enqueue signals. Skipping the
  // moderate phase cut the node's CPU at 50 msg/s x 1000 subscribers from
  // 54-57 % to 43-49 % of a core and cost nothing measurable at 1M
  // deliveries/s (docs/benchmarks.md). All stay options.
  set("scheduler.max-threads", 1);
  set("work-stealing.moderate-poll-attempts", 0);
  opt_group{custom_options_, "global"}
    .add(host, "host", "address to listen on (default 127.0.0.1)")
    .add(port, "port", "port to listen on, 0 picks a free one (default 8080)")
    .add(ping_interval, "ping-interval", "server ping period (default 25s)")
    .add(pong_timeout, "pong-timeout",
         "drop a client that sends nothing this long after a ping (default 10s)")
    .add(max_message_size, "max-message-size",
         "largest inbound message in bytes (default 65536)")
    .add(send_queue, "send-queue", "outbound queue bound in frames (default 256)")
    .add(send_buffer, "send-buffer",
         "outbound queue bound in bytes (default 1048576)")
    .add(handshake_timeout, "handshake-timeout",
         "time allowed for the HTTP upgrade (default 10s)")
    .add(close_timeout, "close-timeout",
         "a server-initiated close waits this long for the client's close (default 2s)")
    .add(shutdown_timeout, "shutdown-timeout",
         "on SIGINT/SIGTERM, flush queues for at most this long (default 5s)")
    .add(io_threads, "io-threads", "I/O threads, each an event loop (default one per core, at most 16)")
    .add(max_topics_per_connection, "max-topics-per-connection",
         "topics one connection may subscribe to (default 128)")
    .add(max_topics, "max-topics", "topics on the node (default 1000000)")
    .add(client_send, "client-send",
         "on|off: let clients send direct messages to each other (default on)")
    .add(client_rate, "client-rate",
         "commands per second per connection, 0 for no limit (default 100)")
    .add(client_burst, "client-burst",
         "commands a connection may send at once above the rate (default 200)")
    .add(client_rate_grace, "client-rate-grace",
         "disconnect a connection over the rate this long (default 10s)")

    // Admission limits, checked on every WebSocket upgrade (docs/protocol.md).
    .add(admission.max_connections, "max-connections",
         "WebSocket connections per node; past it 503 (default 50000)")
    .add(admission.max_connections_per_address, "max-connections-per-address",
         "WebSocket connections per source address (IPv6: per /64); past it 429 "
         "(default 4096)")
    .add(admission.handshake_rate, "handshake-rate",
         "WebSocket upgrade attempts per second and source address, refilled "
         "continuously; past it 429 (default 100)")
    .add(admission.handshake_burst, "handshake-burst",
         "upgrade attempts a source address may make at once (default 4096)")

    // Operations (docs/operations.md).
    .add(log_level, "log-level",
         "trace|debug|info|warn|error|off: what goes to stderr (default info)")
    .add(print_version, "version", "print the version and exit")

    // Who may connect (docs/security.md).
    .add(auth, "auth", "none|jwt: client authentication on the upgrade (default none)")
    .add(jwt_secret, "jwt-secret", "HS256 secret, at least 32 bytes (with --auth=jwt)")
    .add(jwt_public_key, "jwt-public-key",
         "PEM file of an RSA (RS256) or EC P-256 (ES256) public key (with --auth=jwt)")
    .add(jwt_leeway, "jwt-leeway",
         "clock skew allowed on exp and nbf; a connection ends this long after its "
         "token's exp unless refreshed (default 30s)")
    .add(jwt_allow_no_exp, "jwt-allow-no-exp",
         "accept tokens without exp, whose connections never expire (default off)")
    .add(allowed_origins, "allowed-origins",
         "comma-separated scheme://host[:port] a browser's upgrade may come from; "
         "past it 403 (default any)")
    // The server API under /api/ (docs/api.md).
    .add(api_key, "api-key",
         "key of the HTTP server API (Authorization: apikey KEY); empty: no API "
         "(default empty; prefer the config file, a command line is visible to "
         "other users)")
    .add(api_max_body, "api-max-body",
         "largest body of an API request in bytes; past it 413 (default 1048576)")
    // The cluster (docs/cluster.md).
    .add(cluster_port, "cluster-port",
         "port peers reach this node's cluster actor on; 0: no cluster (default 0)")
    .add(cluster_host, "cluster-host",
         "address the cluster port is bound to and announced as (default: --host)")
    .add(cluster_seeds, "cluster-seeds",
         "comma-separated host:port of other nodes' cluster ports (default none)")
    .add(cluster_backlog, "cluster-backlog",
         "publishes a peer may leave unacknowledged before it is dropped and "
         "rejoined (default 10000)")
    .add(cluster_heartbeat_interval, "cluster-heartbeat-interval",
         "CAF middleman heartbeat between nodes (default 500ms)")
    .add(cluster_connection_timeout, "cluster-connection-timeout",
         "a peer silent this long is dropped (default 3s)")
    // TLS on the node's port (docs/security.md); SIGHUP reloads the files.
    .add(tls_cert, "tls-cert",
         "PEM certificate chain: the port then speaks TLS only, wss:// and https:// "
         "(with --tls-key; default none)")
    .add(tls_key, "tls-key", "PEM private key of --tls-cert")
    .add(tls_ca, "tls-ca",
         "PEM CA bundle: clients must present a certificate it verifies (mutual TLS; "
         "default none)")
    .add(compression, "compression",
         "permessage-deflate (RFC 7692) for clients that offer it (default off)");
}

namespace {

// "a, b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_list(std::string_view rest) {
  std::vector<std::string> result;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto first = item.find_first_not_of(' ');
    if (first != std::string_view::npos)
      result.emplace_back(item.substr(first, item.find_last_not_of(' ') + 1 - first));
  }
  return result;
}

} // namespace

node_config config::node() const {
  node_config result;
  result.host = host;
  result.port = port;
  auto& c = result.connection;
  c.ping_interval = ping_interval;
  c.pong_timeout = pong_timeout;
  c.send_queue_frames = send_queue;
  c.send_buffer_bytes = send_buffer;
  c.shutdown_timeout = shutdown_timeout;
  c.client_rate = client_rate;
  c.client_burst = client_burst;
  c.client_rate_grace = client_rate_grace;
  result.hub.max_topics_per_connection = max_topics_per_connection;
  result.hub.max_topics = max_topics;
  result.hub.client_send = client_send == "on" || client_send == "true";
  result.max_message_size = max_message_size;
  result.handshake_timeout = handshake_timeout;
  result.close_timeout = close_timeout;
  result.io_threads = io_threads;
  result.admission = admission;
  result.allowed_origins = split_list(allowed_origins);
  result.api_key = api_key;
  result.api_max_body = api_max_body;
  if (cluster_port != 0) {
    cluster_settings cs;
    cs.backlog = cluster_backlog;
    cs.seeds = split_list(cluster_seeds);
    result.cluster = std::move(cs);
    result.cluster_host = cluster_host;
    result.cluster_port = cluster_port;
  }
  result.tls_cert = tls_cert;
  result.tls_key = tls_key;
  result.tls_ca = tls_ca;
  result.compression = compression;
  return result;
}

caf::settings config::dump_content() const {
  auto result = caf::actor_system_config::dump_content();
  auto put = [&](caf::string_view name, auto value) {
    using type = decltype(value);
    auto key = "global." + std::string{name.begin(), name.end()};
    if constexpr (std::is_integral_v<type> && !std::is_same_v<type, bool>)
      caf::put(result, key, static_cast<std::int64_t>(value));
    else
      caf::put(result, key, std::move(value));
  };
  put("host", host);
  put("port", port);
  put("ping-interval", ping_interval);
  put("pong-timeout", pong_timeout);
  put("max-message-size", max_message_size);
  put("send-queue", send_queue);
  put("send-buffer", send_buffer);
  put("handshake-timeout", handshake_timeout);
  put("close-timeout", close_timeout);
  put("shutdown-timeout", shutdown_timeout);
  put("io-threads", io_threads);
  put("max-topics-per-connection", max_topics_per_connection);
  put("max-topics", max_topics);
  put("client-send", client_send);
  put("client-rate", client_rate);
  put("client-burst", client_burst);
  put("client-rate-grace", client_rate_grace);
  put("max-connections", admission.max_connections);
  put("max-connections-per-address", admission.max_connections_per_address);
  put("handshake-rate", admission.handshake_rate);
  put("handshake-burst", admission.handshake_burst);
  put("log-level", log_level);
  put("auth", auth);
  // The secret itself never appears in a dump (it may end up in a log).
  put("jwt-secret", std::string{jwt_secret.empty() ? "" : "(set, not shown)"});
  put("jwt-public-key", jwt_public_key);
  put("jwt-leeway", jwt_leeway);
  put("jwt-allow-no-exp", jwt_allow_no_exp);
  put("allowed-origins", allowed_origins);
  // Nor does the API key.
  put("api-key", std::string{api_key.empty() ? "" : "(set, not shown)"});
  put("api-max-body", api_max_body);
  put("cluster-port", cluster_port);
  put("cluster-host", cluster_host);
  put("cluster-seeds", cluster_seeds);
  put("cluster-backlog", cluster_backlog);
  put("cluster-heartbeat-interval", cluster_heartbeat_interval);
  put("cluster-connection-timeout", cluster_connection_timeout);
  put("tls-cert", tls_cert);
  put("tls-key", tls_key);
  put("tls-ca", tls_ca);
  put("compression", compression);
  return result;
}

std::vector<std::string> config::problems() const {
  std::vector<std::string> result;
  if (client_send != "on" && client_send != "off" && client_send != "true"
      && client_send != "false")
    result.push_back("client-send must be on or off (got '" + client_send + "')");
  if (auth != "none" && auth != "jwt")
    result.push_back("auth must be none or jwt (got '" + auth + "')");
  auto keys = !jwt_secret.empty() + !jwt_public_key.empty();
  if (auth == "jwt" && keys == 0)
    result.push_back("auth=jwt needs a key: --jwt-secret (HS256) or "
                     "--jwt-public-key=FILE (RS256, ES256)");
  if (auth == "jwt" && keys == 2)
    result.push_back("give one of --jwt-secret and --jwt-public-key, not both");
  if (auth != "jwt" && keys > 0)
    result.push_back("--jwt-secret and --jwt-public-key need --auth=jwt");
  if (auth != "jwt" && jwt_allow_no_exp)
    result.push_back("--jwt-allow-no-exp needs --auth=jwt");
  if (jwt_leeway < caf::timespan{0})
    result.push_back("jwt-leeway must not be negative");
  if (log_level != "trace" && log_level != "debug" && log_level != "info"
      && log_level != "warn" && log_level != "error" && log_level != "off")
    result.push_back("log-level must be trace, debug, info, warn, error or off (got '"
                     + log_level + "')");
  if (cluster_heartbeat_interval < std::chrono::milliseconds(10))
    result.push_back("cluster-heartbeat-interval must be at least 10ms");
  if (cluster_connection_timeout <= cluster_heartbeat_interval)
    result.push_back("cluster-connection-timeout must be longer than "
                     "cluster-heartbeat-interval");
  if (cluster_port == 0 && (!cluster_seeds.empty() || !cluster_host.empty()))
    result.push_back("cluster-seeds and cluster-host need --cluster-port");
  // A file we cannot read is said here, before the node starts; what is
  // wrong inside one, node::start says.
  for (auto [name, file] : {std::pair{"tls-cert", &tls_cert}, std::pair{"tls-key", &tls_key},
                            std::pair{"tls-ca", &tls_ca}})
    if (!file->empty() && !std::ifstream{*file})
      result.push_back(std::string{name} + ": cannot read " + *file);
  for (auto& p : node().problems())
    result.push_back(p);
  return result;
}

void config::prepare_cluster() {
  if (cluster_port == 0)
    return;
  load<caf::io::middleman>();
  set("middleman.heartbeat-interval", cluster_heartbeat_interval);
  set("middleman.connection-timeout", cluster_connection_timeout);
}

} // namespace switchboard::app
