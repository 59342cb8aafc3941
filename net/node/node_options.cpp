#include "switchboard/node_options.hpp"

#include "node/namespaces.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/io/middleman.hpp>

#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>

namespace switchboard {

namespace {

// -- the table ------------------------------------------------------------------------
// Every node option once: its name, its help text, how it is declared, how
// it is read into a node_config and how its effective value is shown.

struct option {
  // std::string_view: clang cannot convert a const char* to caf::string_view.
  std::string_view name;
  std::string_view help;
  /// What a valid value is, for the problem a wrong one makes.
  const char* expected;
  std::function<void(caf::config_option_adder&, const option&)> declare;
  /// Reads the option (`value`: null when not set) into `cfg`; false when
  /// the value cannot be represented.
  std::function<bool(const caf::config_value* value, node_config& cfg)> read;
  std::function<caf::config_value(const node_config& cfg)> show;
  /// For a middleman option (no `show`: it is not part of node_config): its
  /// default, shown when it is not set.
  caf::timespan fallback{};
};

// Reads a T from a config value; a number without a fraction is a valid
// real too (a config file says `client-rate = 100`).
template <class T>
std::optional<T> value_of(const caf::config_value& v) {
  if constexpr (std::is_same_v<T, double>) {
    if (auto i = caf::get_if<caf::config_value::integer>(&v))
      return static_cast<double>(*i);
  }
  if (auto x = caf::get_if<T>(&v))
    return T{*x};
  return std::nullopt;
}

template <class T>
caf::config_value to_config_value(const T& x) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return caf::config_value{static_cast<caf::config_value::integer>(x)};
  else
    return caf::config_value{x};
}

// An option of type T that is a field of node_config (`field` returns a
// reference to it from a node_config, const or not).
template <class T>
constexpr const char* expected_of() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "a whole number in range";
  else if constexpr (std::is_same_v<T, double>)
    return "a number";
  else if constexpr (std::is_same_v<T, caf::timespan>)
    return "a duration such as 500ms or 2s";
  else
    return "a string";
}

template <class T, class Field>
option field(const char* name, const char* help, Field get) {
  return {name, help, expected_of<T>(),
          [](caf::config_option_adder& g, const option& o) { g.add<T>(o.name, o.help); },
          [get](const caf::config_value* v, node_config& cfg) {
            if (v == nullptr)
              return true;
            auto x = value_of<T>(*v);
            if (!x)
              return false;
            get(cfg) = std::move(*x);
            return true;
          },
          [get](const node_config& cfg) { return to_config_value<T>(get(cfg)); }};
}

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

std::string join_list(const std::vector<std::string>& items) {
  std::string result;
  for (auto& x : items)
    result += (result.empty() ? "" : ",") + x;
  return result;
}

// A comma-separated option kept as a list in node_config.
template <class Field>
option list(const char* name, const char* help, Field get) {
  return {name, help, "a comma-separated list",
          [](caf::config_option_adder& g, const option& o) { g.add<std::string>(o.name, o.help); },
          [get](const caf::config_value* v, node_config& cfg) {
            if (v == nullptr)
              return true;
            auto x = caf::get_if<std::string>(v);
            if (!x)
              return false;
            get(cfg) = split_list(*x);
            return true;
          },
          [get](const node_config& cfg) { return caf::config_value{join_list(get(cfg))}; }};
}

// A switch as a word (on/off, true/false): CAF's boolean flags cannot be
// turned off on the command line.
// (`words`: how it is spelled in messages and dumps; either spelling is read.)
struct switch_words {
  const char* expected;
  const char* yes;
  const char* no;
};
constexpr switch_words on_off{"on or off", "on", "off"};
constexpr switch_words true_false{"true or false", "true", "false"};

template <class Field>
option word_switch(const char* name, const char* help, Field get, switch_words words = on_off) {
  return {name, help, words.expected,
          [](caf::config_option_adder& g, const option& o) { g.add<std::string>(o.name, o.help); },
          [get](const caf::config_value* v, node_config& cfg) {
            if (v == nullptr)
              return true;
            if (auto b = caf::get_if<bool>(v)) {
              get(cfg) = *b;
              return true;
            }
            auto x = caf::get_if<std::string>(v);
            if (!x || (*x != "on" && *x != "off" && *x != "true" && *x != "false"))
              return false;
            get(cfg) = *x == "on" || *x == "true";
            return true;
          },
          [get, words](const node_config& cfg) {
            return caf::config_value{std::string{get(cfg) ? words.yes : words.no}};
          }};
}

