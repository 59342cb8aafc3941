#include "switchboard/jwt.hpp"

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
  }
  return "invalid token";
}

// -- keys -------------------------------------------------------------------------------

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept {
    EVP_PKEY_free(k);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept {
    EVP_MD_CTX_free(c);
  }
};

constexpr std::size_t min_secret_size = 32; // RFC 7518 3.2: at least the hash's size
constexpr int min_rsa_bits = 2048;          // RFC 7518 3.3
constexpr std::size_t max_subject_size = 256;

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

// The public key in `pem` and the algorithm it implies.
caf::expected<std::pair<pkey_ptr, std::string>> load_public_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio)
    return invalid("jwt-public-key: out of memory");
  pkey_ptr key{PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();
  if (!key)
    return invalid("jwt-public-key: no PEM public key (-----BEGIN PUBLIC KEY-----) found");
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) < min_rsa_bits)
      return invalid("jwt-public-key: an RSA key needs at least 2048 bits");
    return std::make_pair(std::move(key), std::string{"RS256"});
  }
  if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &len) != 1
        || std::strcmp(group, "prime256v1") != 0) {
      ERR_clear_error();
      return invalid("jwt-public-key: an EC key must be on P-256 (ES256)");
    }
    return std::make_pair(std::move(key), std::string{"ES256"});
  }
  return invalid("jwt-public-key: only RSA (RS256) and EC P-256 (ES256) keys are supported");
}

// -- decoding -----------------------------------------------------------------------

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
         || c == '-' || c == '_';
}

// base64url without padding (RFC 7515 section 2). The alphabet and the
// length are checked here; the decoding is OpenSSL's (standard base64, so
// the two characters that differ are swapped and the padding restored).
std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1 || !std::all_of(in.begin(), in.end(), base64url_char))
    return std::nullopt;
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
  std::string algorithm;
  std::string secret; // HS256
  pkey_ptr key;       // RS256, ES256
  double leeway = 30;
  caf::timespan leeway_span{0};
  bool allow_no_exp = false;
  std::size_t max_token_size = 0;
  std::function<jwt_settings::clock_type::time_point()> clock;

  bool signature_ok(std::string_view signed_part, const std::string& sig) const;
  bool digest_verify(std::string_view data, const unsigned char* sig,
                     std::size_t sig_len) const;
  caf::expected<jwt_claims> claims(const json::object& payload) const;
};

bool jwt_verifier::impl::digest_verify(std::string_view data, const unsigned char* sig,
                                       std::size_t sig_len) const {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
  auto ok = ctx
            && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1
            && EVP_DigestVerify(ctx.get(), sig, sig_len,
                                reinterpret_cast<const unsigned char*>(data.data()),
                                data.size())
                 == 1;
  ERR_clear_error();
  return ok;
}

bool jwt_verifier::impl::signature_ok(std::string_view signed_part,
                                      const std::string& sig) const {
  auto sig_bytes = reinterpret_cast<const unsigned char*>(sig.data());
  if (algorithm == "HS256") {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
             mac, &mac_len)
        == nullptr)
      return false;
    return sig.size() == mac_len && CRYPTO_memcmp(mac, sig_bytes, mac_len) == 0;
  }
  if (algorithm == "RS256")
    return digest_verify(signed_part, sig_bytes, sig.size());
  // ES256 (RFC 7518 3.4): R and S as 32 bytes each; OpenSSL wants DER.
  if (sig.size() != 64)
    return false;
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
  auto ok = digest_verify(signed_part, der, static_cast<std::size_t>(der_len));
  OPENSSL_free(der);
  return ok;
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

jwt_verifier::jwt_verifier(std::shared_ptr<const impl> p) : impl_(std::move(p)) {
}

caf::expected<jwt_verifier> jwt_verifier::make(jwt_settings settings) {
  auto p = std::make_shared<impl>();
  auto has_secret = !settings.secret.empty();
  auto has_key = !settings.public_key_pem.empty();
  if (has_secret == has_key)
    return invalid("jwt: give exactly one of a secret (HS256) and a public key "
                   "(RS256/ES256)");
  if (settings.leeway < caf::timespan{0})
    return invalid("jwt-leeway must not be negative");
  if (has_secret) {
    if (settings.secret.size() < min_secret_size)
      return invalid("jwt-secret must be at least 32 bytes (RFC 7518 section 3.2)");
    p->algorithm = "HS256";
    p->secret = std::move(settings.secret);
  } else {
    auto key = load_public_key(settings.public_key_pem);
    if (!key)
      return key.error();
    p->key = std::move(key->first);
    p->algorithm = std::move(key->second);
  }
  p->leeway = std::chrono::duration<double>(settings.leeway).count();
  p->leeway_span = settings.leeway;
  p->allow_no_exp = settings.allow_no_exp;
  p->max_token_size = settings.max_token_size;
  p->clock = std::move(settings.clock);
  return jwt_verifier{std::move(p)};
}

const std::string& jwt_verifier::algorithm() const noexcept {
  return impl_->algorithm;
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
  // The algorithm is the key's, never the token's choice: `none`, or HS256
  // with a public key as its secret, end here.
  auto alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    return make_error(jwt_errc::malformed_token);
  if (view(alg->get_string()) != p.algorithm)
    return make_error(jwt_errc::wrong_algorithm);
  if (header->contains("crit"))
    return make_error(jwt_errc::bad_claim);
  if (!p.signature_ok(token.substr(0, dot2), *sig))
    return make_error(jwt_errc::bad_signature);
  auto payload = json_object(*payload_text);
  if (!payload)
    return make_error(jwt_errc::malformed_token);
  return p.claims(*payload);
}

} // namespace switchboard
