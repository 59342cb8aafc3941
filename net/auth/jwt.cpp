#include "switchboard/jwt.hpp"

#include "auth/jwt_keys.hpp"
#include "protocol.hpp"

#include <boost/json.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

namespace switchboard {

namespace json = boost::json;

// -- errors -------------------------------------------------------------------------

caf::error make_error(jwt_errc x) {
  return {static_cast<std::uint8_t>(x), jwt_error_category};
}

const char* to_string(jwt_errc x) {
  switch (x) {
    case jwt_errc::missing_token:
      return "no token";
    case jwt_errc::several_tokens:
      return "more than one token";
    case jwt_errc::token_too_large:
      return "token too large";
    case jwt_errc::malformed_token:
      return "malformed token";
    case jwt_errc::wrong_algorithm:
      return "token algorithm not accepted";
    case jwt_errc::bad_signature:
      return "bad token signature";
    case jwt_errc::expired:
      return "token expired";
    case jwt_errc::not_yet_valid:
      return "token not yet valid";
    case jwt_errc::missing_subject:
      return "token has no subject";
    case jwt_errc::bad_claim:
      return "bad token claim";
    case jwt_errc::missing_expiry:
      return "token has no expiry";
    case jwt_errc::unknown_key:
      return "token key id unknown";
    case jwt_errc::missing_key_id:
      return "token has no key id";
    case jwt_errc::missing_issuer:
      return "token has no issuer";
    case jwt_errc::wrong_issuer:
      return "token issuer not accepted";
    case jwt_errc::missing_audience:
      return "token has no audience";
    case jwt_errc::wrong_audience:
      return "token audience not accepted";
  }
  return "invalid token";
}

// -- decoding -----------------------------------------------------------------------

namespace {

using net::base64url_decode;
using net::verification_key;

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept {
    EVP_MD_CTX_free(c);
  }
};

constexpr std::size_t max_subject_size = 256;

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

std::string_view view(const json::string& s) {
  return {s.data(), s.size()};
}

std::optional<json::object> json_object(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate (RFC 7519 2): seconds since the epoch, possibly fractional.
std::optional<double> numeric_date(const json::value& v) {
  if (v.is_int64())
    return static_cast<double>(v.get_int64());
  if (v.is_uint64())
    return static_cast<double>(v.get_uint64());
  if (v.is_double())
    return v.get_double();
  return std::nullopt;
}

// The latest time a timestamp holds (nanoseconds in 64 bits: the year 2262),
// with some room: a later `exp` means "never" in practice.
constexpr double max_date = 9e9;

caf::timestamp to_timestamp(double seconds) {
  auto clamped = std::min(seconds, max_date);
  // Whole seconds and the fraction apart: nanoseconds since 1970 are more
  // than a double holds exactly.
  auto whole = std::floor(clamped);
  auto ns = std::llround((clamped - whole) * 1e9);
  return caf::timestamp{std::chrono::seconds{static_cast<std::int64_t>(whole)}
                        + std::chrono::nanoseconds{ns}};
}

} // namespace

// -- the verifier -----------------------------------------------------------------------

struct jwt_verifier::impl {
  std::vector<verification_key> keys; // sorted by kid
  bool keyed = false;                  // some key has a kid
  std::string issuer;
  std::string audience;
  double leeway = 30;
  caf::timespan leeway_span{0};
  bool allow_no_exp = false;
  std::size_t max_token_size = 0;
  std::function<jwt_settings::clock_type::time_point()> clock;

  caf::error add(caf::expected<verification_key> key);
  caf::expected<const verification_key*> select(const json::object& header,
                                                std::string_view alg) const;
  static bool signature_ok(const verification_key& key, std::string_view signed_part,
                           const std::string& sig);
  caf::expected<jwt_claims> claims(const json::object& payload) const;
  caf::error check_issuer_and_audience(const json::object& payload) const;
};

namespace {

bool digest_verify(EVP_PKEY* key, std::string_view data, const unsigned char* sig,
                   std::size_t sig_len) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
  auto ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1
            && EVP_DigestVerify(ctx.get(), sig, sig_len,
                                reinterpret_cast<const unsigned char*>(data.data()),
                                data.size())
                 == 1;
  ERR_clear_error();
  return ok;
}

// ES256 (RFC 7518 3.4): R and S as 32 bytes each; OpenSSL wants DER.
bool es256_ok(EVP_PKEY* key, std::string_view signed_part, const std::string& sig) {
  if (sig.size() != 64)
    return false;
  auto sig_bytes = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> ecdsa{ECDSA_SIG_new(), &ECDSA_SIG_free};
  if (!ecdsa)
    return false;
  auto r = BN_bin2bn(sig_bytes, 32, nullptr);
  auto s = BN_bin2bn(sig_bytes + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  auto der_len = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (der_len <= 0)
    return false;
  auto ok = digest_verify(key, signed_part, der, static_cast<std::size_t>(der_len));
  OPENSSL_free(der);
  return ok;
}

} // namespace

bool jwt_verifier::impl::signature_ok(const verification_key& key,
                                      std::string_view signed_part, const std::string& sig) {
  auto sig_bytes = reinterpret_cast<const unsigned char*>(sig.data());
  if (key.algorithm == "HS256") {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
             mac, &mac_len)
        == nullptr)
      return false;
    return sig.size() == mac_len && CRYPTO_memcmp(mac, sig_bytes, mac_len) == 0;
  }
  if (key.algorithm == "RS256")
    return digest_verify(key.key.get(), signed_part, sig_bytes, sig.size());
  return es256_ok(key.key.get(), signed_part, sig);
}

