#include "auth/jwt_keys.hpp"

#include <boost/json.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

namespace switchboard::net {

namespace json = boost::json;

namespace {

constexpr std::size_t min_secret_size = 32; // RFC 7518 3.2: at least the hash's size
constexpr int min_rsa_bits = 2048;          // RFC 7518 3.3
constexpr std::size_t p256_coordinate_size = 32;

std::string_view view(const json::string& s) {
  return {s.data(), s.size()};
}

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
         || c == '-' || c == '_';
}

// The algorithm a key of this type verifies, or an error for `what`.
caf::expected<std::string> algorithm_of(const pkey_ptr& key, const std::string& what) {
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) < min_rsa_bits)
      return invalid(what + ": an RSA key needs at least 2048 bits");
    return std::string{"RS256"};
  }
  if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &len) != 1
        || std::strcmp(group, "prime256v1") != 0) {
      ERR_clear_error();
      return invalid(what + ": an EC key must be on P-256 (ES256)");
    }
    return std::string{"ES256"};
  }
  return invalid(what + ": only RSA (RS256) and EC P-256 (ES256) keys are supported");
}

// -- JWK members -----------------------------------------------------------------------

struct param_bld_free {
  void operator()(OSSL_PARAM_BLD* b) const noexcept {
    OSSL_PARAM_BLD_free(b);
  }
};
struct param_free {
  void operator()(OSSL_PARAM* p) const noexcept {
    OSSL_PARAM_free(p);
  }
};
struct bn_free {
  void operator()(BIGNUM* b) const noexcept {
    BN_free(b);
  }
};
struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* c) const noexcept {
    EVP_PKEY_CTX_free(c);
  }
};

// A base64url string member of a JWK, decoded and not empty.
caf::expected<std::string> member(const json::object& jwk, const char* name,
                                  const std::string& what) {
  auto v = jwk.if_contains(name);
  if (v == nullptr || !v->is_string())
    return invalid(what + ": no \"" + name + "\"");
  auto text = v->get_string();
  auto bytes = base64url_decode({text.data(), text.size()});
  if (!bytes || bytes->empty())
    return invalid(what + ": \"" + name + "\" is not base64url");
  return std::move(*bytes);
}

// A public key from OpenSSL parameters; checked (an EC point on the curve).
caf::expected<pkey_ptr> from_params(const char* type, OSSL_PARAM_BLD* bld,
                                    const std::string& what) {
  std::unique_ptr<OSSL_PARAM, param_free> params{OSSL_PARAM_BLD_to_param(bld)};
  std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx{
    EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  EVP_PKEY* raw = nullptr;
  auto made = params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1
              && EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) == 1;
  pkey_ptr key{raw};
  if (made) {
    std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> check{
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr)};
    made = check && EVP_PKEY_public_check(check.get()) == 1;
  }
  ERR_clear_error();
  if (!made)
    return invalid(what + ": not a valid " + type + " public key");
  return key;
}

caf::expected<pkey_ptr> rsa_from_jwk(const json::object& jwk, const std::string& what) {
  auto n = member(jwk, "n", what);
  auto e = n ? member(jwk, "e", what) : caf::expected<std::string>{n.error()};
  if (!e)
    return e.error();
  auto to_bn = [](const std::string& s) {
    return std::unique_ptr<BIGNUM, bn_free>{BN_bin2bn(
      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()), nullptr)};
  };
  auto bn_n = to_bn(*n);
  auto bn_e = to_bn(*e);
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_free> bld{OSSL_PARAM_BLD_new()};
  if (!bn_n || !bn_e || !bld
      || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1
      || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return invalid(what + ": out of memory");
  return from_params("RSA", bld.get(), what);
}

caf::expected<pkey_ptr> ec_from_jwk(const json::object& jwk, const std::string& what) {
  auto crv = jwk.if_contains("crv");
  if (crv == nullptr || !crv->is_string() || crv->get_string() != "P-256")
    return invalid(what + ": an EC key must be on P-256 (\"crv\": \"P-256\", ES256)");
  auto x = member(jwk, "x", what);
  auto y = x ? member(jwk, "y", what) : caf::expected<std::string>{x.error()};
  if (!y)
    return y.error();
  if (x->size() != p256_coordinate_size || y->size() != p256_coordinate_size)
    return invalid(what + ": \"x\" and \"y\" must be 32 bytes each (P-256)");
  // SEC 1 2.3.3: an uncompressed point.
  auto point = "\x04" + *x + *y;
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_free> bld{OSSL_PARAM_BLD_new()};
  if (!bld
      || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0)
           != 1
      || OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size())
           != 1)
    return invalid(what + ": out of memory");
  return from_params("EC", bld.get(), what);
}

