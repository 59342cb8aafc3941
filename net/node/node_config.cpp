#include "switchboard/node.hpp"

#include "auth/origin.hpp"
#include "redis/redis_servers.hpp"
#include "tls/tls_context.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace switchboard {

std::size_t node_config::default_io_threads() noexcept {
  // One loop per core: with one io_context per thread, more loops only
  // add wake-ups and switches (2 cores, docs/benchmarks.md: 2 loops against
  // 6 gave 1.1-1.6M against 0.9-1.2M deliveries/s at saturation, and p99
  // 34-39 ms against 66-216 ms at 1M deliveries/s). The cap keeps a
  // many-core host from starting dozens of loops for one hub, whose single
  // actor feeds them all.
  return std::min(16u, std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

// Room for a message frame's envelope around the largest client data: the
// quoted topic (at most 2 * 256 + 2 bytes) and the member names.
constexpr std::size_t envelope_room = 1024;

bool valid_cluster_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()
      || address.size() - colon - 1 > 5)
    return false;
  auto digits = address.substr(colon + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return false;
  auto port = std::stoul(digits);
  return port >= 1 && port <= 65535;
}

void redis_problems(const node_config& c, std::vector<std::string>& result) {
  using namespace std::chrono_literals;
  if (!c.redis.empty() && !net::redis_servers_of(c.redis))
    result.push_back("redis: '" + c.redis + "' is not host:port[,host:port...]");
  if (c.redis_timeout < 10ms)
    result.emplace_back("redis-timeout must be at least 10ms");
  if (c.redis.empty() && !c.redis_password.empty())
    result.emplace_back("redis-password needs redis");
  // In memory, a topic's history is one node's: peers would number the
  // same topic each on their own and positions would mean nothing on
  // another node (docs/cluster.md, "Redis"). An application may give the
  // hub a shared store of its own instead.
  auto history = c.hub.topic_defaults.history_size > 0
                 || std::any_of(c.hub.namespaces.begin(), c.hub.namespaces.end(),
                                [](auto& ns) { return ns.second.history_size > 0; });
  if (c.cluster && history && c.redis.empty() && !c.hub.history_store)
    result.emplace_back("a cluster keeps history in Redis: give --redis=HOST:PORT (or turn "
                        "history off: history-size 0 everywhere)");
}

} // namespace