// The algorithm is the key's, never the token's choice: `none`, or HS256
// with a public key as its secret, end here.
caf::expected<const verification_key*>
jwt_verifier::impl::select(const json::object& header, std::string_view alg) const {
  auto kid = header.if_contains("kid");
  if (kid != nullptr && !kid->is_string())
    return make_error(jwt_errc::malformed_token);
  const verification_key* key = nullptr;
  if (kid != nullptr && keyed) {
    auto it = std::lower_bound(keys.begin(), keys.end(), view(kid->get_string()),
                               [](const verification_key& k, std::string_view id) {
                                 return k.kid < id;
                               });
    if (it == keys.end() || it->kid != view(kid->get_string()))
      return make_error(jwt_errc::unknown_key);
    key = &*it;
  } else if (!keys.front().kid.empty() || keys.front().algorithm != alg) {
    // Without a kid, only a key that cannot be mistaken: the key without a
    // kid (sorted first) when it is for `alg`, else the one key for `alg`.
    for (auto& k : keys) {
      if (k.algorithm != alg)
        continue;
      if (key != nullptr)
        return make_error(jwt_errc::missing_key_id);
      key = &k;
    }
    if (key == nullptr)
      return make_error(jwt_errc::wrong_algorithm);
  } else {
    key = &keys.front();
  }
  if (key->algorithm != alg)
    return make_error(jwt_errc::wrong_algorithm);
  return key;
}

caf::error jwt_verifier::impl::check_issuer_and_audience(const json::object& payload) const {
  if (!issuer.empty()) {
    auto iss = payload.if_contains("iss");
    if (iss == nullptr)
      return make_error(jwt_errc::missing_issuer);
    if (!iss->is_string())
      return make_error(jwt_errc::bad_claim);
    if (view(iss->get_string()) != issuer)
      return make_error(jwt_errc::wrong_issuer);
  }
  if (audience.empty())
    return caf::none;
  auto aud = payload.if_contains("aud");
  if (aud == nullptr)
    return make_error(jwt_errc::missing_audience);
  // RFC 7519 4.1.3: one string, or an array of them.
  if (aud->is_string())
    return view(aud->get_string()) == audience ? caf::error{}
                                               : make_error(jwt_errc::wrong_audience);
  if (!aud->is_array())
    return make_error(jwt_errc::bad_claim);
  auto found = false;
  for (auto& a : aud->get_array()) {
    if (!a.is_string())
      return make_error(jwt_errc::bad_claim);
    found = found || view(a.get_string()) == audience;
  }
  return found ? caf::error{} : make_error(jwt_errc::wrong_audience);
}

caf::expected<jwt_claims> jwt_verifier::impl::claims(const json::object& payload) const {
  auto now = std::chrono::duration<double>(
               (clock ? clock() : jwt_settings::clock_type::now()).time_since_epoch())
               .count();
  std::optional<caf::timestamp> expires;
  if (auto exp = payload.if_contains("exp")) {
    auto t = numeric_date(*exp);
    if (!t)
      return make_error(jwt_errc::bad_claim);
    // RFC 7519 4.1.4: valid only before exp.
    if (now >= *t + leeway)
      return make_error(jwt_errc::expired);
    expires = to_timestamp(*t);
  }
  if (auto nbf = payload.if_contains("nbf")) {
    auto t = numeric_date(*nbf);
    if (!t)
      return make_error(jwt_errc::bad_claim);
    if (now + leeway < *t)
      return make_error(jwt_errc::not_yet_valid);
  }
  if (auto err = check_issuer_and_audience(payload))
    return err;
  jwt_claims result;
  auto sub = payload.if_contains("sub");
  if (sub == nullptr || !sub->is_string() || sub->get_string().empty()
      || sub->get_string().size() > max_subject_size)
    return make_error(jwt_errc::missing_subject);
  result.subject = std::string{view(sub->get_string())};
  // A token without an end would keep its connection forever.
  if (!expires && !allow_no_exp)
    return make_error(jwt_errc::missing_expiry);
  if (expires)
    result.expires = *expires;
  if (auto topics = payload.if_contains("topics")) {
    if (!topics->is_array())
      return make_error(jwt_errc::bad_claim);
    std::vector<std::string> patterns;
    for (auto& p : topics->get_array()) {
      if (!p.is_string() || !protocol::valid_topic(view(p.get_string())))
        return make_error(jwt_errc::bad_claim);
      patterns.emplace_back(view(p.get_string()));
    }
    result.topics = std::move(patterns);
  }
  return result;
}

