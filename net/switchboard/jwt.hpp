#pragma once

/// Authentication with JSON Web Tokens (RFC 7519): a verifier for HS256,
/// RS256 and ES256 tokens, and an authenticator actor built on it that a
/// node asks before every WebSocket upgrade (node_config::authenticator)
/// and on every refresh of a connection's token.
/// The token comes from the upgrade URL's `token` query parameter or an
/// `Authorization: Bearer` header; its `sub` claim becomes the connection's
/// user, its optional `topics` claim (glob patterns) limits the topics the
/// connection may subscribe to and publish on, and its `exp` claim (required
/// unless jwt_settings::allow_no_exp) ends the connection, `leeway` later,
/// unless the client refreshes the token first. Signatures and base64 are
/// OpenSSL's (libcrypto), the JSON is Boost.JSON's.

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// -- errors -----------------------------------------------------------------------

/// Why a token was refused.
enum class jwt_errc : std::uint8_t {
  missing_token = 1,  ///< no token in the request
  several_tokens,     ///< more than one (query and header, or one of them twice)
  token_too_large,    ///< longer than jwt_settings::max_token_size
  malformed_token,    ///< not three base64url parts of JSON objects
  wrong_algorithm,    ///< `alg` is not the configured key's (`none` included)
  bad_signature,      ///< the signature does not verify with the key
  expired,            ///< `exp` (plus the leeway) has passed
  not_yet_valid,      ///< `nbf` (minus the leeway) has not come yet
  missing_subject,    ///< no `sub`, or not a string of 1-256 bytes
  bad_claim,          ///< `exp`/`nbf` not a number, `topics` not a pattern list, `crit`
  missing_expiry,     ///< no `exp` (unless jwt_settings::allow_no_exp)
};

/// The error category of jwt_errc.
constexpr caf::atom_value jwt_error_category = caf::atom("sbjwt");

caf::error make_error(jwt_errc x);

/// A short text for a client ("token expired", ...): it never quotes the token.
const char* to_string(jwt_errc x);

// -- the verifier --------------------------------------------------------------------

struct jwt_settings {
  using clock_type = std::chrono::system_clock;

  /// HS256: the shared secret (at least 32 bytes, RFC 7518 section 3.2).
  std::string secret;
  /// RS256 or ES256: a public key in PEM (`-----BEGIN PUBLIC KEY-----`), RSA
  /// of at least 2048 bits or EC on P-256; the key's type picks the
  /// algorithm. Exactly one of secret and public_key_pem is set.
  std::string public_key_pem;
  /// Clock skew tolerated on `exp` and `nbf`; a connection ends this long
  /// after its token's `exp` (jwt_verdict).
  caf::timespan leeway = std::chrono::seconds(30);
  /// Accept tokens without `exp` (they never expire, nor do their
  /// connections). Off: such a token is refused with missing_expiry.
  bool allow_no_exp = false;
  /// Longer tokens are refused before any decoding.
  std::size_t max_token_size = 8 * 1024;
  /// The time tokens are checked against; empty: the system clock. Tests
  /// set a fixed one.
  std::function<clock_type::time_point()> clock;
};

/// What a valid token says.
struct jwt_claims {
  std::string subject; ///< `sub`
  /// `exp`: none when the claim is absent (jwt_settings::allow_no_exp).
  caf::optional<caf::timestamp> expires = caf::none;
  /// `topics`: none when the claim is absent (every topic allowed).
  caf::optional<std::vector<std::string>> topics = caf::none;
};

/// Checks tokens against one key. Copies share the key; verify() may run on
/// several threads at once.
class jwt_verifier {
public:
  /// A verifier for `settings`, or sec::invalid_argument saying what is
  /// wrong with them (no key, two keys, a short secret, an unreadable or
  /// unsupported public key, a negative leeway).
  static caf::expected<jwt_verifier> make(jwt_settings settings);

  /// "HS256", "RS256" or "ES256": the only `alg` a token may name.
  const std::string& algorithm() const noexcept;

  /// jwt_settings::leeway.
  caf::timespan leeway() const noexcept;

  /// The claims of a valid token, or a jwt_errc error: the signature must
  /// verify with the configured key under the configured algorithm (`alg:
  /// none` and any other algorithm are refused, so a token signed HS256 with
  /// the public key as its secret fails), `exp` and `nbf` must hold within
  /// the leeway, `sub` must be a string of 1-256 bytes, `exp` must be there
  /// (unless jwt_settings::allow_no_exp), and `topics`, if
  /// present, an array of patterns (1-256 bytes without control characters
  /// each). A header with `crit` is refused (no extension is understood).
  caf::expected<jwt_claims> verify(std::string_view token) const;

  struct impl;

private:
  explicit jwt_verifier(std::shared_ptr<const impl> p);
  std::shared_ptr<const impl> impl_;
};

// -- the authenticator -------------------------------------------------------------

/// The token of an upgrade request: the `token` query parameter of its
/// target (percent-decoded) or the credentials of an `Authorization: Bearer`
/// header. Refused with missing_token when there is none, several_tokens
/// when both are given or either twice, malformed_token when the query's
/// percent-encoding is broken.
caf::expected<std::string> token_of(const upgrade_request& req);

/// The verdict on `req`: allowed under the token's `sub` with its `topics`
/// until its `exp` plus the leeway (upgrade_verdict::expires), or refused
/// with 401 and the error's text. A refresh (upgrade_request::refresh) is
/// judged the same way: its token is the request's bearer token.
upgrade_verdict jwt_verdict(const jwt_verifier& verifier, const upgrade_request& req);

/// Called for every refused upgrade with the client's address and the
/// reason (never the token), e.g. to log it.
using jwt_refusal_hook =
  std::function<void(const std::string& remote_address, const std::string& reason)>;

/// An authenticator that answers every upgrade with jwt_verdict(); spawn it
/// with `sys.spawn(jwt_authenticator, verifier, hook)` and put it into
/// node_config::authenticator.
authenticator_actor::behavior_type jwt_authenticator(authenticator_actor::pointer self,
                                                     jwt_verifier verifier,
                                                     jwt_refusal_hook on_refusal);

} // namespace switchboard
