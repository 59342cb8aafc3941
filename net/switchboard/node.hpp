#pragma once

/// Embedding a switchboard node in a CAF application: one call starts the
/// hub and a WebSocket listener inside your actor_system; the returned node
/// gives you the hub's handle (see hub.hpp for what it understands).
///
/// Lifetime (docs/embedding.md, "Lifetime"): stop the node, or destroy it,
/// before its actor_system is destroyed: declare the system first and the
/// node after it. CAF 0.17 gives application objects no hook at system
/// shutdown: ~actor_system first waits for every actor that is not hidden
/// (await_actors_before_shutdown, on by default), and the hub is one, so a
/// system destroyed under a running node waits for ever (with the waiting
/// turned off, the node's actors and I/O threads would outlive the system
/// they run on: undefined behaviour). Server-side actors registered with
/// the hub (listeners, services, observers) are sent an exit when the hub
/// ends (hub.hpp), so they do not hold the system up either.

#include "switchboard/admission_limits.hpp"
#include "switchboard/api_keys.hpp"
#include "switchboard/cluster.hpp"
#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/stop_mode.hpp"

#include <caf/all.hpp>

#include <spdlog/fwd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

/// A hub's settings as a node starts with them: the hub's defaults, and
/// deliveries coalesced for 1 ms.
inline hub_settings node_hub_settings() {
  hub_settings s;
  s.delivery_coalesce = std::chrono::milliseconds(1);
  return s;
}

