#include "tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

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

} // namespace

std::variant<std::shared_ptr<ssl::context>, std::string>
make_tls_context(const tls_files& files) {
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = ctx->native_handle();
  // No SSLv2/3, TLS 1.0/1.1, compression or renegotiation; SNI is not
  // looked at (one certificate per node).
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                   | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                   | ssl::context::no_tlsv1_1 | ssl::context::no_compression
                   | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
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

} // namespace switchboard::net
