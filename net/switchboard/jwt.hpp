#pragma once

/// Authentication with JSON Web Tokens (RFC 7519): a verifier for HS256,
/// RS256 and ES256 tokens (one key, or several picked by the token's `kid`,
/// e.g. from a JWK Set), and an authenticator actor built on it that a
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
  unknown_key,        ///< the header's `kid` names no configured key
  missing_key_id,     ///< no `kid`, and several keys take the token's `alg`
  missing_issuer,     ///< no `iss` although jwt_settings::issuer is set
  wrong_issuer,       ///< `iss` is not jwt_settings::issuer
  missing_audience,   ///< no `aud` although jwt_settings::audience is set
  wrong_audience,     ///< `aud` neither is nor contains jwt_settings::audience
};

/// The error category of jwt_errc.
constexpr caf::atom_value jwt_error_category = caf::atom("sbjwt");

caf::error make_error(jwt_errc x);

/// A short text for a client ("token expired", ...): it never quotes the token.
const char* to_string(jwt_errc x);

// -- the verifier --------------------------------------------------------------------

/// A verification key with its key id (jwt_settings::keys): either a
/// secret or a PEM public key, as jwt_settings::secret and public_key_pem.
struct jwt_key {
  std::string kid;            ///< the `kid` a token names to be checked with it
  std::string secret;         ///< HS256
  std::string public_key_pem; ///< RS256 (RSA) or ES256 (EC P-256)
};

/// What a verifier accepts. Keys: the one without a key id (secret or
/// public_key_pem, at most one of them) and any number with one (keys and
/// the jwks), at least one in all, every kid distinct. A key verifies only
/// the algorithm of its type (HS256 for a secret, RS256 for RSA, ES256 for
/// EC P-256), whatever the token says. Which key checks a token:
/// - a token with a `kid`: the key with that kid; none (jwt_errc::unknown_key),
///   unless no key has a kid at all (only secret or public_key_pem): then
///   the kid is ignored, as before key ids existed;
/// - a token without one: the key without a kid, if its algorithm is the
///   token's `alg`; else the one key whose algorithm is the token's `alg`;
///   with several, jwt_errc::missing_key_id (no key is tried at random).
struct jwt_settings {
  using clock_type = std::chrono::system_clock;

  /// HS256: the shared secret (at least 32 bytes, RFC 7518 section 3.2).
  std::string secret;
  /// RS256 or ES256: a public key in PEM (`-----BEGIN PUBLIC KEY-----`), RSA
  /// of at least 2048 bits or EC on P-256; the key's type picks the
  /// algorithm. At most one of secret and public_key_pem is set.
  std::string public_key_pem;
  /// Keys with a key id, e.g. one PEM file per kid.
  std::vector<jwt_key> keys;
  /// A JWK Set (RFC 7517 section 5) as JSON text, the format identity
  /// providers publish: `kty` RSA (`n`, `e`), EC (`crv` P-256, `x`, `y`) or
  /// oct (`k`, HS256), each with a `kid`; keys whose `use` is not `sig` are
  /// skipped, an `alg` must be the key type's, private keys are refused.
  std::string jwks;
  /// When set, a token's `iss` must be exactly this string
  /// (jwt_errc::missing_issuer, wrong_issuer).
  std::string issuer;
  /// When set, a token's `aud` must be this string, or an array that
  /// contains it (RFC 7519 section 4.1.3; jwt_errc::missing_audience,
  /// wrong_audience).
  std::string audience;
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

/// A key of a verifier, as jwt_verifier::keys() describes it.
struct jwt_key_info {
  std::string kid;
  std::string algorithm;
};

/// Checks tokens against a set of keys. Copies share the keys; verify() may
/// run on several threads at once.
class jwt_verifier {
public:
  /// A verifier for `settings`, or sec::invalid_argument saying what is
  /// wrong with them (no key, a secret and a public key, a short secret, an
  /// unreadable or unsupported public key, a broken JWKS, a kid twice or
  /// empty, a negative leeway).
  static caf::expected<jwt_verifier> make(jwt_settings settings);

  /// Its keys: key id ("" for the key without one) and the one algorithm
  /// ("HS256", "RS256" or "ES256") each verifies, sorted by key id.
  std::vector<jwt_key_info> keys() const;

  /// jwt_settings::leeway.
  caf::timespan leeway() const noexcept;

  /// The claims of a valid token, or a jwt_errc error: the signature must
  /// verify with the key the token picks (jwt_settings) under that key's
  /// algorithm (`alg: none` and any other algorithm are refused, so a token
  /// signed HS256 with a public key as its secret fails), `iss` and `aud`
  /// must match when configured, `exp` and `nbf` must hold within
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

/// The JWT authenticator: an authenticator_actor that also takes a new
/// jwt_verifier (e.g. keys reloaded on SIGHUP). Tokens it judges after that
/// message, upgrades and refreshes alike, are checked by the new verifier;
/// connections already admitted stay open until their token expires.
using jwt_authenticator_actor = authenticator_actor::extend<caf::reacts_to<jwt_verifier>>;

/// An authenticator that answers every upgrade with jwt_verdict(); spawn it
/// with `sys.spawn(jwt_authenticator, verifier, hook)`, put it into
/// node_config::authenticator, and keep the handle to send it a new
/// verifier when the keys change (`caf::anon_send(handle, new_verifier)`).
jwt_authenticator_actor::behavior_type jwt_authenticator(jwt_authenticator_actor::pointer self,
                                                         jwt_verifier verifier,
                                                         jwt_refusal_hook on_refusal);

} // namespace switchboard

// Local messages only (a verifier holds OpenSSL keys): never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::jwt_verifier)
