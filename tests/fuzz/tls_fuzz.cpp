// libFuzzer target for net::tls_engine as the node's server side of a TLS
// connection, on the node's own context (make_tls_context with the default
// policy, an in-memory self-signed EC certificate), ciphertext staged as the
// HTTP side stages it. Besides crashes, leaks and sanitizer reports, it
// checks what the engine promises its callers (tls_channel, tls_stream):
// - a failed handshake() or read() always comes with an error;
// - read() never reports more bytes than it was given room for;
// - after read() wanted input, has_input() is false when nothing is staged
//   (else the stream would read again and again: the livelock);
// - what read() decrypts is a prefix of what the client wrote.
//
// Input: byte 0 picks the mode.
// - even: byte 1 is the most bytes staged at a time (0: all), the rest is
//   what a client sends from its first byte (the ClientHello and on);
//   handshake() runs after each piece until it fails or wants more.
// - odd: a real handshake with an OpenSSL client (byte 1, bit 0: at most
//   TLS 1.2, else 1.3), then operations [op][n][n bytes] until the input
//   ends, read() running after each: op % 4 is 0 for n raw bytes, 1 for the
//   client writing n bytes, 2 for its key update (TLS 1.3) or
//   renegotiation (TLS 1.2, refused by the node's context), 3 for its
//   close_notify. The engine's output goes back to the client.
//
// Seeds: ClientHellos captured from OpenSSL clients (TLS 1.3, TLS 1.2),
// plain HTTP, and records after the handshake (a header with garbage, an
// alert, half a header, writes, a key update, a close_notify).
//
// Run: tools/ci/fuzz.sh, or by hand on a copy of the seed corpus:
//   build-fuzz/tests/fuzz/tls_fuzz <dir>

#include "switchboard/node.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_engine.hpp"

#include "../net/tls_support.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <variant>

using switchboard::net::tls_engine;
using status = tls_engine::status;
using error_code = boost::system::error_code;