// A secret: read like a string, never shown.
template <class Field>
option secret(const char* name, const char* help, Field get) {
  auto o = field<std::string>(name, help, get);
  o.show = [get](const node_config& cfg) {
    return caf::config_value{std::string{get(cfg).empty() ? "" : "(set, not shown)"}};
  };
  return o;
}

// The cluster's own settings: node_config has them only when clustered
// (cluster-port not 0), so they are collected here until the end.
cluster_settings& cluster_of(node_config& cfg) {
  if (!cfg.cluster)
    cfg.cluster.emplace();
  return *cfg.cluster;
}
const cluster_settings& cluster_of(const node_config& cfg) {
  static const cluster_settings defaults;
  return cfg.cluster ? *cfg.cluster : defaults;
}

// Middleman settings (prepare_node_options applies them to the config):
// not part of node_config, shown as set or as their default.
constexpr caf::timespan heartbeat_default = std::chrono::milliseconds(500);
constexpr caf::timespan connection_timeout_default = std::chrono::seconds(3);

option middleman_span(const char* name, const char* help, caf::timespan fallback) {
  return {name, help, expected_of<caf::timespan>(),
          [](caf::config_option_adder& g, const option& o) { g.add<caf::timespan>(o.name, o.help); },
          // Only checked here: prepare_node_options applies it.
          [](const caf::config_value* v, node_config&) {
            return v == nullptr || value_of<caf::timespan>(*v).has_value();
          },
          nullptr, fallback};
}

// The value of a middleman option: as set, or its default.
caf::timespan span_of(const caf::config_value* v, caf::timespan fallback) {
  if (v == nullptr)
    return fallback;
  return value_of<caf::timespan>(*v).value_or(fallback);
}

