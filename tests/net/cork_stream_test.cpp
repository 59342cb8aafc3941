// cork_stream on real loopback sockets: batching, order, flush completion,
// discard, failures and the bounded teardown. One io_context per test,
// driven here with bounded run_one_for: no threads, no sleeps.

#include "loopback.hpp"
#include "cork_stream.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace switchboard::net::testing;
using switchboard::net::cork_stream;

namespace {

/// `cork` over one end of a loopback pair, `peer` the plain other end.
struct fixture {
  counting_stream& socket_layer() {
    return cork.next_layer();
  }

  asio::io_context ioc;
  std::pair<tcp::socket, tcp::socket> sockets = connect_pair(ioc);
  tcp::socket& peer = sockets.second;
  cork_stream<counting_stream> cork{std::move(sockets.first)};
};

} // namespace

TEST_CASE_METHOD(fixture, "corked writes reach the socket as one write, in order") {
  cork.cork();
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    auto f = frame(i);
    expected += f;
    CHECK(cork.write_some(asio::buffer(f)) == f.size());
  }
  // An asynchronous write completes at once too, before its bytes go out.
  std::string tail = "<async tail>";
  expected += tail;
  std::size_t async_n = 0;
  bool async_done = false;
  cork.async_write_some(asio::buffer(tail), [&](beast::error_code ec, std::size_t n) {
    CHECK_FALSE(ec);
    async_n = n;
    async_done = true;
  });
  REQUIRE(run_until(ioc, [&] { return async_done; }));
  CHECK(async_n == tail.size());
  CHECK(socket_layer().writes == 0);
  CHECK(cork.buffered() == expected.size());

  bool flushed = false;
  std::size_t on_socket_at_flush = 0;
  cork.uncork([&](beast::error_code ec) {
    CHECK_FALSE(ec);
    on_socket_at_flush = socket_layer().bytes_written;
    flushed = true;
  });
  REQUIRE(run_until(ioc, [&] { return flushed; }));
  // The handler ran only once every byte was on the socket.
  CHECK(on_socket_at_flush == expected.size());
  CHECK(socket_layer().writes == 1);
  CHECK(cork.buffered() == 0);
  CHECK(read_exactly(ioc, peer, expected.size()) == expected);
}

TEST_CASE_METHOD(fixture, "uncorked, one write is in flight and what queues meanwhile "
                          "follows as one write, in order") {
  std::string expected = frame(0);
  cork.write_some(asio::buffer(expected));
  CHECK(socket_layer().writes == 1);
  for (int i = 1; i < 50; ++i) {
    auto f = frame(i);
    expected += f;
    cork.write_some(asio::buffer(f));
  }
  CHECK(socket_layer().writes == 1);
  CHECK(cork.buffered() == expected.size());
  bool flushed = false;
  cork.async_flush([&](beast::error_code ec) {
    CHECK_FALSE(ec);
    CHECK(socket_layer().bytes_written == expected.size());
    flushed = true;
  });
  REQUIRE(run_until(ioc, [&] { return flushed; }));
  CHECK(socket_layer().writes == 2);
  CHECK(read_exactly(ioc, peer, expected.size()) == expected);
}

TEST_CASE_METHOD(fixture, "uncork with nothing buffered completes through the executor") {
  cork.cork();
  bool flushed = false;
  cork.uncork([&](beast::error_code ec) {
    CHECK_FALSE(ec);
    flushed = true;
  });
  CHECK_FALSE(flushed); // never inline: the caller may hold a lock or be mid-operation
  REQUIRE(run_until(ioc, [&] { return flushed; }));
  CHECK(socket_layer().writes == 0);
}

