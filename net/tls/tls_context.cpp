#include "tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

namespace switchboard::net {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure (the error code Asio hands back
// says little more than "failed").
std::string openssl_reason(const boost::system::error_code& ec) {
  auto code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0)
    return ec.message();
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// The key exchange groups of Mozilla's "intermediate" profile (ECDHE in
// TLS 1.2, key shares in TLS 1.3).
constexpr const char* groups = "X25519:P-256:P-384";

// A TLS 1.2 cipher that a certificate authenticates (RSA or ECDSA) with a
// key exchange the context can do: PSK, SRP and anonymous suites in a list
// cannot serve a client of ours, and TLS 1.3's suites (always in the list)
// have NID_auth_any.
bool servable_tls12_cipher(const SSL_CIPHER* c, int auth_wanted = 0) {
  auto auth = SSL_CIPHER_get_auth_nid(c);
  auto kx = SSL_CIPHER_get_kx_nid(c);
  return (auth == NID_auth_rsa || auth == NID_auth_ecdsa)
         && (auth_wanted == 0 || auth == auth_wanted)
         && (kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_rsa);
}

bool any_cipher(SSL_CTX* native, int auth_wanted = 0) {
  auto* ciphers = SSL_CTX_get_ciphers(native);
  for (int i = 0; ciphers != nullptr && i < sk_SSL_CIPHER_num(ciphers); ++i)
    if (servable_tls12_cipher(sk_SSL_CIPHER_value(ciphers, i), auth_wanted))
      return true;
  return false;
}

// With TLS 1.2 on, a cipher list for the other key type only (ECDSA suites
// and an RSA certificate) would leave every TLS 1.2 client without a cipher:
// refused here rather than found by them.
std::optional<std::string> check_key_type(SSL_CTX* native, const tls_files& files,
                                          const tls_policy& policy) {
  auto* key = SSL_CTX_get0_privatekey(native);
  if (key == nullptr || SSL_CTX_get_min_proto_version(native) > TLS1_2_VERSION)
    return std::nullopt;
  auto id = EVP_PKEY_get_base_id(key);
  bool rsa = id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
  bool ec = id == EVP_PKEY_EC || id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
  if ((!rsa && !ec) || any_cipher(native, rsa ? NID_auth_rsa : NID_auth_ecdsa))
    return std::nullopt;
  return "tls-ciphers '" + policy.ciphers + "' has no TLS 1.2 cipher for the "
         + (rsa ? "RSA" : "ECDSA") + " certificate in " + files.cert;
}

// Sets the versions, ciphers and groups of `policy` on `native`, or says
// why it cannot.
std::optional<std::string> apply_policy(SSL_CTX* native, const tls_policy& policy) {
  int version = policy.min_version == "1.2"   ? TLS1_2_VERSION
                : policy.min_version == "1.3" ? TLS1_3_VERSION
                                              : 0;
  if (version == 0)
    return "tls-min-version must be 1.2 or 1.3 (got '" + policy.min_version + "')";
  SSL_CTX_set_min_proto_version(native, version);
  auto no_cipher = "tls-ciphers '" + policy.ciphers
                   + "' selects no TLS 1.2 cipher for an RSA or ECDSA certificate (see "
                     "`openssl ciphers -v LIST`)";
  if (SSL_CTX_set_cipher_list(native, policy.ciphers.c_str()) != 1) {
    ERR_clear_error();
    return no_cipher;
  }
  if (!any_cipher(native))
    return no_cipher;
  // DHE only if a custom list asks for it: then with the RFC 7919 group
  // that matches the certificate's strength.
  SSL_CTX_set_dh_auto(native, 1);
  if (SSL_CTX_set1_groups_list(native, groups) != 1) {
    ERR_clear_error();
    return std::string{"this OpenSSL lacks the groups "} + groups;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> tls_policy_problem(const tls_policy& policy) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free};
  if (!ctx)
    return "no TLS context: " + openssl_reason({});
  auto problem = apply_policy(ctx.get(), policy);
  ERR_clear_error();
  return problem;
}

std::variant<std::shared_ptr<ssl::context>, std::string>
make_tls_context(const tls_files& files, const tls_policy& policy) {
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = ctx->native_handle();
  // No SSLv2/3, TLS 1.0/1.1, compression or renegotiation; SNI is not
  // looked at (one certificate per node).
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                   | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                   | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  if (auto problem = apply_policy(native, policy))
    return *problem;
  // The server picks from its own order (so that a custom --tls-ciphers
  // with weaker fallbacks puts them last), except that a client preferring
  // ChaCha20 (no AES instructions) gets it.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                | SSL_OP_PRIORITIZE_CHACHA);
  // An idle connection gives its record buffers back (docs/security.md, TLS).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec)
    return "tls-cert " + files.cert + ": " + openssl_reason(ec);
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec)
    return "tls-key " + files.key + ": " + openssl_reason(ec);
  if (SSL_CTX_check_private_key(native) != 1)
    return "tls-key " + files.key + " does not match the certificate in " + files.cert;
  if (auto problem = check_key_type(native, files, policy))
    return *problem;
  if (!files.ca.empty()) {
    ctx->load_verify_file(files.ca, ec);
    if (ec)
      return "tls-ca " + files.ca + ": " + openssl_reason(ec);
    // Tell clients which CAs we accept, and refuse a handshake without a
    // certificate that verifies.
    if (auto* names = SSL_load_client_CA_file(files.ca.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Session resumption with client certificates needs an id context.
    static const unsigned char id[] = "switchboard";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
  }
  ERR_clear_error();
  return ctx;
}

std::optional<std::int64_t> certificate_expiry(ssl::context& ctx) {
  auto* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  std::tm tm{};
  if (cert == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
    return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

} // namespace switchboard::net