const std::vector<option>& table() {
  using namespace std::string_literals;
  static const std::vector<option> options = {
    field<std::string>("host", "address to listen on (default 127.0.0.1)",
                       [](auto& c) -> auto& { return c.host; }),
    field<std::uint16_t>("port", "port to listen on, 0 picks a free one (default 8080)",
                         [](auto& c) -> auto& { return c.port; }),
    field<caf::timespan>("ping-interval", "server ping period (default 25s)",
                         [](auto& c) -> auto& { return c.connection.ping_interval; }),
    field<caf::timespan>("pong-timeout",
                         "drop a client that sends nothing this long after a ping (default 10s)",
                         [](auto& c) -> auto& { return c.connection.pong_timeout; }),
    field<std::size_t>("max-message-size", "largest inbound message in bytes (default 65536)",
                       [](auto& c) -> auto& { return c.max_message_size; }),
    field<std::size_t>("send-queue", "outbound queue bound in frames (default 256)",
                       [](auto& c) -> auto& { return c.connection.send_queue_frames; }),
    field<std::size_t>("send-buffer", "outbound queue bound in bytes (default 1048576)",
                       [](auto& c) -> auto& { return c.connection.send_buffer_bytes; }),
    field<caf::timespan>("handshake-timeout", "time allowed for the HTTP upgrade (default 10s)",
                         [](auto& c) -> auto& { return c.handshake_timeout; }),
    field<caf::timespan>("close-timeout",
                         "a server-initiated close waits this long for the client's close "
                         "(default 2s)",
                         [](auto& c) -> auto& { return c.close_timeout; }),
    field<caf::timespan>("shutdown-timeout",
                         "on a stop, flush queues for at most this long (default 5s)",
                         [](auto& c) -> auto& { return c.connection.shutdown_timeout; }),
    field<caf::timespan>("delivery-coalesce",
                         "while the hub is busy, a delivery waits this long and goes out with "
                         "what comes meanwhile, one write per connection; 0s: at once "
                         "(default 1ms)",
                         [](auto& c) -> auto& { return c.hub.delivery_coalesce; }),
    field<std::size_t>("io-threads",
                       "I/O threads, each an event loop (default one per core, at most 16)",
                       [](auto& c) -> auto& { return c.io_threads; }),
    field<std::size_t>("max-topics-per-connection",
                       "topics one connection may subscribe to (default 128)",
                       [](auto& c) -> auto& { return c.hub.max_topics_per_connection; }),
    field<std::size_t>("max-topics", "topics on the node (default 1000000)",
                       [](auto& c) -> auto& { return c.hub.max_topics; }),
    word_switch("client-send",
                "on|off: let clients send direct messages to each other (default on)",
                [](auto& c) -> auto& { return c.hub.client_send; }),
    field<double>("client-rate", "commands per second per connection, 0 for no limit (default 100)",
                  [](auto& c) -> auto& { return c.connection.client_rate; }),
    field<std::size_t>("client-burst",
                       "commands a connection may send at once above the rate (default 200)",
                       [](auto& c) -> auto& { return c.connection.client_burst; }),
    field<caf::timespan>("client-rate-grace",
                         "disconnect a connection over the rate this long (default 10s)",
                         [](auto& c) -> auto& { return c.connection.client_rate_grace; }),
    // Admission limits, checked on every WebSocket upgrade (docs/protocol.md).
    field<std::size_t>("max-connections",
                       "WebSocket connections per node; past it 503 (default 50000)",
                       [](auto& c) -> auto& { return c.admission.max_connections; }),
    field<std::size_t>("max-connections-per-address",
                       "WebSocket connections per source address (IPv6: per /64); past it 429 "
                       "(default 4096)",
                       [](auto& c) -> auto& { return c.admission.max_connections_per_address; }),
    field<double>("handshake-rate",
                  "WebSocket upgrade attempts per second and source address, refilled "
                  "continuously; past it 429 (default 100)",
                  [](auto& c) -> auto& { return c.admission.handshake_rate; }),
    field<std::size_t>("handshake-burst",
                       "upgrade attempts a source address may make at once (default 4096)",
                       [](auto& c) -> auto& { return c.admission.handshake_burst; }),
    field<std::size_t>("max-pending-connections",
                       "TCP connections per node not (yet) upgraded to a WebSocket; past it a "
                       "new one gets 503 at once (default 8192)",
                       [](auto& c) -> auto& { return c.admission.max_pending_connections; }),
    field<std::size_t>("max-pending-connections-per-address",
                       "such connections per source address (IPv6: per /64); past it 429 at "
                       "once (default 256)",
                       [](auto& c) -> auto& {
                         return c.admission.max_pending_connections_per_address;
                       }),
    // Who may connect (docs/security.md).
    list("allowed-origins",
         "comma-separated scheme://host[:port] a browser's upgrade may come from; past it "
         "403 (default any)",
         [](auto& c) -> auto& { return c.allowed_origins; }),
    // The server API under /api/ (docs/api.md).
    secret("api-key",
           "key of the HTTP server API (Authorization: apikey KEY); empty: no API (default "
           "empty; prefer the config file, a command line is visible to other users)",
           [](auto& c) -> auto& { return c.api_key; }),
    field<std::size_t>("api-max-body",
                       "largest body of an API request in bytes; past it 413 (default 1048576)",
                       [](auto& c) -> auto& { return c.api_max_body; }),
    // Who may read /metrics and /stats (docs/security.md).
    secret("metrics-key",
           "key /metrics and /stats require (Authorization: Bearer KEY), else 401; empty: "
           "public (default empty; prefer the config file)",
           [](auto& c) -> auto& { return c.metrics_key; }),
    field<double>("metrics-rate",
                  "requests per second per address to /metrics and /stats; past it 429, 0 for "
                  "no limit (default 50)",
                  [](auto& c) -> auto& { return c.metrics_rate; }),
    field<double>("metrics-burst",
                  "requests an address may make to /metrics and /stats at once (default 100)",
                  [](auto& c) -> auto& { return c.metrics_burst; }),
    // The web console at /console (docs/console.md).
    secret("admin-password",
           "password of the web console at /console, at least 16 characters; empty: no "
           "console (default empty; prefer the config file)",
           [](auto& c) -> auto& { return c.admin_password; }),
    field<bool>("admin-insecure",
                "the web console without a password, on a loopback --host only (default off)",
                [](auto& c) -> auto& { return c.admin_insecure; }),
    // The cluster (docs/cluster.md).
    field<std::uint16_t>("cluster-port",
                         "port peers reach this node's cluster actor on; 0: no cluster "
                         "(default 0)",
                         [](auto& c) -> auto& { return c.cluster_port; }),
    field<std::string>("cluster-host",
                       "address the cluster port is bound to and announced as (default: "
                       "--host)",
                       [](auto& c) -> auto& { return c.cluster_host; }),
    list("cluster-seeds", "comma-separated host:port of other nodes' cluster ports (default none)",
         [](auto& c) -> auto& { return cluster_of(c).seeds; }),
    field<std::size_t>("cluster-backlog",
                       "messages (publishes, direct and user sends, disconnects) a peer may "
                       "leave unacknowledged before it is dropped and rejoined (default 10000)",
                       [](auto& c) -> auto& { return cluster_of(c).backlog; }),
    middleman_span("cluster-heartbeat-interval",
                   "CAF middleman heartbeat between nodes (default 500ms)", heartbeat_default),
    middleman_span("cluster-connection-timeout",
                   "a peer silent this long is dropped (default 3s)", connection_timeout_default),
    field<std::string>("cluster-tls-cert",
                       "PEM certificate chain of this node: the cluster port then speaks "
                       "mutual TLS only (with --cluster-tls-key and --cluster-tls-ca; default "
                       "none)",
                       [](auto& c) -> auto& { return c.cluster_tls_cert; }),
    field<std::string>("cluster-tls-key", "PEM private key of --cluster-tls-cert",
                       [](auto& c) -> auto& { return c.cluster_tls_key; }),
    field<std::string>("cluster-tls-ca",
                       "PEM CA bundle: a peer must present a certificate it verifies, on "
                       "connections both ways",
                       [](auto& c) -> auto& { return c.cluster_tls_ca; }),
    // TLS on the node's port (docs/security.md); SIGHUP reloads the files.
    field<std::string>("tls-cert",
                       "PEM certificate chain: the port then speaks TLS only, wss:// and "
                       "https:// (with --tls-key; default none)",
                       [](auto& c) -> auto& { return c.tls_cert; }),
    field<std::string>("tls-key", "PEM private key of --tls-cert",
                       [](auto& c) -> auto& { return c.tls_key; }),
    field<std::string>("tls-ca",
                       "PEM CA bundle: clients must present a certificate it verifies "
                       "(mutual TLS; default none)",
                       [](auto& c) -> auto& { return c.tls_ca; }),
    field<std::string>("tls-min-version",
                       "oldest TLS version a client may speak: 1.2 or 1.3 (default 1.2)",
                       [](auto& c) -> auto& { return c.tls_min_version; }),
    field<std::string>("tls-ciphers",
                       "TLS 1.2 ciphers, an OpenSSL cipher list (default: ECDHE with AES-GCM or "
                       "ChaCha20-Poly1305; docs/security.md)",
                       [](auto& c) -> auto& { return c.tls_ciphers; }),
    field<bool>("compression",
                "permessage-deflate (RFC 7692) for clients that offer it (default off)",
                [](auto& c) -> auto& { return c.compression; }),
    // History and presence (docs/protocol.md v1.1) of topics outside
    // namespaces; namespaces come from the `namespaces` section
    // (node/namespaces.hpp).
    field<std::size_t>("history-size",
                       "messages kept per topic outside namespaces; 0: no history (default 0)",
                       [](auto& c) -> auto& { return c.hub.topic_defaults.history_size; }),
    field<caf::timespan>("history-ttl",
                         "a kept message older than this is dropped (default 5min)",
                         [](auto& c) -> auto& { return c.hub.topic_defaults.history_ttl; }),
    word_switch("presence", "true|false: presence queries on topics (default false)",
                [](auto& c) -> auto& { return c.hub.topic_defaults.presence; }, true_false),
    word_switch("join-leave",
                "true|false: join/leave events for subscribers that ask (default false)",
                [](auto& c) -> auto& { return c.hub.topic_defaults.join_leave; }, true_false),
    field<std::size_t>("history-max-bytes",
                       "bytes all histories may hold; past it the oldest messages of the "
                       "largest go (default 268435456)",
                       [](auto& c) -> auto& { return c.hub.history_max_bytes; }),
    field<std::size_t>("recovery-max", "missed messages one recovery may replay (default 300)",
                       [](auto& c) -> auto& { return c.hub.recovery_max; }),
    field<std::size_t>("join-leave-max-subscribers",
                       "no join/leave events on topics with more subscribers (default 1000)",
                       [](auto& c) -> auto& { return c.hub.join_leave_max_subscribers; }),
    // Stopping and upgrading (docs/operations.md).
    field<caf::timespan>("drain-period",
                         "a stop spreads its closes evenly over this long; /readyz is 503 "
                         "meanwhile (default 0s: all at once)",
                         [](auto& c) -> auto& { return c.drain_period; }),
    field<bool>("reuse-port",
                "bind the port with SO_REUSEPORT, so a new process can take it over while "
                "this one drains (default off)",
                [](auto& c) -> auto& { return c.reuse_port; }),
    // Redis as the history store (docs/cluster.md, "Redis").
    field<std::string>("redis",
                       "host:port[,host:port...]: histories in Redis, topics sharded over the "
                       "servers (default none: in the node's memory)",
                       [](auto& c) -> auto& { return c.redis; }),
    secret("redis-password", "AUTH password of the Redis servers (default none)",
           [](auto& c) -> auto& { return c.redis_password; }),
    field<std::string>("redis-prefix", "prefix of every Redis key (default switchboard:)",
                       [](auto& c) -> auto& { return c.redis_prefix; }),
    field<caf::timespan>("redis-timeout",
                         "a Redis reply later than this: unavailable, reconnect (default 2s)",
                         [](auto& c) -> auto& { return c.redis_timeout; }),
  };
  return options;
}