// The key of a JWK by its `kty`.
caf::expected<verification_key> typed_key(const json::object& jwk, std::string_view kty,
                                          std::string kid, const std::string& what) {
  if (kty == "oct") {
    auto k = member(jwk, "k", what);
    if (!k)
      return k.error();
    return key_from_secret(std::move(*k), std::move(kid), what);
  }
  if (kty != "RSA" && kty != "EC")
    return invalid(what + ": \"kty\" must be RSA, EC or oct");
  // A private key has no business in a verifier's configuration.
  if (jwk.contains("d"))
    return invalid(what + ": a private key (\"d\"): give only the public key");
  auto pkey = kty == "RSA" ? rsa_from_jwk(jwk, what) : ec_from_jwk(jwk, what);
  if (!pkey)
    return pkey.error();
  auto alg = algorithm_of(*pkey, what);
  if (!alg)
    return alg.error();
  return verification_key{std::move(kid), std::move(*alg), {}, std::move(*pkey)};
}

// One JWK, or none when it is not for signatures.
caf::expected<std::optional<verification_key>> key_from_jwk(const json::value& v,
                                                             std::size_t index) {
  auto what = "jwks: key " + std::to_string(index);
  if (!v.is_object())
    return invalid(what + ": not a JSON object");
  auto& jwk = v.get_object();
  if (auto use = jwk.if_contains("use"); use && (!use->is_string() || use->get_string() != "sig"))
    return std::optional<verification_key>{};
  auto kid = jwk.if_contains("kid");
  if (kid == nullptr || !kid->is_string() || kid->get_string().empty())
    return invalid(what + ": no \"kid\" (every key needs one)");
  what = "jwks: key '" + std::string{kid->get_string()} + "'";
  auto kty = jwk.if_contains("kty");
  if (kty == nullptr || !kty->is_string())
    return invalid(what + ": no \"kty\"");
  auto key = typed_key(jwk, view(kty->get_string()), std::string{kid->get_string()}, what);
  if (!key)
    return key.error();
  // RFC 7517 4.4: `alg`, when given, is the one algorithm the key is for.
  auto alg = jwk.if_contains("alg");
  if (alg && (!alg->is_string() || alg->get_string() != key->algorithm))
    return invalid(what + ": \"alg\" must be " + key->algorithm + " for this key");
  return std::optional<verification_key>{std::move(*key)};
}

} // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1 || !std::all_of(in.begin(), in.end(), base64url_char))
    return std::nullopt;
  // The decoding is OpenSSL's (standard base64): the two characters that
  // differ are swapped and the padding restored.
  std::string b64{in};
  for (auto& c : b64)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  auto pad = (4 - b64.size() % 4) % 4;
  b64.append(pad, '=');
  std::string out(b64.size() / 4 * 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(b64.data()),
                           static_cast<int>(b64.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

caf::expected<verification_key> key_from_secret(std::string secret, std::string kid,
                                                const std::string& what) {
  if (secret.size() < min_secret_size)
    return invalid(what + " must be at least 32 bytes (RFC 7518 section 3.2)");
  return verification_key{std::move(kid), "HS256", std::move(secret), nullptr};
}

caf::expected<verification_key> key_from_pem(const std::string& pem, std::string kid,
                                             const std::string& what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio)
    return invalid(what + ": out of memory");
  pkey_ptr key{PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();
  if (!key)
    return invalid(what + ": no PEM public key (-----BEGIN PUBLIC KEY-----) found");
  auto alg = algorithm_of(key, what);
  if (!alg)
    return alg.error();
  return verification_key{std::move(kid), std::move(*alg), {}, std::move(key)};
}

caf::expected<std::vector<verification_key>> keys_from_jwks(std::string_view text) {
  json::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return invalid("jwks: not a JSON object");
  auto keys = doc.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array())
    return invalid("jwks: no \"keys\" array (RFC 7517 section 5)");
  std::vector<verification_key> result;
  std::set<std::string> kids;
  std::size_t index = 0;
  for (auto& jwk : keys->get_array()) {
    auto key = key_from_jwk(jwk, index++);
    if (!key)
      return key.error();
    if (!*key)
      continue;
    if (!kids.insert((*key)->kid).second)
      return invalid("jwks: kid '" + (*key)->kid + "' appears twice");
    result.push_back(std::move(**key));
  }
  if (result.empty())
    return invalid("jwks: no signing key");
  return result;
}

} // namespace switchboard::net
