#pragma once

// The verification keys of a jwt_verifier (jwt.hpp): made from a secret, a
// PEM public key or a JWK (RFC 7517, RFC 7518 section 6), each bound to the
// one algorithm its type allows, so that no token can pick another (an RSA
// key never verifies HS256). Internal to net/.

#include <caf/all.hpp>

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::net {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept {
    EVP_PKEY_free(k);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

/// One key a token may be verified with.
struct verification_key {
  /// The `kid` that picks it; empty: the key of jwt_settings::secret or
  /// public_key_pem, which has none.
  std::string kid;
  /// "HS256", "RS256" or "ES256": the only `alg` it verifies.
  std::string algorithm;
  std::string secret; ///< HS256
  pkey_ptr key;       ///< RS256, ES256
};

/// base64url without padding (RFC 7515 section 2); none when `in` is not.
std::optional<std::string> base64url_decode(std::string_view in);

/// An HS256 key: `secret` of at least 32 bytes (RFC 7518 section 3.2).
/// `what` names the key in errors ("jwt-secret", "key 'k1'").
caf::expected<verification_key> key_from_secret(std::string secret, std::string kid,
                                                const std::string& what);

/// An RS256 (RSA, at least 2048 bits) or ES256 (EC P-256) key from a PEM
/// public key (`-----BEGIN PUBLIC KEY-----`).
caf::expected<verification_key> key_from_pem(const std::string& pem, std::string kid,
                                             const std::string& what);

/// Every signing key of a JWK Set (RFC 7517 section 5): `kty` RSA (`n`,
/// `e`), EC (`crv` P-256, `x`, `y`) or oct (`k`), each with a distinct
/// `kid`; keys with `use` other than `sig` are skipped. A key with an `alg`
/// other than its type's, a private key (`d`), an unsupported type or curve,
/// or a set without any signing key is an error that says which key.
caf::expected<std::vector<verification_key>> keys_from_jwks(std::string_view json);

} // namespace switchboard::net
