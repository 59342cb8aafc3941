// tls_engine (net/tls/tls_engine.hpp) as the server against an OpenSSL
// client on memory BIOs, the bytes moved by hand (no Asio): staged input
// for the handshake and the HTTP side, a non-blocking socket (one end of a
// socketpair) after read_from, and how each way of ending is reported.

#include "tls/tls_engine.hpp"

#include "tls_support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

using switchboard::net::tls_engine;
using status = tls_engine::status;
using error_code = boost::system::error_code;

namespace {

/// One end of a socketpair for the engine (non-blocking), one for the test.
struct socket_pair {
  socket_pair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK) == 0);
  }
  ~socket_pair() {
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
  }
  void send(const std::string& bytes) const {
    REQUIRE(::send(fds[1], bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  }
  int fds[2] = {-1, -1}; ///< [0] the engine's, [1] the client's
};

/// A server engine and a client SSL on memory BIOs.
struct tls_pair {
  explicit tls_pair(int max_version = TLS1_3_VERSION)
    : client_ctx(tls_support::client_context(max_version)) {
    REQUIRE(server_ctx);
    REQUIRE(client_ctx);
    REQUIRE(engine.valid());
    client = SSL_new(client_ctx.get());
    REQUIRE(client != nullptr);
    from_server = BIO_new(BIO_s_mem());
    to_server = BIO_new(BIO_s_mem());
    SSL_set_bio(client, from_server, to_server);
    SSL_set_connect_state(client);
  }
  ~tls_pair() {
    SSL_free(client);
  }

  /// The client's ciphertext so far, taken.
  std::string client_bytes() {
    std::string out;
    char chunk[4096];
    for (int n; (n = BIO_read(to_server, chunk, sizeof chunk)) > 0;)
      out.append(chunk, static_cast<std::size_t>(n));
    return out;
  }

  /// `bytes` into the engine's staged input.
  void stage(const std::string& bytes) {
    std::size_t done = 0;
    for (int i = 0; i < 100 && done < bytes.size(); ++i) {
      std::size_t room = 0;
      auto* space = engine.input_space(room);
      auto n = std::min(room, bytes.size() - done);
      std::memcpy(space, bytes.data() + done, n);
      engine.commit_input(n);
      done += n;
    }
    REQUIRE(done == bytes.size());
  }

  /// The engine's output to the client, consumed.
  void to_client() {
    auto n = engine.output_size();
    if (n == 0)
      return;
    REQUIRE(BIO_write(from_server, engine.output_data(), static_cast<int>(n)) == static_cast<int>(n));
    engine.consume_output(n);
    REQUIRE(engine.output_size() == 0);
  }

  /// Both handshakes, over staged input.
  void handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int i = 0; i < 10 && !(client_done && server_done); ++i) {
      client_done = client_done || SSL_do_handshake(client) == 1;
      stage(client_bytes());
      error_code ec;
      if (!server_done) {
        auto s = engine.handshake(ec);
        REQUIRE(s != status::failed);
        server_done = s == status::done;
      }
      to_client();
    }
    REQUIRE(client_done);
    REQUIRE(server_done);
  }

  /// What the client decrypts of what it has, up to `limit` bytes.
  std::string client_read(std::size_t limit) {
    std::string out;
    char chunk[4096];
    for (int i = 0; i < 1000 && out.size() < limit; ++i) {
      std::size_t got = 0;
      if (SSL_read_ex(client, chunk, sizeof chunk, &got) != 1)
        break;
      out.append(chunk, got);
    }
    return out;
  }

  /// The engine's plaintext until it wants input or fails (then `ec`).
  std::string engine_read(error_code& ec, std::size_t chunk_size = 4096) {
    std::string out;
    std::string chunk(chunk_size, '\0');
    for (int i = 0; i < 1000; ++i) {
      std::size_t got = 0;
      if (engine.read(chunk.data(), chunk.size(), got, ec) != status::done)
        break;
      out.append(chunk.data(), got);
    }
    return out;
  }

  /// A client SSL_write, as ciphertext.
  std::string client_record(const std::string& plain) {
    REQUIRE(SSL_write(client, plain.data(), static_cast<int>(plain.size()))
            == static_cast<int>(plain.size()));
    return client_bytes();
  }

  tls_support::ctx_ptr server_ctx = tls_support::server_context();
  tls_support::ctx_ptr client_ctx;
  tls_engine engine{server_ctx.get()};
  SSL* client = nullptr;
  BIO* from_server = nullptr; ///< owned by `client`
  BIO* to_server = nullptr;   ///< owned by `client`
};

} // namespace

