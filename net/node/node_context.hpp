#pragma once

// What every session of a node shares. Internal to net/.

#include "auth/api_key.hpp"
#include "hub/hub_interface.hpp"
#include "observe/log_throttle.hpp"
#include "switchboard/settings.hpp"
#include "tls/tls_metrics.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace switchboard::net {

class admission;
class io_loops;
class metrics_guard;
class redis_shards;

struct node_context {
  node_context(caf::actor_system& s, hub_internal_actor h) : sys(s), hub(std::move(h)) {
  }
  caf::actor_system& sys;
  hub_internal_actor hub;
  /// Shared by every connection's pair.
  std::shared_ptr<const connection_settings> settings;
  std::size_t max_message_size = 64 * 1024;
  /// permessage-deflate for clients that offer it (node_config::compression).
  bool compression = false;
  /// In Asio's clock type: every session hands them to Asio/Beast timers.
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration close_timeout = std::chrono::seconds(2);
  /// The node's I/O loops (they outlive every session).
  io_loops* loops = nullptr;
  /// Decides on every WebSocket upgrade (admission.hpp).
  std::shared_ptr<net::admission> admission;
  /// Origins an upgrade may come from, normalized (origin.hpp); empty: any.
  /// Never null. node::set_allowed_origins() replaces the list from another
  /// thread: only std::atomic_load and std::atomic_store touch it.
  std::shared_ptr<const std::vector<std::string>> allowed_origins =
    std::make_shared<const std::vector<std::string>>();
  /// Asked after the admission limits, when set (node_config::authenticator).
  authenticator_actor authenticator;
  caf::timespan authenticate_timeout = std::chrono::seconds(2);
  /// TLS (node_config::tls_cert): the context new connections are accepted
  /// with; null: plain. node::reload_tls() replaces it from another thread:
  /// only std::atomic_load and std::atomic_store touch it.
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// Handshakes, their failures and certificate loads (with `tls` only).
  tls_metrics tls_stats;
  /// The server API (node_config::api_key, api_max_body).
  api_settings api;
  /// Who may read /metrics and /stats (node_config::metrics_key, metrics_rate).
  std::shared_ptr<metrics_guard> numbers_guard;
  /// Live HTTP and WebSocket sessions.
  std::atomic<std::size_t> sessions{0};
  /// References to sessions held outside the I/O loops (by actors): the
  /// node tears its loops down only once this is zero (see held_by_actor).
  std::atomic<std::size_t> actor_refs{0};
  /// Set when the stop begins (node::request_stop): upgrades are refused
  /// with 503 from then on, and answers close their connection.
  std::atomic<bool> stopping{false};
  /// A stop spreads its closes over this long (node_config::drain_period).
  caf::timespan drain_period{0};
  /// The listener binds with SO_REUSEPORT (node_config::reuse_port): a stop
  /// then closes it at once, so a new process on the port takes every new
  /// client while this one drains.
  bool reuse_port = false;
  /// The Redis store's connections (null: no --redis): /stats, /metrics.
  std::shared_ptr<const redis_shards> redis;
  /// The node's cluster actor (null: not clustered): /stats?scope=cluster.
  caf::actor cluster;
  /// The node's tag in its connection ids when clustered: the API answers.
  std::uint16_t cluster_tag = 0;
  /// False once the hub terminated: /healthz then answers 503.
  std::atomic<bool> hub_alive{true};
  /// The node's logger (node_config::logger, or spdlog's default): never null.
  std::shared_ptr<spdlog::logger> log;
  /// Upgrades refused by the Origin check and the authenticator (the
  /// admission limits count theirs in their table): any loop adds, /stats
  /// and /metrics read.
  struct refusal_counters {
    std::atomic<std::uint64_t> origin_not_allowed{0};
    std::atomic<std::uint64_t> authentication_failed{0};
    std::atomic<std::uint64_t> authentication_unavailable{0};
  } refused;
  /// Refused upgrades are logged at most this often (a flood must not turn
  /// into a flood of log lines).
  log_throttle refusals{10};
};

/// Logs that a connection or an upgrade was refused (`what`: "upgrade
/// refused", ...) at warn, throttled (node_context::refusals): a flood of
/// refusals must not turn into a flood of log lines.
void log_refusal(node_context& ctx, std::string_view what, unsigned status,
                 const std::string& remote, std::string_view reason);

/// Marks a reference that an actor holds (a session in a transport handle,
/// a callback into a session): counted in node_context::actor_refs for as
/// long as it lives.
class held_by_actor {
public:
  explicit held_by_actor(std::shared_ptr<node_context> ctx) : ctx_(std::move(ctx)) {
    ++ctx_->actor_refs;
  }
  held_by_actor(const held_by_actor& other) : held_by_actor(other.ctx_) {
  }
  held_by_actor& operator=(const held_by_actor&) = delete;
  ~held_by_actor() {
    --ctx_->actor_refs;
  }

private:
  std::shared_ptr<node_context> ctx_;
};

/// Counts a session for as long as it lives.
class session_count {
public:
  explicit session_count(std::shared_ptr<node_context> ctx) : ctx_(std::move(ctx)) {
    ++ctx_->sessions;
  }
  session_count(const session_count&) = delete;
  session_count& operator=(const session_count&) = delete;
  ~session_count() {
    --ctx_->sessions;
  }
  node_context& operator*() const noexcept {
    return *ctx_;
  }
  node_context* operator->() const noexcept {
    return ctx_.get();
  }
  std::shared_ptr<node_context> share() const {
    return ctx_;
  }

private:
  std::shared_ptr<node_context> ctx_;
};

} // namespace switchboard::net