std::string key_of(caf::string_view category, std::string_view name) {
  // CAF keeps the "global" category's options at the top level.
  if (category == "global")
    return std::string{name};
  return std::string{category.begin(), category.end()} + "." + std::string{name};
}

const caf::config_value* lookup(const caf::actor_system_config& cfg, caf::string_view category,
                                std::string_view name) {
  return caf::get_if(&caf::content(cfg), key_of(category, name));
}

} // namespace

void add_node_options(caf::config_option_set& options, caf::string_view category) {
  caf::config_option_adder adder{options, category};
  for (auto& o : table())
    o.declare(adder, o);
}

node_config node_config_from(const caf::actor_system_config& cfg,
                             std::vector<std::string>& problems, caf::string_view category) {
  node_config result;
  for (auto& o : table())
    if (o.read && !o.read(lookup(cfg, category, o.name), result))
      problems.push_back(std::string{o.name} + " must be " + o.expected + " (got "
                         + caf::to_string(*lookup(cfg, category, o.name)) + ")");
  // A replay may take half of the send buffer (node::start caps it there).
  result.hub.replay_max_bytes = result.connection.send_buffer_bytes / 2;
  auto ns = net::read_namespaces(lookup(cfg, category, "namespaces"));
  result.hub.namespaces = std::move(ns.namespaces);
  problems.insert(problems.end(), ns.problems.begin(), ns.problems.end());
  auto heartbeat = span_of(lookup(cfg, category, "cluster-heartbeat-interval"),
                           heartbeat_default);
  if (heartbeat < std::chrono::milliseconds(10))
    problems.emplace_back("cluster-heartbeat-interval must be at least 10ms");
  if (span_of(lookup(cfg, category, "cluster-connection-timeout"), connection_timeout_default)
      <= heartbeat)
    problems.emplace_back("cluster-connection-timeout must be longer than "
                          "cluster-heartbeat-interval");
  // The cluster settings were collected whether clustered or not.
  if (result.cluster_port == 0) {
    if ((result.cluster && !result.cluster->seeds.empty()) || !result.cluster_host.empty())
      problems.emplace_back("cluster-seeds and cluster-host need cluster-port");
    result.cluster.reset();
  } else {
    cluster_of(result);
  }
  return result;
}

