#pragma once

// Keys, tokens and verifiers for the JWT tests (jwt_test.cpp,
// jwt_keys_test.cpp): keys are made at test time with OpenSSL, tokens are
// signed here, and the verifiers' clock is fixed.

#include "switchboard/jwt.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace jwt_support {

using namespace switchboard;
using namespace std::chrono_literals;

// -- making tokens ------------------------------------------------------------------

constexpr std::int64_t now_s = 1'700'000'000;
inline const std::string secret = "0123456789abcdef0123456789abcdef"; // 32 bytes

inline std::string b64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
  }
};
using pkey_ptr = std::shared_ptr<EVP_PKEY>;

inline pkey_ptr rsa_key(std::size_t bits = 2048) {
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits), pkey_free{}};
}

inline pkey_ptr ec_key(const char* curve = "P-256") {
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), pkey_free{}};
}

// Generated once: an RSA key takes a moment.
inline const pkey_ptr& rsa() {
  static auto key = rsa_key();
  return key;
}
inline const pkey_ptr& ec() {
  static auto key = ec_key();
  return key;
}

inline std::string public_pem(const pkey_ptr& key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline std::string private_pem(const pkey_ptr& key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                   nullptr)
          == 1);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline std::string hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

inline std::string digest_sign(const pkey_ptr& key, const std::string& data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              &EVP_MD_CTX_free};
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  std::size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) == 1);
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                         data.size())
          == 1);
  sig.resize(len);
  return sig;
}

// ECDSA's DER signature as JOSE wants it: R and S, 32 bytes each.
inline std::string es256_sign(const pkey_ptr& key, const std::string& data) {
  auto der = digest_sign(key, data);
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{
    d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free};
  REQUIRE(sig);
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32,
               32);
  return raw;
}

inline std::string header(const std::string& alg) {
  return R"({"alg":")" + alg + R"(","typ":"JWT"})";
}

/// A header that names its key.
inline std::string header(const std::string& alg, const std::string& kid) {
  return R"({"alg":")" + alg + R"(","typ":"JWT","kid":")" + kid + R"("})";
}

inline std::string signed_part(const std::string& head, const std::string& payload) {
  return b64url(head) + "." + b64url(payload);
}

inline std::string hs256(const std::string& payload, const std::string& key = secret,
                  const std::string& head = header("HS256")) {
  auto part = signed_part(head, payload);
  return part + "." + b64url(hmac(key, part));
}

inline std::string rs256(const std::string& payload, const pkey_ptr& key = rsa(),
                         const std::string& head = header("RS256")) {
  auto part = signed_part(head, payload);
  return part + "." + b64url(digest_sign(key, part));
}

inline std::string es256(const std::string& payload, const pkey_ptr& key = ec(),
                         const std::string& head = header("ES256")) {
  auto part = signed_part(head, payload);
  return part + "." + b64url(es256_sign(key, part));
}

// -- verifiers ------------------------------------------------------------------------

inline jwt_settings with_clock(jwt_settings s) {
  s.clock = [] {
    return jwt_settings::clock_type::time_point{std::chrono::seconds{now_s}};
  };
  return s;
}

inline jwt_verifier verifier(jwt_settings s) {
  auto v = jwt_verifier::make(with_clock(std::move(s)));
  REQUIRE(v);
  return std::move(*v);
}

inline jwt_verifier hs_verifier(caf::timespan leeway = 30s) {
  jwt_settings s;
  s.secret = secret;
  s.leeway = leeway;
  return verifier(std::move(s));
}

inline jwt_verifier pem_verifier(const pkey_ptr& key) {
  jwt_settings s;
  s.public_key_pem = public_pem(key);
  return verifier(std::move(s));
}

inline std::string at(std::int64_t offset) {
  return std::to_string(now_s + offset);
}

// alice's claims plus `extra`, expiring in an hour unless `extra` says when.
inline std::string claims(const std::string& extra = "") {
  auto exp = extra.find("\"exp\"") == std::string::npos ? ",\"exp\":" + at(3600) : "";
  return R"({"sub":"alice")" + exp + extra + "}";
}

inline caf::timestamp unix_time(std::int64_t offset) {
  return caf::timestamp{std::chrono::seconds{now_s + offset}};
}

/// The error a refused token got.
inline caf::error refusal(const jwt_verifier& v, const std::string& token) {
  auto r = v.verify(token);
  REQUIRE_FALSE(r);
  return r.error();
}

} // namespace jwt_support