// -- staged input: handshake and data ---------------------------------------------

TEST_CASE("tls_engine: handshake, then data both ways, ciphertext only through output()") {
  auto version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
  tls_pair t{version};
  t.handshake();
  CHECK(SSL_version(t.engine.native_handle()) == version);
  CHECK(SSL_version(t.client) == version);

  t.stage(t.client_record("hello server"));
  error_code ec;
  CHECK(t.engine_read(ec) == "hello server");
  CHECK_FALSE(ec);

  CHECK(t.engine.output_size() == 0);
  REQUIRE(t.engine.write("hello client", 12, ec));
  REQUIRE(t.engine.output_size() > 12); // a record: header, ciphertext, tag
  std::string sent(reinterpret_cast<const char*>(t.engine.output_data()), t.engine.output_size());
  CHECK(sent.find("hello client") == std::string::npos);
  t.engine.consume_output(5);
  CHECK(t.engine.output_size() == sent.size() - 5);
  CHECK(BIO_write(t.from_server, sent.data(), static_cast<int>(sent.size())) > 0);
  t.engine.consume_output(sent.size() - 5);
  CHECK(t.engine.output_size() == 0);
  CHECK(t.client_read(12) == "hello client");
}

TEST_CASE("tls_engine: after the HTTP side, read_from gives the staged buffer back") {
  // Regression (found while the layer was written): the staged buffer
  // stayed with every WebSocket connection for its whole life.
  tls_pair t;
  t.handshake();
  t.stage(t.client_record("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"));
  error_code ec;
  CHECK(t.engine_read(ec).size() == 29);
  t.to_client();
  REQUIRE(t.engine.output_size() == 0);
  socket_pair sp;
  t.engine.read_from(sp.fds[0]);
  CHECK(t.engine.held_bytes() == 0);
}

// -- direct input from the socket -------------------------------------------------

TEST_CASE("tls_engine: half a record in the socket waits for the socket, not for OpenSSL") {
  // Regression: has_input() said yes while OpenSSL held only the start of a
  // record, and the stream read again and again without waiting (livelock).
  tls_pair t;
  t.handshake();
  socket_pair sp;
  t.engine.read_from(sp.fds[0]);
  auto record = t.client_record(std::string(1000, 'a'));
  sp.send(record.substr(0, record.size() / 2));

  char buf[2048];
  std::size_t got = 0;
  error_code ec;
  CHECK(t.engine.read(buf, sizeof buf, got, ec) == status::want_read);
  CHECK(got == 0);
  CHECK_FALSE(t.engine.has_input());

  sp.send(record.substr(record.size() / 2));
  t.engine.socket_readable();
  CHECK(t.engine.has_input());
  REQUIRE(t.engine.read(buf, sizeof buf, got, ec) == status::done);
  CHECK(std::string(buf, got) == std::string(1000, 'a'));
}

TEST_CASE("tls_engine: records OpenSSL read ahead count as input until they are consumed") {
  tls_pair t;
  t.handshake();
  socket_pair sp;
  t.engine.read_from(sp.fds[0]);
  auto first = t.client_record(std::string(500, '1'));
  sp.send(first + t.client_record(std::string(500, '2')));

  std::string plain;
  char buf[64];
  error_code ec;
  for (int i = 0; i < 100 && plain.size() < 1000; ++i) {
    INFO("after " << plain.size() << " bytes");
    REQUIRE(t.engine.has_input());
    std::size_t got = 0;
    REQUIRE(t.engine.read(buf, sizeof buf, got, ec) == status::done);
    plain.append(buf, got);
  }
  CHECK(plain == std::string(500, '1') + std::string(500, '2'));
  std::size_t got = 0;
  CHECK(t.engine.read(buf, sizeof buf, got, ec) == status::want_read);
  CHECK_FALSE(t.engine.has_input());
}

// -- endings ----------------------------------------------------------------------

TEST_CASE("tls_engine: the client's close_notify is eof") {
  tls_pair t;
  t.handshake();
  SSL_shutdown(t.client);
  t.stage(t.client_bytes());
  error_code ec;
  CHECK(t.engine_read(ec).empty());
  CHECK(ec == boost::asio::error::eof);
}