struct node_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080; ///< 0 picks a free port
  connection_settings connection;
  /// The hub's settings, with deliveries coalesced for 1 ms
  /// (hub_settings::delivery_coalesce, --delivery-coalesce).
  hub_settings hub = node_hub_settings();
  std::size_t max_message_size = 64 * 1024; ///< bytes per inbound message
  caf::timespan handshake_timeout = std::chrono::seconds(10);
  /// How long a server-initiated close waits for the client's close frame
  /// before the socket is closed anyway.
  caf::timespan close_timeout = std::chrono::seconds(2);
  std::size_t io_threads = default_io_threads();
  /// Who may open a WebSocket connection (node::start refuses limits whose
  /// validate() complains).
  admission_limits admission;
  /// Origins a WebSocket upgrade may come from, as `scheme://host[:port]`
  /// (scheme and host compared case-insensitively, the port exactly; a
  /// default port is not implied). Empty: any. Checked after the admission
  /// limits and before the authenticator: an upgrade with an Origin header
  /// not listed gets 403; one without an Origin header (not a browser)
  /// passes.
  std::vector<std::string> allowed_origins;
  /// When set, asked before every WebSocket upgrade (after the admission
  /// limits and the origin check): it allows the upgrade under an identity
  /// or refuses it with an HTTP status. No answer within
  /// authenticate_timeout: 503. jwt.hpp has one for JSON Web Tokens.
  authenticator_actor authenticator;
  caf::timespan authenticate_timeout = std::chrono::seconds(2);
  /// The server API's key (docs/api.md): requests under /api/ must carry
  /// `Authorization: apikey KEY`. It goes by the name `default`
  /// (default_api_key_name) next to api_keys. Empty, and api_keys empty: no
  /// API (every /api/ path is 404).
  std::string api_key;
  /// More API keys, each with a name the audit line logs (api_keys.hpp):
  /// any of them (or api_key) opens the API. node::set_api_keys() replaces
  /// them at run time.
  std::vector<named_api_key> api_keys;
  /// The largest body of an API request, in bytes (413 beyond).
  std::size_t api_max_body = 1024 * 1024;
  /// The key /metrics and /stats require (docs/security.md): requests must
  /// carry `Authorization: Bearer KEY`, else 401. Empty: they are public.
  std::string metrics_key;
  /// Requests per second each source address (IPv6: each /64) may make to
  /// /metrics and /stats, in bursts of metrics_burst; past it 429. 0: no
  /// limit.
  double metrics_rate = 50;
  double metrics_burst = 100;
  /// The web console at /console (docs/console.md): on with a password (at
  /// least 16 characters; a login form gives a session cookie), or with
  /// admin_insecure, without one, on a loopback host only. Neither: no
  /// console (404).
  std::string admin_password;
  bool admin_insecure = false;
  /// TLS (docs/security.md): with a certificate chain and its key (PEM
  /// files, both or neither) the port speaks TLS only: wss:// and https://.
  /// With tls_ca (a PEM bundle) too, clients must present a certificate that
  /// verifies against it. node::reload_tls() reads the files again.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// The oldest TLS version a client may speak: "1.2" or "1.3" (TLS 1.3
  /// only).
  std::string tls_min_version = "1.2";
  /// The TLS 1.2 ciphers, an OpenSSL cipher list (`openssl ciphers -v`
  /// shows what one selects); TLS 1.3's suites are all AEAD with forward
  /// secrecy and are not configured. The default: ECDHE key exchange with
  /// AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA certificates (Mozilla's
  /// "intermediate" list without DHE; docs/security.md).
  std::string tls_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  /// permessage-deflate (RFC 7692) for clients that offer it
  /// (docs/protocol.md, Compression). Off: the offer is ignored.
  bool compression = false;
  /// glibc keeps freed memory in its arenas; a node whose connections come
  /// and go gives free pages back to the system this often (malloc_trim).
  /// It affects the whole process, so it is off unless the application asks
  /// (the CLI does: 30 s).
  caf::timespan trim_memory_interval{0};
  /// Where the node logs (docs/operations.md, Logging): connects and
  /// disconnects at debug, drops and refused upgrades at warn, nothing per
  /// message. Null: spdlog's default logger as it is when start() runs.
  /// Lines are written by the thread that logs (hub, I/O loops): give a
  /// logger whose sinks do not block for long (stderr is fine), or an
  /// spdlog async logger.
  std::shared_ptr<spdlog::logger> logger;
  /// Joins a cluster of nodes when set (docs/cluster.md): the node's
  /// cluster actor is published with CAF's middleman on cluster_host (empty:
  /// `host`) and cluster_port (0 picks a free one), and dials the seeds.
  /// Needs an actor system with the middleman loaded
  /// (cfg.load<caf::io::middleman>() before it starts, plus
  /// add_message_types(cfg), as on every node of the cluster).
  std::optional<cluster_settings> cluster;
  std::string cluster_host;
  std::uint16_t cluster_port = 0;
  /// Mutual TLS between the nodes (docs/cluster.md, "Cluster TLS"): this
  /// node's PEM certificate chain and private key, and the PEM CA bundle a
  /// peer's certificate must verify against, on the connections it accepts
  /// and on those it dials. All three or none. They are used through CAF's
  /// OpenSSL module, which must be loaded with exactly these files before
  /// the actor system starts: switchboard::prepare_cluster_tls(cfg, nc)
  /// does it (node_options.hpp); start() refuses a mismatch.
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_tls_ca;
  /// A stop spreads its closes evenly over this long (docs/operations.md,
  /// "Restarting"), so that the clients do not all reconnect in the same
  /// second; 0: all at once. The connections not closed yet are served as
  /// before; new upgrades are refused with 503, and /readyz answers 503,
  /// from the moment the stop begins. node::stop() takes this much longer.
  caf::timespan drain_period{0};
  /// Bind the port with SO_REUSEPORT, so that a new process can bind it
  /// while this one drains (docs/operations.md, "Upgrading without
  /// downtime"); the listener then closes as soon as a stop begins, and
  /// every new client goes to the new process. Every process sharing the
  /// port must set it (and run as the same user).
  bool reuse_port = false;
  /// Redis as the history store (docs/cluster.md, "Redis"): `host:port` of
  /// each server, comma separated; topics are sharded over them by FNV-1a
  /// (64 bits) of their name modulo their number, so every node of a
  /// cluster lists them in one order. Empty: histories live in the hub's
  /// memory, which only one node sees; a clustered node with history
  /// refuses to start without it.
  std::string redis;
  std::string redis_password; ///< AUTH on each connection (empty: none)
  std::string redis_prefix = "switchboard:"; ///< of every key the node writes
  /// A reply later than this drops the connection; requests are answered
  /// `unavailable` meanwhile.
  caf::timespan redis_timeout = std::chrono::seconds{2};

  /// One per core, at most 16 (docs/benchmarks.md).
  static std::size_t default_io_threads() noexcept;

  /// What is impossible about this configuration (named after the CLI
  /// options), empty when it can run.
  std::vector<std::string> problems() const;
};

class node {
public:
  /// Starts a hub and serves WebSocket clients on `ws://host:port/ws` (and
  /// `/healthz`, `/stats`, the server API under `/api/` with an api_key) with `io_threads` Asio threads of its own.
  /// Refuses a configuration with problems() (sec::invalid_argument).
  /// Register the error category first (add_error_category) so exit reasons
  /// render by name.
  static caf::expected<std::unique_ptr<node>> start(caf::actor_system& sys,
                                                    node_config cfg);

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Calls stop().
  ~node();

  /// The hub of this node: its public interface.
  const hub_actor& hub() const noexcept;

