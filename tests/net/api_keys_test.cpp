// Named API keys (switchboard/api_keys.hpp, auth/api_key.hpp): the keys
// file, the rules, which key a request carries, and node::set_api_keys()
// replacing them under a running node's feet; the audit line per API call.

#include "http_client.hpp"
#include "log_capture.hpp"

#include "auth/api_key.hpp"
#include "http/api_route.hpp"

#include "switchboard/api_keys.hpp"
#include "switchboard/node.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

using namespace switchboard;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

std::string error_text(const caf::error& err) {
  return err.context().get_as<std::string>(0);
}

} // namespace

// -- the keys file -----------------------------------------------------------------

TEST_CASE("api keys: a file lists NAME KEY per line, with comments and blank lines") {
  auto keys = parse_api_keys("# who may call\n\ndeploy  k3y-for-deploy\r\n\t ci\tk3y-for-ci  \n");
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].name == "deploy");
  CHECK((*keys)[0].key == "k3y-for-deploy");
  CHECK((*keys)[1].name == "ci");
  CHECK((*keys)[1].key == "k3y-for-ci");
  auto none = parse_api_keys("# nobody\n");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("api keys: a bad line is named by its number and no key is quoted") {
  auto check = [](const char* text, const char* says) {
    auto keys = parse_api_keys(text);
    REQUIRE_FALSE(keys);
    auto why = error_text(keys.error());
    INFO(why);
    CHECK(why.find(says) != std::string::npos);
    CHECK(why.find("s3cret") == std::string::npos);
  };
  check("a s3cret1\nlonely\n", "line 2: expected NAME KEY");
  check("a s3cret1 extra\n", "line 1: expected NAME KEY");
  check("a s3cret1\na s3cret2\n", "line 2: the API key name 'a' appears twice");
  check("a s3cret1\nb s3cret1\n", "line 2: the API key 'b' is the key of another name");
  check("bad/name s3cret1\n", "line 1: an API key name must be");
  check("a s3cret\x01\n", "line 1: the API key 'a' must be printable ASCII");
}

TEST_CASE("api keys: --api-key is `default`; a named key cannot take that name or its key") {
  auto all = with_default_key("main-key", {{"ci", "ci-key"}});
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "default");
  CHECK(all[0].key == "main-key");
  CHECK(api_key_problems(all).empty());
  node_config nc;
  nc.api_key = "main-key";
  nc.api_keys = {{"default", "other-key"}};
  REQUIRE(nc.problems().size() == 1);
  CHECK(nc.problems()[0] == "api-keys: the API key name 'default' appears twice");
  nc.api_keys = {{"ci", "main-key"}};
  REQUIRE(nc.problems().size() == 1);
  CHECK(nc.problems()[0] == "api-keys: the API key 'ci' is the key of another name");
  nc.api_key.clear();
  nc.api_keys = {{"default", "other-key"}};
  CHECK(nc.problems().empty());
}

// -- which key a request carries -----------------------------------------------------

TEST_CASE("api keys: the request's key is found by name among several") {
  net::api_key_set keys{{"deploy", net::digest_of("k1")}, {"ci", net::digest_of("k2")}};
  CHECK(net::matching_key("apikey k1", keys) == "deploy");
  CHECK(net::matching_key("APIKEY  k2", keys) == "ci");
  CHECK_FALSE(net::matching_key("apikey k3", keys));
  CHECK_FALSE(net::matching_key("Bearer k1", keys));
  CHECK_FALSE(net::matching_key("apikey k1", {}));
}

TEST_CASE("api keys: route_api names the caller; a refusal names none") {
  net::api_settings api;
  api.set_keys({{"deploy", net::digest_of("k1")}, {"ci", net::digest_of("k2")}});
  auto req = testing::http_client::make(http::verb::get, "/api/topics");
  req.set(http::field::authorization, "apikey k2");
  auto d = net::route_api(req, api);
  REQUIRE(d.call);
  CHECK(d.caller == "ci");
  req.set(http::field::authorization, "apikey k9");
  d = net::route_api(req, api);
  CHECK_FALSE(d.call);
  CHECK(d.response.result() == http::status::unauthorized);
  CHECK(d.caller.empty());
  // A known key on an unknown route: refused, and still named.
  auto nope = testing::http_client::make(http::verb::get, "/api/nope");
  nope.set(http::field::authorization, "apikey k1");
  d = net::route_api(nope, api);
  CHECK(d.response.result() == http::status::not_found);
  CHECK(d.caller == "deploy");
}

// -- a running node -----------------------------------------------------------------

namespace {

struct keyed_node {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::unique_ptr<node> n;
  std::shared_ptr<testing::capture_sink> sink = std::make_shared<testing::capture_sink>();