TEST_CASE("tls_engine: the socket's end without a close_notify is stream_truncated") {
  tls_pair t;
  t.handshake();
  socket_pair sp;
  t.engine.read_from(sp.fds[0]);
  sp.send(t.client_record("last words"));
  REQUIRE(::shutdown(sp.fds[1], SHUT_WR) == 0);
  error_code ec;
  // The short read took the record and left the socket for its readiness.
  CHECK(t.engine_read(ec) == "last words");
  CHECK_FALSE(ec);
  CHECK_FALSE(t.engine.has_input());
  t.engine.socket_readable();
  CHECK(t.engine_read(ec).empty());
  CHECK(ec == boost::asio::ssl::error::stream_truncated);
}

TEST_CASE("tls_engine: plain HTTP instead of a ClientHello fails the handshake with an SSL error") {
  tls_pair t;
  t.stage("GET / HTTP/1.1\r\n\r\n");
  error_code ec;
  CHECK(t.engine.handshake(ec) == status::failed);
  CHECK(ec);
  CHECK(ec.category() == boost::asio::error::get_ssl_category());
}

TEST_CASE("tls_engine: a failed socket read is the socket's error") {
  tls_pair t;
  t.handshake();
  socket_pair sp;
  t.engine.read_from(sp.fds[0]);
  // A unix socket closed with bytes it never read resets its peer.
  REQUIRE(::send(sp.fds[0], "x", 1, 0) == 1);
  ::close(sp.fds[1]);
  sp.fds[1] = -1;
  error_code ec;
  CHECK(t.engine_read(ec).empty());
  CHECK(ec == error_code{ECONNRESET, boost::system::system_category()});
}

// -- writing and closing ----------------------------------------------------------

TEST_CASE("tls_engine: a large write is several records, decrypted whole and in order") {
  tls_pair t;
  t.handshake();
  std::string big(100 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7 + i / 251);
  error_code ec;
  REQUIRE(t.engine.write(big.data(), big.size(), ec));
  // Application-data records: type 23, then the version and a length.
  std::size_t records = 0;
  for (std::size_t at = 0; at + 5 <= t.engine.output_size() && records < 100; ++records) {
    auto* h = t.engine.output_data() + at;
    CHECK(h[0] == 23);
    at += 5 + ((std::size_t{h[3]} << 8) | h[4]);
  }
  CHECK(records >= 7); // 16 KiB of plaintext per record at most
  t.to_client();
  CHECK(t.client_read(big.size()) == big);

  REQUIRE(t.engine.write(big.data(), 0, ec));
  CHECK_FALSE(ec);
  CHECK(t.engine.output_size() == 0);
}

TEST_CASE("tls_engine: shutdown puts a close_notify into output()") {
  tls_pair t;
  t.handshake();
  t.engine.shutdown();
  REQUIRE(t.engine.output_size() > 0);
  t.to_client();
  char buf[16];
  CHECK(SSL_read(t.client, buf, sizeof buf) == 0);
  CHECK(SSL_get_error(t.client, 0) == SSL_ERROR_ZERO_RETURN);
}

TEST_CASE("tls_engine: a peer that asks for key updates and never reads the answers is cut off") {
  // Each requested key update makes OpenSSL answer with one of its own; the
  // client's one-byte writes in between keep OpenSSL's own limit (consecutive
  // key updates) from ending it first.
  auto ask = [](tls_pair& t) {
    SSL_key_update(t.client, SSL_KEY_UPDATE_REQUESTED);
    REQUIRE(SSL_write(t.client, "x", 1) == 1);
    t.stage(t.client_bytes());
  };
  char buf[64];
  std::size_t got = 0;
  error_code ec;

  SECTION("answers taken: no bound is reached") {
    tls_pair t;
    t.handshake();
    for (int i = 0; i < 4000; ++i) {
      ask(t);
      REQUIRE(t.engine.read(buf, sizeof buf, got, ec) == status::done);
      t.to_client();
    }
  }
  SECTION("answers never taken: the read fails once they pass 64 KiB") {
    tls_pair t;
    t.handshake();
    auto s = status::done;
    int i = 0;
    for (; i < 4000 && s != status::failed; ++i) {
      ask(t);
      s = t.engine.read(buf, sizeof buf, got, ec);
    }
    REQUIRE(s == status::failed);
    CHECK(ec == boost::asio::error::no_buffer_space);
    CHECK(i > 1000); // many answers first: the bound is in bytes, not a count
    CHECK(t.engine.output_size() > 64 * 1024);
    CHECK(t.engine.output_size() < 64 * 1024 + 1024);
  }
}
