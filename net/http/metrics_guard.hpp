#pragma once

// Who may read /metrics and /stats (docs/security.md, "Metrics"): a bearer
// key when one is configured (node_config::metrics_key), and a token bucket
// per source address in front of it, so that neither a scraper gone wild
// nor a key guesser can keep the hub busy with statistics. Internal to net/.

#include "admission/admission_table.hpp"
#include "auth/api_key.hpp"
#include "http/http_route.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace switchboard::net {

class metrics_guard {
public:
  using clock = std::chrono::steady_clock;

  /// `key`: the digest of the key requests must carry as `Authorization:
  /// Bearer KEY` (none: any request). `rate` requests per second per
  /// address with bursts of `burst` (rate 0: no limit). At most
  /// `max_addresses` addresses are tracked at once.
  metrics_guard(std::optional<api_key_digest> key, double rate, double burst,
                std::size_t max_addresses = default_max_addresses);

  /// The answer that refuses `req` from `from` at `now`: 429 with
  /// Retry-After past the address's rate (checked first, so that guessing
  /// the key is limited too), 401 with `WWW-Authenticate: Bearer` without
  /// the key unless `key_waived` (a logged-in console page, which may call
  /// the API itself); none when the request may be served. Thread-safe:
  /// every I/O loop asks the one guard of its node.
  std::optional<http_response> check(const http_request& req, const address_key& from,
                                     clock::time_point now, bool key_waived = false);

  /// Addresses tracked now (never above max_addresses).
  std::size_t tracked() const;

  static constexpr std::size_t default_max_addresses = 4096;

private:
  struct bucket {
    double tokens = 0;
    clock::time_point last{};
  };

  /// Takes a token of `from`'s bucket; false when it has none.
  bool take(const address_key& from, clock::time_point now);
  /// Makes room for one more address: forgets those whose bucket is full
  /// again (they look like ones never seen), and all of them when that is
  /// not enough (many addresses at once: memory stays bounded, and each
  /// address starts from a full bucket again).
  void make_room(clock::time_point now);

  std::optional<api_key_digest> key_;
  double rate_;
  double burst_;
  std::size_t max_addresses_;
  mutable std::mutex mtx_;
  std::unordered_map<address_key, bucket, address_hash> buckets_;
};

/// Whether `authorization` (the header's value) is `Bearer KEY` (the scheme
/// in any case) with the key whose digest is `expected`, in constant time
/// as key_matches().
bool bearer_matches(std::string_view authorization, const api_key_digest& expected);

} // namespace switchboard::net