namespace {

bool clustered(const caf::actor_system_config& cfg, caf::string_view category) {
  auto port = lookup(cfg, category, "cluster-port");
  return port != nullptr && value_of<std::uint16_t>(*port).value_or(0) != 0;
}

// CAF's middleman options as a cluster runs with them: what
// prepare_node_options sets and --dump-config shows (CAF's dump is made
// while parsing, before they are set).
std::vector<std::pair<std::string, caf::timespan>>
middleman_spans(const caf::actor_system_config& cfg, caf::string_view category) {
  return {{"middleman.heartbeat-interval",
           span_of(lookup(cfg, category, "cluster-heartbeat-interval"), heartbeat_default)},
          {"middleman.connection-timeout",
           span_of(lookup(cfg, category, "cluster-connection-timeout"),
                   connection_timeout_default)}};
}

} // namespace

void prepare_node_options(caf::actor_system_config& cfg, caf::string_view category) {
  if (!clustered(cfg, category))
    return;
  cfg.load<caf::io::middleman>();
  for (auto& [key, span] : middleman_spans(cfg, category))
    cfg.set(key, span);
  std::vector<std::string> ignored; // problems() reports them
  prepare_cluster_tls(cfg, node_config_from(cfg, ignored, category));
}

void dump_node_options(const caf::actor_system_config& cfg, caf::settings& out,
                       caf::string_view category) {
  std::vector<std::string> ignored;
  auto effective = node_config_from(cfg, ignored, category);
  for (auto& o : table()) {
    auto value = o.show ? o.show(effective)
                        : caf::config_value{span_of(lookup(cfg, category, o.name),
                                                    o.fallback)};
    caf::put(out, key_of(category, o.name), std::move(value));
  }
  if (clustered(cfg, category))
    for (auto& [key, span] : middleman_spans(cfg, category))
      caf::put(out, key, span);
}

} // namespace switchboard
