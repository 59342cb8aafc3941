#pragma once

// A TLS node's own numbers, for /metrics and /stats (docs/operations.md):
// handshakes and their failures by reason, the certificate's expiry and the
// last (re)load of the certificate. Any thread counts; a scrape reads.

#include <boost/system/error_code.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

// (node_context.hpp includes this header: no Boost.JSON for every session.)
namespace boost::json {
class object;
} // namespace boost::json

namespace switchboard::net {

class exposition;

/// Why a TLS handshake failed: a fixed set that OpenSSL's and Asio's errors
/// map onto (the metric's `reason` label).
enum class handshake_failure : std::uint8_t {
  protocol_version, ///< the client's versions are not ours (TLS 1.1, or 1.2 under 1.3)
  no_shared_cipher, ///< no cipher, group or signature algorithm in common
  certificate,      ///< a certificate refused: the client's (--tls-ca) or ours by the client
  not_tls,          ///< not a TLS client (plain HTTP on the TLS port)
  timeout,          ///< not done within the handshake timeout
  closed,           ///< the connection ended (the client left, or the node stopped)
  other,
};

inline constexpr std::size_t handshake_failure_count = 7;

/// The label value: "protocol_version", "no_shared_cipher", ...
const char* to_string(handshake_failure reason) noexcept;

/// The reason of a failed server handshake's error.
handshake_failure classify_handshake_failure(const boost::system::error_code& ec) noexcept;

/// What a scrape shows.
struct tls_snapshot {
  std::uint64_t handshakes = 0;
  std::array<std::uint64_t, handshake_failure_count> failures{};
  /// The leaf certificate's notAfter, seconds since the epoch (0: unknown).
  std::int64_t certificate_expiry = 0;
  bool last_load_ok = false;
  /// When the last load (the start's or a reload's) was tried.
  std::int64_t last_load_time = 0;
};

/// The counters (node_context::tls_stats).
class tls_metrics {
public:
  /// A handshake completed.
  void handshake_done() noexcept;

  /// A handshake failed with `ec`.
  void handshake_failed(const boost::system::error_code& ec) noexcept;

  /// The certificate was (re)loaded at `now` (seconds since the epoch):
  /// `expiry` is the new certificate's, or nothing when the load failed
  /// (the old certificate, and its expiry, stay).
  void loaded(std::int64_t now, std::optional<std::int64_t> expiry) noexcept;

  tls_snapshot read() const noexcept;

private:
  std::atomic<std::uint64_t> handshakes_{0};
  std::array<std::atomic<std::uint64_t>, handshake_failure_count> failures_{};
  std::atomic<std::int64_t> expiry_{0};
  std::atomic<bool> last_ok_{false};
  std::atomic<std::int64_t> last_time_{0};
};

/// The switchboard_tls_* families.
void write_tls_metrics(exposition& out, const tls_snapshot& tls);

/// The `tls` object of /stats: {"handshakes":..,"handshake_failures":{..},
/// "certificate_expiry":..,"last_reload":{"successful":..,"time":..}}.
boost::json::object tls_stats_json(const tls_snapshot& tls);

} // namespace switchboard::net