namespace {

void require(bool ok, const char* what) {
  if (ok)
    return;
  std::fprintf(stderr, "tls_fuzz: violated: %s\n", what);
  std::abort();
}

/// The node's context (the default policy), from PEM files written once.
std::shared_ptr<boost::asio::ssl::context> make_server() {
  auto key = tls_support::ec_key();
  require(key != nullptr, "an EC key");
  auto cert = tls_support::self_signed(key.get(), 1);
  require(cert != nullptr, "a certificate");
  char dir[] = "/tmp/switchboard-tls-fuzz-XXXXXX";
  require(mkdtemp(dir) != nullptr, "a temporary directory");
  switchboard::net::tls_files files{std::string{dir} + "/cert.pem", std::string{dir} + "/key.pem",
                                    ""};
  auto* fc = std::fopen(files.cert.c_str(), "w");
  auto* fk = std::fopen(files.key.c_str(), "w");
  require(fc != nullptr && fk != nullptr, "PEM files");
  PEM_write_X509(fc, cert.get());
  PEM_write_PrivateKey(fk, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(fc);
  std::fclose(fk);
  switchboard::node_config defaults;
  auto made = switchboard::net::make_tls_context(
    files, {defaults.tls_min_version, defaults.tls_ciphers});
  std::remove(files.cert.c_str());
  std::remove(files.key.c_str());
  rmdir(dir);
  auto* ctx = std::get_if<std::shared_ptr<boost::asio::ssl::context>>(&made);
  require(ctx != nullptr, "the node's TLS context");
  return *ctx;
}

struct contexts {
  std::shared_ptr<boost::asio::ssl::context> server = make_server();
  tls_support::ctx_ptr client13 = tls_support::client_context(TLS1_3_VERSION);
  tls_support::ctx_ptr client12 = tls_support::client_context(TLS1_2_VERSION);
};

contexts& ctxs() {
  static contexts c; // made once, alive (and reachable) until exit
  return c;
}

/// `bytes` into the engine's staged input.
void stage(tls_engine& e, const std::uint8_t* bytes, std::size_t size) {
  while (size > 0) {
    std::size_t room = 0;
    auto* space = e.input_space(room);
    require(room > 0, "input_space has room");
    auto n = std::min(room, size);
    std::memcpy(space, bytes, n);
    e.commit_input(n);
    bytes += n;
    size -= n;
  }
}

// -- mode 0: the handshake from the client's first byte ----------------------------

void handshake_only(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return;
  std::size_t chunk = data[0] == 0 ? size : data[0];
  data += 1;
  size -= 1;
  tls_engine e{ctxs().server->native_handle()};
  require(e.valid(), "an engine");
  while (size > 0) {
    std::size_t room = 0;
    auto* space = e.input_space(room);
    // tls_channel reads into this room whenever the engine wants input.
    require(room > 0, "a staged buffer with room when the engine wants input");
    auto n = std::min({chunk, size, room});
    std::memcpy(space, data, n);
    e.commit_input(n);
    data += n;
    size -= n;
    error_code ec;
    auto s = e.handshake(ec);
    e.consume_output(e.output_size());
    require(s != status::failed || ec, "a failed handshake has an error");
    if (s != status::want_read)
      return;
  }
}

// -- mode 1: records after a real handshake ----------------------------------------

struct session {
  explicit session(bool tls12)
    : client(SSL_new(tls12 ? ctxs().client12.get() : ctxs().client13.get())) {
    require(engine.valid() && client != nullptr, "an engine and a client");
    from_server = BIO_new(BIO_s_mem());
    to_server = BIO_new(BIO_s_mem());
    SSL_set_bio(client, from_server, to_server);
    SSL_set_connect_state(client);
  }
  ~session() {
    SSL_free(client);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// The client's ciphertext into the engine, the engine's to the client.
  void exchange() {
    char chunk[4096];
    for (int n; (n = BIO_read(to_server, chunk, sizeof chunk)) > 0;)
      stage(engine, reinterpret_cast<const std::uint8_t*>(chunk), static_cast<std::size_t>(n));
    if (engine.output_size() > 0)
      BIO_write(from_server, engine.output_data(), static_cast<int>(engine.output_size()));
    engine.consume_output(engine.output_size());
  }

  bool handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int i = 0; i < 10 && !(client_done && server_done); ++i) {
      client_done = client_done || SSL_do_handshake(client) == 1;
      exchange();
      error_code ec;
      auto s = server_done ? status::done : engine.handshake(ec);
      if (s == status::failed)
        return false;
      server_done = s == status::done;
      exchange();
    }
    return client_done && server_done;
  }

  /// read() until it fails or wants input; false once it failed.
  bool read() {
    char buf[4096];
    for (int i = 0; i < 64; ++i) {
      std::size_t got = 0;
      error_code ec;
      auto s = engine.read(buf, sizeof buf, got, ec);
      require(got <= sizeof buf, "read stays in its buffer");
      if (s == status::failed) {
        require(static_cast<bool>(ec), "a failed read has an error");
        return false;
      }
      if (s == status::want_read) {
        require(!engine.has_input(), "no input after want_read with nothing staged");
        break;
      }
      received.append(buf, got);
      require(received.size() <= sent.size()
                && sent.compare(0, received.size(), received) == 0,
              "read gives what the client wrote");
    }
    exchange();
    // The client takes what the engine answered (a key update, an alert).
    char sink[4096];
    for (int i = 0; i < 8 && SSL_read(client, sink, sizeof sink) > 0; ++i) {
    }
    ERR_clear_error();
    return true;
  }

  void client_op(std::uint8_t op, const std::uint8_t* bytes, std::size_t n) {
    switch (op % 4) {
      case 0:
        stage(engine, bytes, n);
        break;
      case 1:
        if (n > 0 && SSL_write(client, bytes, static_cast<int>(n)) == static_cast<int>(n))
          sent.append(reinterpret_cast<const char*>(bytes), n);
        break;
      case 2:
        if (SSL_version(client) == TLS1_3_VERSION)
          SSL_key_update(client, SSL_KEY_UPDATE_REQUESTED);
        else
          SSL_renegotiate(client);
        SSL_do_handshake(client);
        break;
      case 3:
        SSL_shutdown(client);
        break;
    }
    ERR_clear_error();
    exchange();
  }

  tls_engine engine{ctxs().server->native_handle()};
  SSL* client;
  BIO* from_server = nullptr; ///< owned by `client`
  BIO* to_server = nullptr;   ///< owned by `client`
  std::string sent;
  std::string received;
};

void after_handshake(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return;
  session s{(data[0] & 1) != 0};
  require(s.handshake(), "the handshake with OpenSSL's client");
  std::size_t at = 1;
  while (at + 2 <= size) {
    auto op = data[at];
    auto n = std::min<std::size_t>(data[at + 1], size - at - 2);
    s.client_op(op, data + at + 2, n);
    at += 2 + n;
    if (!s.read())
      break;
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ctxs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  if (data[0] % 2 == 0)
    handshake_only(data + 1, size - 1);
  else
    after_handshake(data + 1, size - 1);
  ERR_clear_error();
  return 0;
}
