// cork_stream under a Beast websocket::stream, as ws_session uses it:
// corked frames, the close handshake, and the bounded teardown after it.
// Loopback sockets, one io_context driven by the test.

#include "loopback.hpp"
#include "cork_stream.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <utility>

namespace websocket = boost::beast::websocket;
using namespace switchboard::net::testing;
using switchboard::net::cork_stream;

namespace {

/// A WebSocket server stream over cork_stream and a plain Beast client,
/// connected and upgraded.
struct ws_fixture {
  ws_fixture() {
    bool accepted = false;
    bool handshaken = false;
    server.async_accept([&](beast::error_code ec) {
      CHECK_FALSE(ec);
      accepted = true;
    });
    client.async_handshake("127.0.0.1", "/ws", [&](beast::error_code ec) {
      CHECK_FALSE(ec);
      handshaken = true;
    });
    REQUIRE(run_until(ioc, [&] { return accepted && handshaken; }));
  }

  counting_stream& server_socket() {
    return server.next_layer().next_layer();
  }

  asio::io_context ioc;
  std::pair<tcp::socket, tcp::socket> sockets = connect_pair(ioc);
  websocket::stream<cork_stream<counting_stream>, false> server{std::move(sockets.first)};
  websocket::stream<beast::tcp_stream, false> client{std::move(sockets.second)};
};

} // namespace

TEST_CASE_METHOD(ws_fixture, "corked WebSocket frames go out in one write and arrive in "
                             "order") {
  auto writes = server_socket().writes;
  auto& corked = server.next_layer();
  corked.cork();
  for (int i = 0; i < 20; ++i)
    server.write(asio::buffer(frame(i)));
  bool flushed = false;
  corked.uncork([&](beast::error_code ec) {
    CHECK_FALSE(ec);
    flushed = true;
  });
  REQUIRE(run_until(ioc, [&] { return flushed; }));
  CHECK(server_socket().writes == writes + 1);
  for (int i = 0; i < 20; ++i) {
    beast::flat_buffer buf;
    bool done = false;
    client.async_read(buf, [&](beast::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc, [&] { return done; }));
    CHECK(beast::buffers_to_string(buf.data()) == frame(i));
  }
}

TEST_CASE_METHOD(ws_fixture, "a close handshake through the corking layer delivers the "
                             "code and reason and closes the socket") {
  bool closed = false;
  beast::error_code close_ec = asio::error::fault;
  server.async_close({websocket::close_code::policy_error, "slow consumer"},
                     [&](beast::error_code ec) {
                       close_ec = ec;
                       closed = true;
                     });
  beast::flat_buffer buf;
  bool read_done = false;
  beast::error_code read_ec;
  client.async_read(buf, [&](beast::error_code ec, std::size_t) {
    read_ec = ec;
    read_done = true;
  });
  REQUIRE(run_until(ioc, [&] { return closed && read_done; }));
  CHECK(read_ec == websocket::error::closed);
  CHECK(client.reason().code == websocket::close_code::policy_error);
  CHECK(client.reason().reason == "slow consumer");
  CHECK_FALSE(close_ec);
  CHECK_FALSE(server_socket().socket().is_open());
}

TEST_CASE_METHOD(ws_fixture, "after the close handshake a peer that keeps its socket open "
                             "is cut after teardown_timeout") {
  const auto timeout = 300ms;
  server.next_layer().teardown_timeout(timeout);
  bool closed = false;
  beast::error_code close_ec = asio::error::fault;
  server.async_close({websocket::close_code::going_away, "bye"}, [&](beast::error_code ec) {
    close_ec = ec;
    closed = true;
  });
  // The client answers by hand, below its websocket::stream, and then
  // neither closes nor shuts down its socket.
  auto& raw = client.next_layer().socket();
  CHECK(read_exactly(ioc, raw, 7) == std::string{"\x88\x05\x03\xe9"} + "bye");
  const char mask[4] = {1, 2, 3, 4};
  const std::string reply = {'\x88', '\x82', mask[0], mask[1], mask[2], mask[3],
                             static_cast<char>('\x03' ^ mask[0]),
                             static_cast<char>('\xe9' ^ mask[1])};
  asio::write(raw, asio::buffer(reply));
  auto start = clock_type::now();
  REQUIRE(run_until(ioc, [&] { return closed; }, timeout + 3s));
  auto took = clock_type::now() - start;
  CHECK(took >= timeout);
  CHECK(took < timeout + 2s);
  CHECK_FALSE(close_ec);
  CHECK_FALSE(server_socket().socket().is_open());
  CHECK(read_to_eof(ioc, raw).empty());
}
