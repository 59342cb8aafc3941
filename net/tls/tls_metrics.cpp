#include "tls/tls_metrics.hpp"

#include "observe/exposition.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/object.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <initializer_list>

namespace switchboard::net {

namespace asio = boost::asio;

namespace {

constexpr const char* failure_names[handshake_failure_count] = {
  "protocol_version", "no_shared_cipher", "certificate", "not_tls", "timeout", "closed", "other",
};

bool one_of(int reason, std::initializer_list<int> reasons) {
  for (auto r : reasons)
    if (r == reason)
      return true;
  return false;
}

// An OpenSSL error of the SSL library (Asio's ssl category carries
// ERR_get_error()'s code): what went wrong, by its reason.
handshake_failure classify_openssl(unsigned long code) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL)
    return handshake_failure::other;
  auto reason = ERR_GET_REASON(code);
  if (one_of(reason, {SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW,
                      SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_WRONG_SSL_VERSION}))
    return handshake_failure::protocol_version;
  if (one_of(reason, {SSL_R_NO_SHARED_CIPHER, SSL_R_NO_SHARED_GROUPS,
                      SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS, SSL_R_NO_SUITABLE_KEY_SHARE,
                      SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM, SSL_R_NO_CIPHERS_AVAILABLE,
                      SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY}))
    return handshake_failure::no_shared_cipher;
  if (one_of(reason,
             {SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_CERTIFICATE_VERIFY_FAILED,
              SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
              SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
              SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_TLSV1_ALERT_UNKNOWN_CA,
              SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED}))
    return handshake_failure::certificate;
  if (one_of(reason, {SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER,
                      SSL_R_UNKNOWN_PROTOCOL, SSL_R_PACKET_LENGTH_TOO_LONG}))
    return handshake_failure::not_tls;
  return handshake_failure::other;
}

} // namespace

const char* to_string(handshake_failure reason) noexcept {
  return failure_names[static_cast<std::size_t>(reason)];
}

handshake_failure classify_handshake_failure(const boost::system::error_code& ec) noexcept {
  if (ec.category() == asio::error::get_ssl_category())
    return classify_openssl(static_cast<unsigned long>(static_cast<unsigned int>(ec.value())));
  if (ec == boost::beast::error::timeout)
    return handshake_failure::timeout;
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof
      || ec == asio::error::connection_reset || ec == asio::error::broken_pipe
      || ec == asio::error::operation_aborted)
    return handshake_failure::closed;
  return handshake_failure::other;
}

void tls_metrics::handshake_done() noexcept {
  handshakes_.fetch_add(1, std::memory_order_relaxed);
}

void tls_metrics::handshake_failed(const boost::system::error_code& ec) noexcept {
  auto i = static_cast<std::size_t>(classify_handshake_failure(ec));
  failures_[i].fetch_add(1, std::memory_order_relaxed);
}

void tls_metrics::loaded(std::int64_t now, std::optional<std::int64_t> expiry) noexcept {
  if (expiry)
    expiry_.store(*expiry, std::memory_order_relaxed);
  last_ok_.store(expiry.has_value(), std::memory_order_relaxed);
  last_time_.store(now, std::memory_order_relaxed);
}

tls_snapshot tls_metrics::read() const noexcept {
  tls_snapshot s;
  s.handshakes = handshakes_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < handshake_failure_count; ++i)
    s.failures[i] = failures_[i].load(std::memory_order_relaxed);
  s.certificate_expiry = expiry_.load(std::memory_order_relaxed);
  s.last_load_ok = last_ok_.load(std::memory_order_relaxed);
  s.last_load_time = last_time_.load(std::memory_order_relaxed);
  return s;
}

void write_tls_metrics(exposition& out, const tls_snapshot& tls) {
  out.family("switchboard_tls_handshakes_total", "counter",
             "TLS handshakes completed on the node's port.");
  out.sample("switchboard_tls_handshakes_total", {}, tls.handshakes);
  out.family("switchboard_tls_handshake_failures_total", "counter",
             "TLS handshakes that failed, by reason (protocol_version, no_shared_cipher, "
             "certificate, not_tls, timeout, closed, other).");
  for (std::size_t i = 0; i < handshake_failure_count; ++i)
    out.sample("switchboard_tls_handshake_failures_total", {{"reason", failure_names[i]}},
               tls.failures[i]);
  out.family("switchboard_tls_certificate_expiry_timestamp_seconds", "gauge",
             "notAfter of the certificate in use (the leaf of --tls-cert), in seconds since "
             "the epoch.");
  out.sample("switchboard_tls_certificate_expiry_timestamp_seconds", {},
             static_cast<double>(tls.certificate_expiry));
  out.family("switchboard_tls_last_reload_successful", "gauge",
             "1 if the last load of the TLS files (at start or on SIGHUP) succeeded, 0 if it "
             "failed and the node kept the certificate it had.");
  out.sample("switchboard_tls_last_reload_successful", {}, std::uint64_t{tls.last_load_ok});
  out.family("switchboard_tls_last_reload_timestamp_seconds", "gauge",
             "When the last load of the TLS files was tried, in seconds since the epoch.");
  out.sample("switchboard_tls_last_reload_timestamp_seconds", {},
             static_cast<double>(tls.last_load_time));
}

boost::json::object tls_stats_json(const tls_snapshot& tls) {
  boost::json::object failures;
  for (std::size_t i = 0; i < handshake_failure_count; ++i)
    failures[failure_names[i]] = tls.failures[i];
  boost::json::object reload;
  reload["successful"] = tls.last_load_ok;
  reload["time"] = tls.last_load_time;
  boost::json::object obj;
  obj["handshakes"] = tls.handshakes;
  obj["handshake_failures"] = std::move(failures);
  obj["certificate_expiry"] = tls.certificate_expiry;
  obj["last_reload"] = std::move(reload);
  return obj;
}

} // namespace switchboard::net
