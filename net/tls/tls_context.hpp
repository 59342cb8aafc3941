#pragma once

// The server's TLS context, made from PEM files and a policy (docs/security.md,
// TLS): by default TLS 1.2 with ECDHE and AEAD ciphers only, and TLS 1.3; no
// compression, no renegotiation; with a CA bundle, clients must present a
// certificate that verifies against it (mutual TLS).

#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace switchboard::net {

/// The files of a TLS configuration (node_config::tls_cert, tls_key, tls_ca).
struct tls_files {
  std::string cert; ///< certificate chain (PEM), the server's first
  std::string key;  ///< its private key (PEM)
  std::string ca;   ///< client CAs (PEM bundle); empty: no client certificates
};

/// What the context accepts (node_config::tls_min_version, tls_ciphers).
struct tls_policy {
  std::string min_version; ///< "1.2" or "1.3"
  std::string ciphers;     ///< OpenSSL cipher list for TLS 1.2
};

/// Why `policy` cannot be used (a version that is neither 1.2 nor 1.3, a
/// cipher list that selects no TLS 1.2 cipher a certificate can serve), or
/// nothing.
std::optional<std::string> tls_policy_problem(const tls_policy& policy);

/// A context for the node's listener, or why there is none (which file or
/// option, what is wrong with it).
std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string>
make_tls_context(const tls_files& files, const tls_policy& policy);

/// The notAfter of the context's own (leaf) certificate, in seconds since
/// the epoch; nothing without a certificate.
std::optional<std::int64_t> certificate_expiry(boost::asio::ssl::context& ctx);

} // namespace switchboard::net