caf::error jwt_verifier::impl::add(caf::expected<verification_key> key) {
  if (!key)
    return std::move(key.error());
  for (auto& k : keys)
    if (k.kid == key->kid)
      return k.kid.empty() ? invalid("jwt: give at most one of a secret (HS256) and a "
                                     "public key (RS256/ES256) without a key id")
                           : invalid("jwt: key id '" + k.kid + "' appears twice");
  keyed = keyed || !key->kid.empty();
  keys.push_back(std::move(*key));
  return caf::none;
}

jwt_verifier::jwt_verifier(std::shared_ptr<const impl> p) : impl_(std::move(p)) {
}

caf::expected<jwt_verifier> jwt_verifier::make(jwt_settings settings) {
  auto p = std::make_shared<impl>();
  if (settings.leeway < caf::timespan{0})
    return invalid("jwt-leeway must not be negative");
  caf::error err;
  if (!settings.secret.empty())
    err = p->add(net::key_from_secret(std::move(settings.secret), {}, "jwt-secret"));
  if (!err && !settings.public_key_pem.empty())
    err = p->add(net::key_from_pem(settings.public_key_pem, {}, "jwt-public-key"));
  for (auto& k : settings.keys) {
    auto what = "jwt key '" + k.kid + "'";
    if (err)
      break;
    if (k.kid.empty())
      err = invalid("jwt: a key in jwt_settings::keys needs a key id");
    else if (k.secret.empty() == k.public_key_pem.empty())
      err = invalid(what + ": give exactly one of a secret and a public key");
    else
      err = p->add(k.secret.empty() ? net::key_from_pem(k.public_key_pem, k.kid, what)
                                    : net::key_from_secret(std::move(k.secret), k.kid, what));
  }
  if (!err && !settings.jwks.empty()) {
    auto jwks = net::keys_from_jwks(settings.jwks);
    if (!jwks)
      return std::move(jwks.error());
    for (auto& k : *jwks)
      if (!err)
        err = p->add(std::move(k));
  }
  if (err)
    return err;
  if (p->keys.empty())
    return invalid("jwt: no key: give a secret (HS256), a public key (RS256/ES256), "
                   "keys with key ids or a JWKS");
  std::sort(p->keys.begin(), p->keys.end(),
            [](const verification_key& a, const verification_key& b) { return a.kid < b.kid; });
  p->issuer = std::move(settings.issuer);
  p->audience = std::move(settings.audience);
  p->leeway = std::chrono::duration<double>(settings.leeway).count();
  p->leeway_span = settings.leeway;
  p->allow_no_exp = settings.allow_no_exp;
  p->max_token_size = settings.max_token_size;
  p->clock = std::move(settings.clock);
  return jwt_verifier{std::move(p)};
}

std::vector<jwt_key_info> jwt_verifier::keys() const {
  std::vector<jwt_key_info> result;
  for (auto& k : impl_->keys)
    result.push_back({k.kid, k.algorithm});
  return result;
}

caf::timespan jwt_verifier::leeway() const noexcept {
  return impl_->leeway_span;
}

caf::expected<jwt_claims> jwt_verifier::verify(std::string_view token) const {
  auto& p = *impl_;
  if (token.empty())
    return make_error(jwt_errc::missing_token);
  if (token.size() > p.max_token_size)
    return make_error(jwt_errc::token_too_large);
  // header.payload.signature (a JWE has five parts: not ours).
  auto dot1 = token.find('.');
  auto dot2 = dot1 == token.npos ? token.npos : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos)
    return make_error(jwt_errc::malformed_token);
  auto header_text = base64url_decode(token.substr(0, dot1));
  auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !sig)
    return make_error(jwt_errc::malformed_token);
  auto header = json_object(*header_text);
  if (!header)
    return make_error(jwt_errc::malformed_token);
  auto alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    return make_error(jwt_errc::malformed_token);
  auto key = p.select(*header, view(alg->get_string()));
  if (!key)
    return std::move(key.error());
  if (header->contains("crit"))
    return make_error(jwt_errc::bad_claim);
  if (!impl::signature_ok(**key, token.substr(0, dot2), *sig))
    return make_error(jwt_errc::bad_signature);
  auto payload = json_object(*payload_text);
  if (!payload)
    return make_error(jwt_errc::malformed_token);
  return p.claims(*payload);
}

} // namespace switchboard
