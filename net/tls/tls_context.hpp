#pragma once

// The server's TLS context, made from PEM files: TLS 1.2 at least, no
// compression, no renegotiation; with a CA bundle, clients must present a
// certificate that verifies against it (mutual TLS).

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <variant>

namespace switchboard::net {

/// The files of a TLS configuration (node_config::tls_cert, tls_key, tls_ca).
struct tls_files {
  std::string cert; ///< certificate chain (PEM), the server's first
  std::string key;  ///< its private key (PEM)
  std::string ca;   ///< client CAs (PEM bundle); empty: no client certificates
};

/// A context for the node's listener, or why there is none (which file,
/// what is wrong with it).
std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string>
make_tls_context(const tls_files& files);

} // namespace switchboard::net
