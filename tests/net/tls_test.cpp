// TLS: the server's context from PEM files (and why one is refused), and a
// real node on loopback speaking wss:// to a Beast client: a round trip, the
// close handshake, and reload_tls keeping or replacing the certificate.
// (Under ASan in CI, this runs the TLS stream and session code.)

#include "switchboard/node.hpp"
#include "tls/tls_context.hpp"

#include "tls_support.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

using namespace switchboard;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;

namespace {

// -- PEM files made for the test -----------------------------------------------------

using tls_support::ec_key;
using tls_support::pkey_ptr;
using tls_support::self_signed;
using tls_support::x509_ptr;

/// Files in a directory of their own, removed at the end.
struct pem_dir {
  pem_dir() {
    char tmpl[] = "/tmp/switchboard-tls-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~pem_dir() {
    for (auto& f : files)
      std::remove(f.c_str());
    rmdir(path.c_str());
  }
  std::string file(const std::string& name) {
    files.push_back(path + "/" + name);
    return files.back();
  }
  std::string write_cert(const std::string& name, X509* cert) {
    REQUIRE(cert != nullptr); // self_signed gives null if signing failed
    auto f = file(name);
    auto* fp = std::fopen(f.c_str(), "w");
    REQUIRE(fp);
    PEM_write_X509(fp, cert);
    std::fclose(fp);
    return f;
  }
  std::string write_key(const std::string& name, EVP_PKEY* key) {
    auto f = file(name);
    auto* fp = std::fopen(f.c_str(), "w");
    REQUIRE(fp);
    PEM_write_PrivateKey(fp, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(fp);
    return f;
  }
  std::string path;
  std::vector<std::string> files;
};

struct server_files {
  pem_dir dir;
  pkey_ptr key = ec_key();
  x509_ptr cert = self_signed(key.get(), 1001);
  pkey_ptr other_key = ec_key();
  std::string cert_file = dir.write_cert("cert.pem", cert.get());
  std::string key_file = dir.write_key("key.pem", key.get());
  std::string other_key_file = dir.write_key("other.pem", other_key.get());
};

std::string error_of(const net::tls_files& files) {
  node_config defaults;
  auto made = net::make_tls_context(files, {defaults.tls_min_version, defaults.tls_ciphers});
  auto* why = std::get_if<std::string>(&made);
  return why ? *why : std::string{};
}

// -- a wss:// client --------------------------------------------------------------------

/// A WebSocket client over TLS that trusts `ca_file`; every step bounded.
class tls_client {
public:
  tls_client(std::uint16_t port, const std::string& ca_file)
    : ctx_(ssl::context::tls_client), ws_(ioc_, ctx_) {
    ctx_.load_verify_file(ca_file);
    ctx_.set_verify_mode(ssl::verify_peer);
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_after(5s);
    tcp.async_connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                      [this](beast::error_code ec) { ec_ = ec; });
    run();
    REQUIRE_FALSE(ec_);
    ws_.next_layer().async_handshake(ssl::stream_base::client,
                                     [this](beast::error_code ec) { ec_ = ec; });
    run();
    if (ec_)
      return;
    tcp.expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake("127.0.0.1", "/ws", [this](beast::error_code ec) { ec_ = ec; });
    run();
  }

  beast::error_code error() const {
    return ec_;
  }

  /// The serial number of the server's certificate.
  long serial() {
    auto* cert = SSL_get0_peer_certificate(ws_.next_layer().native_handle());
    REQUIRE(cert);
    return ASN1_INTEGER_get(X509_get0_serialNumber(cert));
  }

