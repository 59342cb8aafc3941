#pragma once

// Who may use the web console (docs/console.md): the admin password, the
// session tokens a login issues (HMAC-signed, in an HttpOnly SameSite=Strict
// cookie), the throttle on failed logins per source address, and the checks
// a console request passes (cookie, Origin, the console's own header).
// Shared by every session of a node; thread-safe. Internal to net/.

#include "admission/admission_table.hpp"
#include "auth/api_key.hpp"
#include "http/http_route.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard::net {

/// The cookie that carries a console session.
constexpr std::string_view console_cookie = "switchboard_console";

/// The header the console sends with every request that acts (a cross-site
/// page cannot send it without a CORS preflight, which the node never
/// answers).
constexpr std::string_view console_header = "X-Switchboard-Console";

class console_auth {
public:
  using clock = std::chrono::system_clock;

  /// How long a session lasts.
  static constexpr auto session_lifetime = std::chrono::hours(12);
  /// Failed logins an address may make at once, and how often it gets
  /// another one.
  static constexpr int login_burst = 5;
  static constexpr auto login_refill = std::chrono::seconds(12);
  /// Addresses the throttle remembers (the table's bound).
  static constexpr std::size_t max_addresses = 10'000;

  /// With a password: logins check it. Empty (--admin-insecure): every
  /// visit of the console from a loopback host name gets a session.
  explicit console_auth(std::string_view password);

  bool insecure() const noexcept {
    return !password_.has_value();
  }

  /// A new session until now + session_lifetime.
  std::string issue(clock::time_point now);

  /// Whether `token` is a session of this node, unexpired and not ended.
  bool valid(std::string_view token, clock::time_point now) const;

  /// Ends the session `token` (logout) for good.
  void revoke(std::string_view token, clock::time_point now);

  /// Whether `presented` is the password; the time it takes tells nothing
  /// about the password.
  bool password_matches(std::string_view presented) const;

  /// Seconds until `from` may try a login again; zero: now.
  std::chrono::seconds login_wait(const address_key& from, clock::time_point now);

  /// A failed login from `from` takes one of its tries.
  void login_failed(const address_key& from, clock::time_point now);

private:
  struct bucket {
    double tries = login_burst;
    clock::time_point at;
  };
  bucket& bucket_of(const address_key& from, clock::time_point now);

  std::array<unsigned char, 32> key_{};
  std::optional<api_key_digest> password_;
  mutable std::mutex mtx_;
  std::unordered_map<address_key, bucket, address_hash> failures_;
  /// Ended sessions (their nonce) until they would have expired anyway.
  std::map<std::string, clock::time_point> revoked_;
};

/// The value of cookie `name` in the request's Cookie headers, if any.
std::optional<std::string_view> cookie_of(const http_request& req, std::string_view name);

/// Whether the request's Origin, when it has one, is the node itself
/// (`http://` or `https://` and the Host header).
bool same_origin(const http_request& req, bool tls);

/// Whether the Host header names a loopback host (localhost, 127.0.0.0/8,
/// [::1]): the console without a password answers only there, so that a
/// page whose name an attacker points at 127.0.0.1 (DNS rebinding) gets
/// nothing.
bool loopback_host(const http_request& req);

/// Whether a request to the server API or an action of the console comes
/// from a logged-in console page: a valid session cookie, the console's
/// header, and no foreign Origin.
bool console_request(const http_request& req, const console_auth& auth, bool tls);

/// Whether a WebSocket upgrade comes from a logged-in console page (its
/// inspector): a valid session cookie and an Origin that is the node itself.
bool console_upgrade(const http_request& req, const console_auth& auth, bool tls);

} // namespace switchboard::net
