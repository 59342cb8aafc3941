// tls_channel (net/tls/tls_channel.hpp) on a loopback TCP pair: what its
// composed operations report.

#include "tls/tls_channel.hpp"

#include "loopback.hpp"
#include "tls_support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <string>

using namespace switchboard::net;
using namespace switchboard::net::testing;

TEST_CASE("tls_channel: a failed handshake reports its TLS error when the alert cannot be sent") {
  // Otherwise a client gone before our alert went out (a scanner's RST) is
  // counted as closed instead of by the handshake's reason (tls_metrics).
  asio::io_context ioc;
  auto [server, client] = connect_pair(ioc);
  // A handshake record with an empty ClientHello: OpenSSL answers decode_error.
  std::string hello{"\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9};
  REQUIRE(asio::write(client, asio::buffer(hello)) == hello.size());
  boost::system::error_code ec;
  server.shutdown(tcp::socket::shutdown_send, ec); // the alert's write fails (EPIPE)
  REQUIRE_FALSE(ec);
  auto native = tls_support::server_context();
  REQUIRE(native);
  auto ctx = std::make_shared<asio::ssl::context>(native.release());
  auto channel = std::make_unique<tls_channel>(std::move(server), ctx);

  bool done = false;
  channel->async_handshake([&](boost::system::error_code failed) {
    ec = failed;
    done = true;
  });
  REQUIRE(run_until(ioc, [&] { return done; }));
  INFO(ec.message());
  CHECK(ec.category() == asio::error::get_ssl_category());
}
