#include "node/cluster_tls.hpp"

#include "switchboard/node_options.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <utility>

namespace switchboard {

void prepare_cluster_tls(caf::actor_system_config& cfg, const node_config& nc) {
  if (!net::cluster_tls(nc))
    return;
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", nc.cluster_tls_cert);
  cfg.set("openssl.key", nc.cluster_tls_key);
  cfg.set("openssl.cafile", nc.cluster_tls_ca);
}

namespace net {

namespace {

caf::error tls_error(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

// OpenSSL's reason for the last failure, its error queue emptied.
std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown reason";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// CAF sets a passphrase callback only when openssl.passphrase is set;
// without one OpenSSL would ask on the terminal. Here a missing passphrase
// makes the load fail instead.
int passphrase_of(char* buf, int size, int, void* user) {
  auto& passphrase = *static_cast<const std::string*>(user);
  if (passphrase.empty() || size <= 0)
    return -1;
  auto n = std::min(passphrase.size(), static_cast<std::size_t>(size - 1));
  std::memcpy(buf, passphrase.data(), n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

} // namespace

// What caf::openssl::session::create_ssl_context does with the files, for
// every connection (libcaf_openssl 0.17.6, src/openssl/session.cpp).
caf::error load_cluster_tls_files(const std::string& cert, const std::string& key,
                                  const std::string& ca, std::string passphrase) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()),
                                                        SSL_CTX_free};
  if (!ctx)
    return tls_error("cluster TLS: no OpenSSL context: " + openssl_reason());
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_of);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    return tls_error("cluster-tls-cert: no PEM certificate chain in " + cert + ": "
                     + openssl_reason());
  // (OpenSSL checks here that the key is the certificate's.)
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return tls_error("cluster-tls-key: cannot use " + key + " as the PEM private key of "
                     + cert + " (an encrypted key needs openssl.passphrase): "
                     + openssl_reason());
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    return tls_error("cluster-tls-ca: no PEM CA certificate in " + ca + ": " + openssl_reason());
  return caf::none;
}

bool cluster_tls(const node_config& cfg) {
  // One or two of them are a problem (node_config::problems()), not TLS.
  return !cfg.cluster_tls_cert.empty() && !cfg.cluster_tls_key.empty()
         && !cfg.cluster_tls_ca.empty();
}

caf::error check_cluster_tls(caf::actor_system& sys, const node_config& cfg) {
  if (!sys.has_openssl_manager())
    return tls_error("cluster TLS needs CAF's OpenSSL module, loaded before the actor system "
                     "starts: switchboard::prepare_cluster_tls(cfg, node_config)");
  auto& sc = sys.config();
  if (sc.openssl_certificate != cfg.cluster_tls_cert || sc.openssl_key != cfg.cluster_tls_key
      || sc.openssl_cafile != cfg.cluster_tls_ca || !sc.openssl_capath.empty())
    return tls_error("cluster TLS: CAF's openssl.certificate, openssl.key and openssl.cafile "
                     "must name cluster-tls-cert, -key and -ca, and openssl.capath must be "
                     "empty (another CA would be trusted too): "
                     "switchboard::prepare_cluster_tls(cfg, node_config) sets them");
  return load_cluster_tls_files(sc.openssl_certificate, sc.openssl_key, sc.openssl_cafile,
                                sc.openssl_passphrase);
}

caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, const caf::actor& cluster,
                                           bool tls, std::shared_ptr<spdlog::logger> log) {
  if (!tls)
    return sys.middleman().actor_handle();
  auto mm = spawn_cluster_tls_middleman(sys, std::move(log));
  // It is detached: left alive it would keep the actor system from ending.
  caf::actor_cast<caf::abstract_actor*>(cluster)->attach_functor(
    [mm] { caf::anon_send_exit(mm, caf::exit_reason::kill); });
  return mm;
}

caf::expected<std::uint16_t> publish_cluster(caf::actor_system& sys,
                                             const caf::io::middleman_actor& mm,
                                             const caf::actor& cluster, std::uint16_t port,
                                             const std::string& host) {
  // What caf::io::middleman::publish and caf::openssl::publish send.
  caf::expected<std::uint16_t> result{caf::sec::request_timeout};
  caf::scoped_actor self{sys};
  self
    ->request(mm, std::chrono::seconds(10), caf::publish_atom::value, port,
              caf::actor_cast<caf::strong_actor_ptr>(cluster), sys.message_types(cluster),
              host, true)
    .receive([&](std::uint16_t bound) { result = bound; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace net

} // namespace switchboard
