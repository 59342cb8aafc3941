#pragma once

// Loopback test helpers for the net layer: socket pairs on 127.0.0.1, and
// bounded ways to drive one io_context from a test (no threads, no sleeps).

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include "io/io_types.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

namespace switchboard::net::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Runs `ioc` until `done()` holds; false if `bound` passed or the work ran
/// out first.
template <class Predicate>
bool run_until(asio::io_context& ioc, Predicate done, clock_type::duration bound = 5s) {
  auto deadline = clock_type::now() + bound;
  while (!done()) {
    auto now = clock_type::now();
    if (now >= deadline)
      return false;
    ioc.restart();
    if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped())
      return done();
  }
  return true;
}

/// Exactly `n` bytes from `sock`, or what came before an error or the bound.
inline std::string read_exactly(asio::io_context& ioc, tcp::socket& sock, std::size_t n) {
  std::string out(n, '\0');
  bool done = false;
  std::size_t got = 0;
  asio::async_read(sock, asio::buffer(out), [&](beast::error_code, std::size_t k) {
    got = k;
    done = true;
  });
  REQUIRE(run_until(ioc, [&] { return done; }));
  out.resize(got);
  return out;
}

inline std::string frame(int i) {
  return "<frame " + std::to_string(i) + ">";
}

/// A connected loopback pair: first the end for the stream under test,
/// second the peer's.
inline std::pair<socket_type, tcp::socket> connect_pair(asio::io_context& ioc) {
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  socket_type near{ioc.get_executor()};
  near.connect(acceptor.local_endpoint());
  auto far = acceptor.accept();
  // Room for everything a test writes at once, so that one write is one
  // write_some.
  near.set_option(asio::socket_base::send_buffer_size(1 << 20));
  return {std::move(near), std::move(far)};
}

} // namespace switchboard::net::testing