  std::pair<beast::error_code, std::string> read() {
    beast::flat_buffer buf;
    ws_.async_read(buf, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    run();
    return {ec_, beast::buffers_to_string(buf.data())};
  }

  beast::error_code write(const std::string& text) {
    ws_.async_write(asio::buffer(text), [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    run();
    return ec_;
  }

  beast::error_code close() {
    ws_.async_close(websocket::close_code::normal, [this](beast::error_code ec) { ec_ = ec; });
    run();
    return ec_;
  }

private:
  void run() {
    ioc_.restart();
    ec_ = asio::error::timed_out;
    ioc_.run_for(5s);
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  beast::error_code ec_;
};

struct tls_node {
  explicit tls_node(const server_files& files) {
    add_error_category(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    node_config nc;
    nc.port = 0;
    nc.io_threads = 1;
    nc.connection.shutdown_timeout = 1s;
    nc.tls_cert = files.cert_file;
    nc.tls_key = files.key_file;
    auto started = node::start(*sys, nc);
    REQUIRE(started);
    n = std::move(*started);
  }
  ~tls_node() {
    n->stop();
    n.reset();
  }
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::unique_ptr<node> n;
};

} // namespace

TEST_CASE("a TLS context comes from a certificate and its key, or says what is wrong") {
  server_files f;
  CHECK(error_of({f.cert_file, f.key_file, {}}).empty());
  CHECK(error_of({f.cert_file, f.key_file, f.cert_file}).empty()); // as a client CA
  auto missing = f.dir.path + "/missing.pem";
  CHECK(error_of({missing, f.key_file, {}}).rfind("tls-cert " + missing, 0) == 0);
  CHECK(error_of({f.cert_file, missing, {}}).rfind("tls-key " + missing, 0) == 0);
  CHECK(error_of({f.cert_file, f.other_key_file, {}}).rfind("tls-key", 0) == 0);
  CHECK(error_of({f.cert_file, f.key_file, missing}).rfind("tls-ca " + missing, 0) == 0);
  // A key file that is no key.
  CHECK(error_of({f.cert_file, f.cert_file, {}}).rfind("tls-key", 0) == 0);
}

TEST_CASE("a cipher list only for the other key type is refused with the certificate") {
  server_files f; // an ECDSA certificate
  node_config defaults;
  auto error = [&](const std::string& min_version, const std::string& ciphers) {
    auto made = net::make_tls_context({f.cert_file, f.key_file, {}}, {min_version, ciphers});
    auto* why = std::get_if<std::string>(&made);
    return why ? *why : std::string{};
  };
  CHECK(error("1.2", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305")
        == "tls-ciphers 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305' has no TLS "
           "1.2 cipher for the ECDSA certificate in "
             + f.cert_file);
  CHECK(error("1.2", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256").empty());
  CHECK(error("1.2", defaults.tls_ciphers).empty());
  // Without TLS 1.2 the list does not matter.
  CHECK(error("1.3", "ECDHE-RSA-AES128-GCM-SHA256").empty());
}

TEST_CASE("node_config wants a TLS certificate and key together") {
  node_config nc;
  nc.tls_cert = "cert.pem";
  auto problems = nc.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "tls-cert and tls-key go together: give both or neither");
  nc.tls_key = "key.pem";
  CHECK(nc.problems().empty());
  nc.tls_cert.clear();
  nc.tls_key.clear();
  nc.tls_ca = "ca.pem";
  CHECK(nc.problems().size() == 1);
}

TEST_CASE("node_config checks the TLS policy: a version, a cipher list that selects a cipher") {
  node_config nc;
  CHECK(nc.problems().empty()); // the defaults
  nc.tls_min_version = "1.3";
  CHECK(nc.problems().empty());
  nc.tls_min_version = "1.1";
  auto problems = nc.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "tls-min-version must be 1.2 or 1.3 (got '1.1')");
  nc.tls_min_version = "1.2";
  nc.tls_ciphers = "ECDHE-RSA-AES256-GCM-SHA384";
  CHECK(nc.problems().empty());
  // Unknown names, and suites no certificate can serve (pre-shared keys,
  // anonymous), select nothing.
  for (auto list : {"NO-SUCH-CIPHER", "PSK", "aNULL", ""}) {
    nc.tls_ciphers = list;
    problems = nc.problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].rfind("tls-ciphers '" + std::string{list} + "' selects no TLS 1.2 cipher", 0)
          == 0);
  }
}

TEST_CASE("a TLS context knows its certificate's expiry") {
  server_files f;
  node_config defaults;
  auto made = net::make_tls_context({f.cert_file, f.key_file, {}},
                                    {defaults.tls_min_version, defaults.tls_ciphers});
  auto* ctx = std::get_if<0>(&made);
  REQUIRE(ctx);
  auto expiry = net::certificate_expiry(**ctx);
  REQUIRE(expiry);
  // self_signed: valid for a day from when it was made.
  auto in_a_day = static_cast<std::int64_t>(std::time(nullptr)) + 86400;
  CHECK(*expiry <= in_a_day);
  CHECK(*expiry >= in_a_day - 60);
}

TEST_CASE("a node speaks wss:// and reloads its certificate") {
  server_files f;
  tls_node tn{f};
  CHECK(tn.n->url().rfind("wss://", 0) == 0);
  tls_client a{tn.n->port(), f.cert_file};
  REQUIRE_FALSE(a.error());
  CHECK(a.serial() == 1001);
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE_FALSE(a.write(R"({"type":"subscribe","topic":"t"})"));
  CHECK(a.read().second == R"({"type":"subscribed","topic":"t"})");

  SECTION("a failed reload keeps the certificate") {
    { std::ofstream{f.key_file} << "not a key\n"; }
    CHECK(tn.n->reload_tls());
    tls_client b{tn.n->port(), f.cert_file};
    REQUIRE_FALSE(b.error());
    CHECK(b.serial() == 1001);
  }
  SECTION("a reload serves the new certificate; the open connection goes on") {
    auto key = ec_key();
    auto cert = self_signed(key.get(), 2002);
    f.dir.write_cert("cert.pem", cert.get());
    f.dir.write_key("key.pem", key.get());
    REQUIRE_FALSE(tn.n->reload_tls());
    tls_client b{tn.n->port(), f.cert_file}; // trusts the new one
    REQUIRE_FALSE(b.error());
    CHECK(b.serial() == 2002);
    REQUIRE_FALSE(a.write(R"({"type":"publish","topic":"t","data":1})"));
    auto got = a.read();
    REQUIRE_FALSE(got.first);
    CHECK(got.second.find(R"("data":1)") != std::string::npos);
  }
  CHECK_FALSE(a.close());
}

TEST_CASE("reload_tls without TLS is an error") {
  caf::actor_system_config cfg;
  add_error_category(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  auto started = node::start(sys, nc);
  REQUIRE(started);
  CHECK((*started)->reload_tls());
  (*started)->stop();
}