  /// An actor that stands for the node, to monitor or link to (CAF's
  /// linked lifetimes, both ways). It exits when the hub has terminated,
  /// for whatever reason: after wait() can return (its result is ready)
  /// and before stop() returns (stop() waits for it as for every actor of
  /// the node, within the bound docs/architecture.md states). Its exit reason: none (normal) after a requested stop;
  /// the reason of the exit that stopped the node, when a linked actor's
  /// death did; the hub's error when the hub died (wait() returns the
  /// same), except that a killed hub gives exit_code::hub_down (a kill
  /// could not be trapped by any linked actor). It traps exits: an exit message with a non-normal reason (a
  /// linked actor died) makes the node request_stop(), and the actor exits
  /// once the hub is down, with that reason; a normal one changes nothing.
  /// Killed (exit_reason::kill), it requests the stop as it goes. Hidden:
  /// it never holds up the actor system's destructor, and nothing needs to
  /// touch it for stop() to work.
  const caf::actor& lifetime() const noexcept;

  /// The port actually bound.
  std::uint16_t port() const noexcept;

  /// The port the cluster actor is published on (0: not clustered).
  std::uint16_t cluster_port() const noexcept;

  /// The node's cluster actor (null: not clustered); it answers
  /// query_cluster and query_peers with cluster_info.
  const caf::actor& cluster() const noexcept;

  /// `ws://host:port/ws`, or `wss://` with TLS.
  std::string url() const;

  /// Reads the TLS certificate, key and CA files again (node_config::tls_cert,
  /// tls_key, tls_ca), under the same policy (tls_min_version, tls_ciphers):
  /// connections accepted from now on use them, those open
  /// keep theirs. On failure (a file unreadable, the key not the
  /// certificate's) the node keeps its current ones and the error says why;
  /// sec::invalid_argument without TLS. Callable from any thread.
  caf::error reload_tls();

  /// Replaces the origins an upgrade may come from (node_config::allowed_origins;
  /// empty: any): upgrades checked from now on use `origins`, connections
  /// open stay. An entry that is not `scheme://host[:port]` is
  /// sec::invalid_argument naming it, and the current list stays. Callable
  /// from any thread.
  caf::error set_allowed_origins(std::vector<std::string> origins);

  /// Replaces node_config::api_keys (api_key, named `default`, stays):
  /// requests read from now on are checked against `keys`, those decided
  /// already keep their answer. Invalid keys (api_key_problems(), or the
  /// name `default` while api_key is set): sec::invalid_argument, and the
  /// node keeps its current keys. An empty list with no api_key closes the
  /// API (404). Callable from any thread.
  caf::error set_api_keys(std::vector<named_api_key> keys);

  /// Starts a graceful stop and returns at once: /readyz answers 503 and
  /// upgrades are refused from now on, the listener stops accepting (with a
  /// drain period and without reuse_port, once the hub is down), every
  /// connection's writer flushes (for at most shutdown_timeout) and closes
  /// with 1001 "going away", spread over node_config::drain_period, and
  /// then the hub refuses publishes and ends. request_stop() is
  /// request_stop(stop_mode::final_stop). Callable from any thread, actors
  /// included; idempotent. Not
  /// async-signal-safe (it locks a mutex, posts to an I/O loop and sends
  /// a message, all of which may allocate): never call it from a signal
  /// handler; block the signals and wait for them instead (stop_signals.hpp).
  void request_stop();

  /// request_stop(), closing with close_code_of(mode): 1012 "service
  /// restart" for stop_mode::restart, telling clients to come back soon.
  /// The first request decides the mode (later ones, and stop(), change
  /// nothing).
  void request_stop(stop_mode mode);

  /// stop() without blocking the caller: it runs on a thread of its own and
  /// calls `done` there once the node has stopped. The way to stop a node
  /// from an actor (e.g. `done` sends the actor a message). Idempotent; the
  /// destructor waits for it.
  void stop_async(std::function<void()> done = {});

  /// Blocks until the hub terminated, and returns its exit reason: none
  /// after a requested stop, the error that ended it otherwise (a hub that
  /// dies takes every connection along, close 1011). Not from an actor.
  caf::error wait();

  /// request_stop(), then waits until every connection is closed and stops
  /// the I/O threads; docs/architecture.md says what it guarantees and how
  /// long it blocks at most ("Stopping a node"). It blocks, so never call it
  /// from an actor: use stop_async(). Called from one of the node's own I/O
  /// threads it would wait for itself: that is refused with an assertion.
  /// Idempotent.
  void stop();

  /// request_stop(mode), then as stop().
  void stop(stop_mode mode);

private:
  struct impl;
  explicit node(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace switchboard
