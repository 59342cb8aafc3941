#pragma once

// A plain HTTP/1.1 client for tests against a node on loopback: it writes a
// request and reads the answer on an io_context of its own, every step
// bounded in time (a node that never answers fails the test, it does not
// hang it).

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace switchboard::testing {

class http_client {
public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  /// How the client's socket is set up before it connects.
  struct options {
    /// The receive buffer's size (small: the node's writes take many rounds).
    std::optional<int> receive_buffer;
    /// The TCP segment size the client announces (TCP_MAXSEG). Loopback's
    /// own is 64 KiB, which makes the node's socket buffer megabytes large;
    /// 1460 (Ethernet) gives it the size it has on a real network.
    std::optional<int> max_segment;
  };

  /// Connects to 127.0.0.1:`port`.
  explicit http_client(std::uint16_t port, options opts = {}) : stream_(ioc_) {
    namespace asio = boost::asio;
    auto& sock = stream_.socket();
    sock.open(asio::ip::tcp::v4());
    if (opts.receive_buffer)
      sock.set_option(asio::socket_base::receive_buffer_size(*opts.receive_buffer));
    if (opts.max_segment)
      sock.set_option(
        asio::detail::socket_option::integer<IPPROTO_TCP, TCP_MAXSEG>(*opts.max_segment));
    boost::beast::error_code ec;
    sock.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    REQUIRE_FALSE(ec);
  }

  /// A request for `target` with Host set and the payload prepared.
  static request make(boost::beast::http::verb method, std::string target,
                      std::string body = {}) {
    request req{method, std::move(target), 11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  /// Writes `req` (within `bound`); false if that failed.
  bool send(const request& req, std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    stream_.expires_after(bound);
    boost::beast::error_code result = boost::asio::error::timed_out;
    boost::beast::http::async_write(stream_, req,
                                    [&](boost::beast::error_code ec, std::size_t) {
                                      result = ec;
                                    });
    run(bound);
    return !result;
  }

  /// Writes raw bytes (within `bound`); false if that failed.
  bool send_raw(const std::string& bytes,
                std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    stream_.expires_after(bound);
    boost::beast::error_code result = boost::asio::error::timed_out;
    boost::asio::async_write(stream_, boost::asio::buffer(bytes),
                             [&](boost::beast::error_code ec, std::size_t) { result = ec; });
    run(bound);
    return !result;
  }

  /// The next complete answer, or nothing if the node closed the
  /// connection first, sent something else, or `bound` passed.
  std::optional<response> receive(std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    stream_.expires_after(bound);
    response res;
    boost::beast::error_code result = boost::asio::error::timed_out;
    boost::beast::http::async_read(stream_, buffer_, res,
                                   [&](boost::beast::error_code ec, std::size_t) {
                                     result = ec;
                                   });
    run(bound);
    if (result)
      return std::nullopt;
    return res;
  }

  /// Whether the node closed the connection (EOF or reset) within `bound`;
  /// whatever it sent before is skipped.
  bool closed_by_peer(std::chrono::milliseconds bound = std::chrono::seconds(5)) {
    stream_.expires_after(bound);
    boost::beast::error_code result;
    bool done = false;
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      stream_.async_read_some(boost::asio::buffer(scratch_),
                              [&](boost::beast::error_code ec, std::size_t) {
                                result = ec;
                                done = static_cast<bool>(ec);
                              });
      run(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    }
    return done && result != boost::beast::error::timeout;
  }

  boost::asio::ip::tcp::socket& socket() noexcept {
    return stream_.socket();
  }

private:
  void run(std::chrono::milliseconds bound) {
    ioc_.restart();
    ioc_.run_for(bound + std::chrono::milliseconds(100));
  }

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  char scratch_[4096];
};

} // namespace switchboard::testing