std::vector<std::string> node_config::problems() const {
  using namespace std::chrono_literals;
  std::vector<std::string> result;
  auto need = [&](bool ok, std::string what) {
    if (!ok)
      result.push_back(std::move(what));
  };
  auto& c = connection;
  // A zero or tiny period would make every connection spin on its timer.
  need(c.ping_interval >= 10ms, "ping-interval must be at least 10ms");
  need(c.pong_timeout >= 10ms, "pong-timeout must be at least 10ms");
  need(max_message_size >= 1, "max-message-size must be at least 1 byte");
  need(c.send_queue_frames >= 1, "send-queue must be at least 1 frame");
  need(c.send_buffer_bytes >= max_message_size + envelope_room,
       "send-buffer must hold the largest message: at least max-message-size + "
         + std::to_string(envelope_room) + " bytes ("
         + std::to_string(max_message_size + envelope_room) + ")");
  need(c.shutdown_timeout >= 0s, "shutdown-timeout must not be negative");
  need(drain_period >= 0s, "drain-period must not be negative");
  need(std::isfinite(c.client_rate) && c.client_rate >= 0,
       "client-rate must be a number of commands per second, 0 turning the limit off");
  need(c.client_burst >= 1, "client-burst must be at least 1");
  need(c.client_rate_grace >= 0s, "client-rate-grace must not be negative");
  need(hub.max_topics_per_connection >= 1, "max-topics-per-connection must be at least 1");
  need(hub.max_topics >= 1, "max-topics must be at least 1");
  // Longer would be a delay of every busy delivery, not a batching of them.
  need(hub.delivery_coalesce >= 0s && hub.delivery_coalesce <= 100ms,
       "delivery-coalesce must be between 0s and 100ms");
  need(handshake_timeout >= 10ms, "handshake-timeout must be at least 10ms");
  need(close_timeout >= 10ms, "close-timeout must be at least 10ms");
  need(io_threads >= 1, "io-threads must be at least 1");
  need(authenticate_timeout >= 10ms, "authenticate-timeout must be at least 10ms");
  need(hub.actor_backlog >= 1, "the actor backlog must be at least 1");
  need(hub.authorize_timeout >= 1ms, "the authorize timeout must be at least 1ms");
  for (auto& origin : allowed_origins)
    need(net::normalize_origin(origin).has_value(),
         "allowed-origins: '" + origin + "' is not scheme://host[:port]");
  need(std::all_of(api_key.begin(), api_key.end(),
                   [](char ch) { return ch > ' ' && ch < 0x7f; }),
       "api-key must be printable ASCII without spaces");
  for (auto& p : api_key_problems(with_default_key(api_key, api_keys)))
    result.push_back("api-keys: " + p);
  need(std::all_of(metrics_key.begin(), metrics_key.end(),
                   [](char ch) { return ch > ' ' && ch < 0x7f; }),
       "metrics-key must be printable ASCII without spaces");
  need(std::isfinite(metrics_rate) && metrics_rate >= 0,
       "metrics-rate must be a number of requests per second, 0 turning the limit off");
  need(std::isfinite(metrics_burst) && metrics_burst >= 1, "metrics-burst must be at least 1");
  need(api_max_body >= 1, "api-max-body must be at least 1 byte");
  need(admin_password.empty() || admin_password.size() >= 16,
       "admin-password must have at least 16 characters");
  need(admin_password.empty() || !admin_insecure,
       "give one of admin-password and admin-insecure, not both");
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  need(!admin_insecure || host == "localhost" || (!ec && address.is_loopback()),
       "admin-insecure (a console without a password) needs a loopback --host, not " + host);
  need(tls_cert.empty() == tls_key.empty(),
       "tls-cert and tls-key go together: give both or neither");
  need(tls_ca.empty() || !tls_cert.empty(), "tls-ca needs tls-cert and tls-key");
  if (auto problem = net::tls_policy_problem({tls_min_version, tls_ciphers}))
    result.push_back(std::move(*problem));
  if (auto problem = admission.validate())
    result.push_back(std::move(*problem));
  for (auto& p : hub.topic_option_problems())
    result.push_back(std::move(p));
  auto tls_files = !cluster_tls_cert.empty() + !cluster_tls_key.empty() + !cluster_tls_ca.empty();
  need(tls_files == 0 || tls_files == 3,
       "cluster-tls-cert, cluster-tls-key and cluster-tls-ca go together: give all three or "
       "none");
  need(tls_files == 0 || cluster, "cluster-tls-cert, -key and -ca need cluster-port");
  if (cluster) {
    need(cluster->backlog >= 1, "cluster-backlog must be at least 1");
    need(cluster->redial_min >= 1ms && cluster->redial_max >= cluster->redial_min,
         "the cluster's redial delays must be at least 1ms, the maximum not below the "
         "minimum");
    for (auto& seed : cluster->seeds)
      need(valid_cluster_address(seed),
           "cluster-seeds: '" + seed + "' is not host:port");
    need(cluster->address.empty() || valid_cluster_address(cluster->address),
         "the cluster address '" + cluster->address + "' is not host:port");
    // Peers know a node by the address it announces: a wildcard one names
    // no machine (a node bound to all interfaces announces
    // cluster_settings::address, or is bound to the address peers dial).
    auto bound = cluster_host.empty() ? host : cluster_host;
    need(!cluster->address.empty() || (bound != "0.0.0.0" && bound != "::" && bound != "[::]"),
         "cluster-host: peers cannot reach a node announced as " + bound
           + ": give the address they dial (--cluster-host)");
  }
  redis_problems(*this, result);
  return result;
}

} // namespace switchboard