TEST_CASE_METHOD(fixture, "discard_pending drops unsent bytes and later writes arrive "
                          "intact") {
  std::string expected;
  SECTION("behind a write in flight") {
    expected = frame(1);
    cork.write_some(asio::buffer(expected)); // in flight: it stays
    auto dropped = frame(2) + frame(3);
    cork.write_some(asio::buffer(dropped));
    CHECK(cork.buffered() == expected.size() + dropped.size());
  }
  SECTION("while corked") {
    cork.cork();
    cork.write_some(asio::buffer(frame(1)));
    cork.write_some(asio::buffer(frame(2)));
  }
  cork.discard_pending();
  CHECK(cork.buffered() == expected.size());
  auto after = std::string{"\x88\x02\x03\xf0"}; // e.g. the close frame
  expected += after;
  cork.write_some(asio::buffer(after));
  bool flushed = false;
  cork.uncork([&](beast::error_code ec) {
    CHECK_FALSE(ec);
    flushed = true;
  });
  REQUIRE(run_until(ioc, [&] { return flushed; }));
  CHECK(cork.buffered() == 0);
  // End the stream, so that the peer sees every byte that went out and no more.
  socket_layer().socket().shutdown(tcp::socket::shutdown_send);
  CHECK(read_to_eof(ioc, peer) == expected);
}

TEST_CASE_METHOD(fixture, "a failed write fails every waiter, and later writes fail fast") {
  SECTION("the peer reset the connection") {
    peer.set_option(asio::socket_base::linger(true, 0));
    peer.close();
  }
  SECTION("the socket was closed under the stream") {
    socket_layer().socket().close();
  }
  // More than any socket buffer takes: the write cannot succeed.
  std::string big(8 << 20, 'x');
  cork.cork();
  cork.write_some(asio::buffer(big));
  std::vector<beast::error_code> results;
  cork.uncork([&](beast::error_code ec) { results.push_back(ec); });
  cork.write_some(asio::buffer(frame(1))); // queued behind the write in flight
  cork.uncork([&](beast::error_code ec) { results.push_back(ec); });
  REQUIRE(run_until(ioc, [&] { return results.size() == 2; }));
  CHECK(results[0]);
  CHECK(results[1] == results[0]);
  auto failure = results[0];

  auto writes = socket_layer().writes;
  beast::error_code ec;
  auto more = frame(2);
  CHECK(cork.write_some(asio::buffer(more), ec) == 0);
  CHECK(ec == failure);
  CHECK_THROWS_AS(cork.write_some(asio::buffer(more)), boost::system::system_error);
  bool async_done = false;
  cork.async_write_some(asio::buffer(more), [&](beast::error_code wec, std::size_t n) {
    CHECK(wec == failure);
    CHECK(n == 0);
    async_done = true;
  });
  cork.uncork([&](beast::error_code uec) { results.push_back(uec); });
  REQUIRE(run_until(ioc, [&] { return async_done && results.size() == 3; }));
  CHECK(results[2] == failure);
  CHECK(socket_layer().writes == writes); // nothing more reached the socket
}

TEST_CASE_METHOD(fixture, "async_teardown flushes first, then waits for the peer's "
                          "FIN") {
  const std::string close_frame = "\x88\x02\x03\xe9";
  cork.cork();
  cork.write_some(asio::buffer(close_frame));
  bool done = false;
  beast::error_code result = asio::error::fault;
  switchboard::net::async_teardown(beast::role_type::server, cork,
                                   [&](beast::error_code ec) {
                                     result = ec;
                                     done = true;
                                   });
  // The close frame, then our FIN.
  CHECK(read_to_eof(ioc, peer) == close_frame);
  CHECK_FALSE(done);
  CHECK(socket_layer().socket().is_open());
  peer.shutdown(tcp::socket::shutdown_send);
  REQUIRE(run_until(ioc, [&] { return done; }));
  CHECK_FALSE(result);
  CHECK_FALSE(socket_layer().socket().is_open());
}

TEST_CASE_METHOD(fixture, "async_teardown closes the socket after teardown_timeout when "
                          "the peer keeps its side open") {
  const auto timeout = 300ms;
  cork.teardown_timeout(timeout);
  const std::string close_frame = "\x88\x02\x03\xe9";
  cork.cork();
  cork.write_some(asio::buffer(close_frame));
  bool done = false;
  auto start = clock_type::now();
  switchboard::net::async_teardown(beast::role_type::server, cork,
                                   [&](beast::error_code) { done = true; });
  REQUIRE(run_until(ioc, [&] { return done; }, timeout + 3s));
  auto took = clock_type::now() - start;
  CHECK(took >= timeout);
  CHECK(took < timeout + 2s);
  CHECK_FALSE(socket_layer().socket().is_open());
  CHECK(read_to_eof(ioc, peer) == close_frame);
}
