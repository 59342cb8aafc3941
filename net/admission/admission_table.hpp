#pragma once

// The bookkeeping behind the admission limits: open WebSocket connections
// and pending (not yet upgraded) TCP connections per node and per source
// address, and a token bucket of upgrade attempts per source address. A
// plain class: no Asio, no clock of its own (every call takes the time), no
// thread safety. The node keeps one on the strand of its `admission`
// (admission.hpp); tests drive it directly.

#include "switchboard/admission_limits.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace switchboard::net {

/// A source address as the table counts it: 16 bytes, IPv4 as IPv4-mapped
/// IPv6, IPv6 cut to its /64 (see key_of in admission.hpp).
using address_key = std::array<std::uint8_t, 16>;

/// Seeded, so that a client cannot pick addresses that collide.
struct address_hash {
  std::uint64_t seed = 0;
  std::size_t operator()(const address_key& key) const noexcept;
};

/// The answer to one upgrade attempt, or to one new TCP connection.
enum class admission_verdict : std::uint8_t {
  admitted,
  max_connections,             ///< the node is full
  max_connections_per_address, ///< this address holds its share
  handshake_rate,              ///< this address tries too often
  max_pending_connections,     ///< the node has too many connections not upgraded
  max_pending_connections_per_address, ///< and so has this address
};

/// The name /stats uses for a rejection ("max_connections", ...).
const char* to_string(admission_verdict verdict) noexcept;

struct admission_decision {
  admission_verdict verdict = admission_verdict::admitted;
  /// For a rejection: when trying again makes sense (at least 1 s).
  std::chrono::seconds retry_after{0};
};

/// Upgrades refused since start: by the admission limits (the table counts
/// those), by the Origin check and by the authenticator (the sessions count
/// those, node_context::refused); and connections refused before they sent
/// anything, by the pending limits (the table).
struct rejection_counts {
  std::uint64_t max_connections = 0;
  std::uint64_t max_connections_per_address = 0;
  std::uint64_t handshake_rate = 0;
  std::uint64_t origin_not_allowed = 0;     ///< 403
  std::uint64_t authentication_failed = 0;  ///< the authenticator's refusal (401, 403, ...)
  std::uint64_t authentication_unavailable = 0; ///< no answer in time: 503
  std::uint64_t max_pending_connections = 0;             ///< 503 (TLS: closed)
  std::uint64_t max_pending_connections_per_address = 0; ///< 429 (TLS: closed)
};

/// Every upgrade counter of `counts` under the name /stats and /metrics give
/// it ("max_connections", ..., "origin_not_allowed", ...), zero or not.
std::map<std::string, std::uint64_t> upgrade_rejections(const rejection_counts& counts);

/// The same for the connections refused before their first request
/// ("max_pending_connections", "max_pending_connections_per_address").
std::map<std::string, std::uint64_t> connection_rejections(const rejection_counts& counts);

class admission_table {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// Retry-After for the connection limits: a slot frees when some client
  /// leaves, which nobody can predict.
  static constexpr std::chrono::seconds full_retry_after{5};
  /// admit() forgets idle entries at most this often (and when full).
  static constexpr std::chrono::seconds sweep_interval{10};

  /// Remembers at most `limits.max_connections +
  /// limits.max_pending_connections + idle_entries` addresses: every address
  /// with an open or pending connection, and at least `idle_entries` without
  /// one (whose bucket is still refilling).
  admission_table(const admission_limits& limits, std::size_t idle_entries);

  /// One upgrade attempt from `from`: takes a token (rejected attempts
  /// too), then checks the node's and the address's connection count. An
  /// admitted connection counts until release().
  admission_decision admit(const address_key& from, time_point now);

  /// A connection admitted for `from` ended.
  void release(const address_key& from, time_point now);

  /// A new TCP connection from `from`, not upgraded yet: checks the node's
  /// and the address's pending count (no token: the handshake rate is about
  /// upgrades). An admitted one counts until close_pending().
  admission_decision open_pending(const address_key& from, time_point now);

  /// A pending connection from `from` ended or became a WebSocket.
  void close_pending(const address_key& from, time_point now);

  /// Forgets every address with no connection and a full bucket (it looks
  /// exactly like one never seen); returns how many.
  std::size_t sweep(time_point now);

  /// Open (admitted, not yet released) connections.
  std::size_t connections() const noexcept {
    return connections_;
  }

  std::size_t connections(const address_key& from) const;

  /// Pending (opened, not yet closed) TCP connections.
  std::size_t pending() const noexcept {
    return pending_;
  }

  std::size_t pending(const address_key& from) const;

  /// Addresses remembered.
  std::size_t entries() const noexcept {
    return entries_.size();
  }

  std::size_t max_entries() const noexcept {
    return max_entries_;
  }

  const rejection_counts& rejections() const noexcept {
    return rejections_;
  }

private:
  struct entry {
    std::size_t connections = 0;
    std::size_t pending = 0;
    double tokens = 0;
    time_point refilled; ///< when `tokens` was last brought up to date
  };
  using map_type = std::unordered_map<address_key, entry, address_hash>;

  void refill(entry& e, time_point now) const;
  bool idle_and_full(entry& e, time_point now) const;
  map_type::iterator insert(const address_key& from, time_point now);
  admission_decision reject(admission_verdict verdict, std::chrono::seconds retry_after);

  admission_limits limits_;
  std::size_t idle_entries_;
  std::size_t max_entries_;
  map_type entries_;
  std::size_t connections_ = 0;
  std::size_t pending_ = 0;
  time_point last_sweep_{};
  rejection_counts rejections_;
};

} // namespace switchboard::net
