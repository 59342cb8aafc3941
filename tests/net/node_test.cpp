// A real node on loopback, driven by Beast clients: what the node does when
// its hub dies, and that a stopped node has let go of every connection.

#include "switchboard/node.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

using namespace switchboard;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

struct node_fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::unique_ptr<node> n;

  node_fixture() {
    add_error_category(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    node_config nc;
    nc.port = 0;
    nc.io_threads = 2;
    nc.connection.shutdown_timeout = 1s;
    auto started = node::start(*sys, nc);
    REQUIRE(started);
    n = std::move(*started);
  }

  ~node_fixture() {
    n->stop();
    n.reset();
  }
};

/// A WebSocket client whose every step is bounded in time.
class client {
public:
  explicit client(std::uint16_t port) : ws_(ioc_) {
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_after(5s);
    tcp.async_connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                      [this](beast::error_code ec) { ec_ = ec; });
    run();
    REQUIRE_FALSE(ec_);
    tcp.expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake("127.0.0.1", "/ws", [this](beast::error_code ec) { ec_ = ec; });
    run();
    REQUIRE_FALSE(ec_);
  }

  /// The next text message, or the error that ended the read.
  std::pair<beast::error_code, std::string> read() {
    beast::flat_buffer buf;
    ws_.async_read(buf, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    run();
    return {ec_, beast::buffers_to_string(buf.data())};
  }

  websocket::close_reason reason() const {
    return ws_.reason();
  }

private:
  void run() {
    ioc_.restart();
    ec_ = asio::error::timed_out;
    ioc_.run_for(5s);
  }

  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::error_code ec_;
};

unsigned health(std::uint16_t port) {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return res.result_int();
}

} // namespace

TEST_CASE_METHOD(node_fixture, "when the hub dies, every client gets 1011 and the node "
                               "reports it") {
  client a{n->port()};
  client b{n->port()};
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  REQUIRE(b.read().second.find(R"("welcome")") != std::string::npos);
  CHECK(health(n->port()) == 200);
  caf::anon_send_exit(n->hub(), caf::exit_reason::kill);
  CHECK(n->wait() == caf::exit_reason::kill);
  for (auto* c : {&a, &b}) {
    auto [ec, text] = c->read();
    CHECK(ec == websocket::error::closed);
    CHECK(c->reason().code == websocket::close_code::internal_error);
    CHECK(c->reason().reason == "hub down");
  }
  CHECK(health(n->port()) == 503);
}

TEST_CASE_METHOD(node_fixture, "a requested stop ends the wait with no error") {
  client a{n->port()};
  REQUIRE(a.read().second.find(R"("welcome")") != std::string::npos);
  n->request_stop();
  CHECK_FALSE(n->wait());
  auto [ec, text] = a.read();
  CHECK(ec == websocket::error::closed);
  CHECK(a.reason().code == websocket::close_code::going_away);
}