  explicit keyed_node(std::vector<named_api_key> keys, std::string api_key = {}) {
    add_error_category(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    node_config nc;
    nc.port = 0;
    nc.io_threads = 2;
    nc.api_key = std::move(api_key);
    nc.api_keys = std::move(keys);
    nc.logger = testing::capture_logger(sink);
    auto started = node::start(*sys, nc);
    REQUIRE(started);
    n = std::move(*started);
  }

  ~keyed_node() {
    n->stop();
    n.reset();
  }

  /// The status of GET `target` with `authorization` (none: no header).
  unsigned get(const std::string& target, const std::string& authorization) {
    testing::http_client c{n->port()};
    auto req = testing::http_client::make(http::verb::get, target);
    if (!authorization.empty())
      req.set(http::field::authorization, authorization);
    REQUIRE(c.send(req));
    auto res = c.receive();
    REQUIRE(res);
    return res->result_int();
  }
};

/// The status of GET /api/topics with `authorization`, 0 when the exchange
/// failed; bounded in time, and without Catch2 (for another thread).
unsigned status_without_catch(std::uint16_t port, const std::string& authorization) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  boost::beast::tcp_stream stream{ioc};
  boost::beast::flat_buffer buf;
  auto req = testing::http_client::make(http::verb::get, "/api/topics");
  req.set(http::field::authorization, authorization);
  http::response<http::string_body> res;
  unsigned status = 0;
  // Every step under the stream's deadline: a node that never answers
  // ends the exchange, not the test.
  stream.expires_after(5s);
  stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](auto ec) {
    if (ec)
      return;
    http::async_write(stream, req, [&](auto write_ec, std::size_t) {
      if (write_ec)
        return;
      http::async_read(stream, buf, res, [&](auto read_ec, std::size_t) {
        if (!read_ec)
          status = res.result_int();
      });
    });
  });
  ioc.run_for(6s);
  return status;
}

} // namespace

TEST_CASE("api keys: set_api_keys rotates a key; the old one is refused from then on") {
  keyed_node f{{{"deploy", "old-deploy-key"}, {"ci", "ci-key"}}, "main-key"};
  CHECK(f.get("/api/topics", "apikey old-deploy-key") == 200);
  CHECK(f.get("/api/topics", "apikey main-key") == 200);
  REQUIRE_FALSE(f.n->set_api_keys({{"deploy", "new-deploy-key"}, {"ci", "ci-key"}}));
  CHECK(f.get("/api/topics", "apikey old-deploy-key") == 401);
  CHECK(f.get("/api/topics", "apikey new-deploy-key") == 200);
  CHECK(f.get("/api/topics", "apikey ci-key") == 200);
  // --api-key stays whatever the list says.
  CHECK(f.get("/api/topics", "apikey main-key") == 200);
}

TEST_CASE("api keys: invalid keys are refused and the node keeps its current ones") {
  keyed_node f{{{"deploy", "deploy-key"}}, "main-key"};
  auto err = f.n->set_api_keys({{"default", "x-key"}});
  REQUIRE(err);
  CHECK(err == caf::sec::invalid_argument);
  err = f.n->set_api_keys({{"a", "same-key"}, {"b", "same-key"}});
  REQUIRE(err);
  CHECK(f.get("/api/topics", "apikey deploy-key") == 200);
  CHECK(f.get("/api/topics", "apikey x-key") == 401);
}

TEST_CASE("api keys: a node started without keys opens its API when given some") {
  keyed_node f{{}};
  CHECK(f.get("/api/topics", "apikey late-key") == 404);
  REQUIRE_FALSE(f.n->set_api_keys({{"late", "late-key"}}));
  CHECK(f.get("/api/topics", "apikey late-key") == 200);
  REQUIRE_FALSE(f.n->set_api_keys({}));
  CHECK(f.get("/api/topics", "apikey late-key") == 404);
}

TEST_CASE("api keys: requests in flight while the keys are swapped see one set or the other") {
  // Under ThreadSanitizer this is the test of the swap: the I/O loops read
  // the keys while this thread replaces them.
  keyed_node f{{{"a", "key-a"}}};
  std::atomic<bool> done{false};
  std::atomic<int> odd{0};
  // No Catch2 assertion on this thread (Catch2 is not thread-safe).
  std::thread caller{[&] {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      auto status = status_without_catch(f.n->port(), "apikey key-a");
      if (status != 0 && status != 200 && status != 401)
        ++odd;
    }
  }};
  for (int i = 0; i < 50; ++i) {
    if (i % 2 == 0)
      REQUIRE_FALSE(f.n->set_api_keys({{"b", "key-b"}}));
    else
      REQUIRE_FALSE(f.n->set_api_keys({{"a", "key-a"}, {"b", "key-b"}}));
    std::this_thread::yield();
  }
  done = true;
  caller.join();
  CHECK(odd == 0);
  CHECK(f.get("/api/topics", "apikey key-a") == 200);
}

// -- the audit line -------------------------------------------------------------------

TEST_CASE("api audit: every API call logs one line with the key's name, refused ones too") {
  keyed_node f{{{"deploy", "deploy-key"}}};
  CHECK(f.get("/api/topics/news%20today?x=1", "apikey deploy-key") == 404);
  CHECK(f.get("/api/connections/42", "apikey deploy-key") == 404);
  CHECK(f.get("/api/topics", "apikey wrong") == 401);
  CHECK(f.get("/api/nope", "apikey deploy-key") == 404);
  auto lines = f.sink->lines_with("api call");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == R"(api call key=deploy remote=127.0.0.1 method=GET route=/api/topics/news%20today status=404 topic="news today")");
  CHECK(lines[1] == "api call key=deploy remote=127.0.0.1 method=GET route=/api/connections/42 status=404 connection=42");
  CHECK(lines[2] == "api call key=- remote=127.0.0.1 method=GET route=/api/topics status=401");
  CHECK(lines[3] == "api call key=deploy remote=127.0.0.1 method=GET route=/api/nope status=404");
}

TEST_CASE("api audit: a body over the limit is logged as refused with 413") {
  keyed_node f{{{"deploy", "deploy-key"}}};
  testing::http_client c{f.n->port()};
  REQUIRE(c.send_raw("POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  auto res = c.receive();
  REQUIRE(res);
  CHECK(res->result_int() == 413);
  auto lines = f.sink->lines_with("api call");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "api call key=- remote=127.0.0.1 method=POST route=/api/publish status=413");
}
