#pragma once

// Certificates and contexts made in memory for the TLS tests (tls_test.cpp,
// tls_engine_test.cpp) and the TLS fuzz target (tests/fuzz/tls_fuzz.cpp):
// an EC P-256 key and a certificate it signs itself, a server SSL_CTX that
// presents them and a client SSL_CTX that does not verify them. No Catch2
// here (the fuzz target has none): a failure gives a null pointer.

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace tls_support {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

inline pkey_ptr ec_key() {
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free};
}

/// A self-signed certificate for 127.0.0.1 with `serial`; null if signing failed.
inline x509_ptr self_signed(EVP_PKEY* key, long serial) {
  x509_ptr cert{X509_new(), &X509_free};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0)
    cert.reset();
  return cert;
}

/// A server context with a fresh key and its self-signed certificate; null
/// if OpenSSL refused any of it.
inline ctx_ptr server_context() {
  ctx_ptr ctx{SSL_CTX_new(TLS_server_method()), &SSL_CTX_free};
  auto key = ec_key();
  auto cert = key ? self_signed(key.get(), 1) : x509_ptr{nullptr, &X509_free};
  if (!ctx || !cert || SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1
      || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1)
    return {nullptr, &SSL_CTX_free};
  return ctx;
}

/// A client context that speaks at most `max_version` (TLS1_3_VERSION,
/// TLS1_2_VERSION) and accepts any certificate; null if OpenSSL refused.
inline ctx_ptr client_context(int max_version) {
  ctx_ptr ctx{SSL_CTX_new(TLS_client_method()), &SSL_CTX_free};
  if (ctx && SSL_CTX_set_max_proto_version(ctx.get(), max_version) != 1)
    ctx.reset();
  if (ctx)
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

} // namespace tls_support
