// Handshake helpers (SHA-1 + base64 for Sec-WebSocket-Accept), URL parsing, end reasons.
#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "ws.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace bench {

namespace {

// Small SHA-1 (only for Sec-WebSocket-Accept).
void sha1(const unsigned char* msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  auto rol = [](uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  std::string m(reinterpret_cast<const char*>(msg), len);
  m += static_cast<char>(0x80);
  while (m.size() % 64 != 56) m += '\0';
  uint64_t bits = static_cast<uint64_t>(len) * 8;
  for (int i = 7; i >= 0; --i) m += static_cast<char>((bits >> (i * 8)) & 0xff);
  for (size_t blk = 0; blk < m.size(); blk += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(m.data() + blk + static_cast<size_t>(i) * 4);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999u;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1u;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDCu;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6u;
      }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[i * 4 + j] = static_cast<unsigned char>(h[i] >> (24 - j * 8));
}

std::string base64(const unsigned char* p, size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (i + 1 < n) v |= uint32_t{p[i + 1]} << 8;
    if (i + 2 < n) v |= uint32_t{p[i + 2]};
    o += tbl[(v >> 18) & 63];
    o += tbl[(v >> 12) & 63];
    o += i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    o += i + 2 < n ? tbl[v & 63] : '=';
  }
  return o;
}

}  // namespace

std::string ws_base64(const unsigned char* p, size_t n) { return base64(p, n); }

std::string ws_accept(const std::string& key) {
  std::string ka = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char dig[20];
  sha1(reinterpret_cast<const unsigned char*>(ka.data()), ka.size(), dig);
  return base64(dig, 20);
}

const char* end_name(End e) {
  switch (e) {
    case End::CleanByUs: return "clean";
    case End::Reset: return "reset";
    case End::Aborted: return "aborted";
    case End::ServerClose: return "server_close";
    case End::ServerEof: return "server_eof";
    case End::ConnectFailed: return "connect_failed";
    case End::HandshakeFailed: return "handshake_failed";
    case End::ProtocolError: return "protocol_error";
  }
  return "?";
}

bool parse_ws_url(const std::string& url, Endpoint& ep, std::string& err) {
  ep.tls = url.rfind("wss://", 0) == 0;
  if (!ep.tls && url.rfind("ws://", 0) != 0) {
    err = "url must start with ws:// or wss://";
    return false;
  }
  std::string rest = url.substr(ep.tls ? 6 : 5);
  auto slash = rest.find('/');
  ep.hostport = slash == std::string::npos ? rest : rest.substr(0, slash);
  ep.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = ep.hostport.rfind(':');
  ep.host = colon == std::string::npos ? ep.hostport : ep.hostport.substr(0, colon);
  int port = colon == std::string::npos ? (ep.tls ? 443 : 80) : std::atoi(ep.hostport.c_str() + colon + 1);
  std::string ip = ep.host == "localhost" ? "127.0.0.1" : ep.host;
  ep.addr = sockaddr_in{};
  ep.addr.sin_family = AF_INET;
  ep.addr.sin_port = htons(static_cast<uint16_t>(port));
  if (port <= 0 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &ep.addr.sin_addr) != 1) {
    err = "bad host/port in url (need ws://127.x.x.x:PORT/path)";
    return false;
  }
  if ((ntohl(ep.addr.sin_addr.s_addr) >> 24) != 127) {
    err = "refusing non-loopback target: the bench only talks to 127.0.0.0/8";
    return false;
  }
  return true;
}

bool make_tls_client(Endpoint& ep, const std::string& ca_file, bool insecure, std::string& err) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    err = "SSL_CTX_new failed";
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Writes go out of a std::string that grows between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    if (ca_file.empty() || SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      err = ca_file.empty() ? "wss:// needs --tls-ca=FILE (or --tls-insecure)"
                            : "cannot load --tls-ca=" + ca_file;
      SSL_CTX_free(ctx);
      return false;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // The certificate must name the host of the URL (an IP address or a name).
    auto* param = SSL_CTX_get0_param(ctx);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str()) != 1)
      X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
  }
  ep.tls_ctx = ctx;
  return true;
}

}  // namespace bench
