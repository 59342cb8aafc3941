// The cluster on the node: /stats?scope=cluster's pieces (the scope
// parameter, the JSON, the names only for the API key), the API's answers
// on a clustered node, node::start's checks, and two clustered nodes in one
// process on loopback.

#include "auth/console_auth.hpp"
#include "http/api_answer.hpp"
#include "http/http_route.hpp"
#include "observe/cluster_stats.hpp"

#include "switchboard/node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <future>
#include <sstream>
#include <thread>
#include <utility>

using namespace switchboard;
using namespace std::chrono_literals;

TEST_CASE("/stats takes scope=node (the default) or scope=cluster, nothing else") {
  using net::scope_of;
  using net::stats_scope;
  CHECK(scope_of("/stats") == stats_scope::node);
  CHECK(scope_of("/stats?") == stats_scope::node);
  CHECK(scope_of("/stats?scope=node") == stats_scope::node);
  CHECK(scope_of("/stats?scope=cluster") == stats_scope::cluster);
  CHECK(scope_of("/stats?x=1&scope=cluster") == stats_scope::cluster);
  CHECK(scope_of("/stats?scope=") == stats_scope::invalid);
  CHECK(scope_of("/stats?scope=all") == stats_scope::invalid);
  CHECK(scope_of("/stats?scope=cluster&scope=bogus") == stats_scope::invalid);
}

TEST_CASE("/stats?scope=cluster holds the node's object and the cluster's") {
  hub_stats hub;
  hub.connections = 3;
  cluster_info info;
  info.address = "a:1";
  // Above 2^53: a JSON number would lose the last digits in JavaScript.
  info.incarnation = 18446744073709551557u;
  info.backlog_limit = 10000;
  info.peers.push_back(peer_info{"b:2", "up", 9007199254740993u, 10, 11, 12, true, 0, 13, 2});
  info.peers.push_back(peer_info{"c:3", "down", 0, 0, 0, 0, false});
  info.nodes_answered = 2;
  info.totals.connections = 5;
  info.topics = {{"t", 4}};
  auto text = net::cluster_stats_json(hub, {}, info);
  REQUIRE(text.back() == '\n');
  auto v = boost::json::parse(text).as_object();
  CHECK(v.at("node").at("connections") == 3);
  CHECK(v.at("node").as_object().contains("disconnects"));
  auto& c = v.at("cluster").as_object();
  CHECK(c.at("address") == "a:1");
  CHECK(c.at("incarnation") == "18446744073709551557");
  CHECK(c.at("backlog_limit") == 10000);
  CHECK(c.at("nodes_answered") == 2);
  CHECK(c.at("connections") == 5);
  CHECK(c.at("topics").at("t") == 4);
  auto& peers = c.at("peers").as_array();
  REQUIRE(peers.size() == 2);
  CHECK(peers[0].at("address") == "b:2");
  CHECK(peers[0].at("state") == "up");
  CHECK(peers[0].at("incarnation") == "9007199254740993");
  CHECK(peers[0].at("forwarded") == 10);
  CHECK(peers[0].at("received") == 11);
  CHECK(peers[0].at("gaps") == 12);
  CHECK(peers[0].at("backlog") == 13);
  CHECK(peers[0].at("reconnects") == 2);
  CHECK(peers[1].at("state") == "down");
  CHECK(peers[1].at("incarnation") == "0");
}

TEST_CASE("/stats?scope=cluster without the API key has the numbers, not the names") {
  cluster_info info;
  info.address = "a:1";
  info.peers.push_back(peer_info{"b:2", "up", 7, 10, 11, 12, true, 3});
  info.nodes_answered = 2;
  info.totals.connections = 5;
  info.topics = {{"secret/t", 4}, {"u", 1}};
  auto full = boost::json::parse(net::cluster_stats_json({}, {}, info, true)).as_object();
  CHECK(full.at("cluster").at("address") == "a:1");
  CHECK(full.at("cluster").at("topics").at("secret/t") == 4);
  CHECK(full.at("cluster").at("peers").at(0).at("address") == "b:2");
  auto text = net::cluster_stats_json({}, {}, info, false);
  CHECK(text.find("secret") == std::string::npos);
  CHECK(text.find("a:1") == std::string::npos);
  CHECK(text.find("b:2") == std::string::npos);
  auto c = boost::json::parse(text).at("cluster").as_object();
  CHECK_FALSE(c.contains("address"));
  CHECK_FALSE(c.contains("topics"));
  CHECK(c.at("topic_count") == 2);
  CHECK(c.at("connections") == 5);
  CHECK(c.at("nodes_answered") == 2);
  auto& peer = c.at("peers").at(0).as_object();
  CHECK_FALSE(peer.contains("address"));
  CHECK(peer.at("state") == "up");
  CHECK(peer.at("forwarded") == 10);
  CHECK(peer.at("dropped") == 3);
}

TEST_CASE("/stats?scope=cluster names things only for the API key or the console, when there is an API") {
  namespace http = boost::beast::http;
  auto with = [](const char* auth) {
    net::http_request req{http::verb::get, "/stats?scope=cluster", 11};
    if (auth != nullptr)
      req.set(http::field::authorization, auth);
    return req;
  };
  net::api_settings none;
  CHECK(net::cluster_names_visible(with(nullptr), none));
  net::api_settings keyed;
  keyed.set_keys({{"test", net::digest_of("k3y")}});
  CHECK_FALSE(net::cluster_names_visible(with(nullptr), keyed));
  CHECK_FALSE(net::cluster_names_visible(with("apikey wrong"), keyed));
  CHECK_FALSE(net::cluster_names_visible(with("Bearer k3y"), keyed));
  CHECK(net::cluster_names_visible(with("apikey k3y"), keyed));
  CHECK(net::cluster_names_visible(with("ApiKey k3y"), keyed));
  // A logged-in console page stands in for the key (as for /api/), with or
  // without a key; a console alone makes an API to protect.
  for (auto* settings : {&none, &keyed}) {
    settings->console = std::make_shared<net::console_auth>("a password of 16+ chars");
    auto cookie = std::string{net::console_cookie} + "="
                  + settings->console->issue(net::console_auth::clock::now());
    auto page = with(nullptr);
    page.set(http::field::cookie, cookie);
    page.set("X-Switchboard-Console", "1");
    CHECK(net::cluster_names_visible(page, *settings));
    CHECK_FALSE(net::cluster_names_visible(with(nullptr), *settings));
  }
}

TEST_CASE("api: on a cluster, sends and disconnects say what was forwarded") {
  namespace http = boost::beast::http;
  using net::api_answer;
  net::http_request req{http::verb::post, "/api/send", 11};
  net::api_cluster_view cluster{true, 7};
  auto here = conn_id{7} << 37 | 1, there = conn_id{8} << 37 | 1;
  auto answer = [&](const net::api_call& call, const net::api_reply& reply) {
    auto res = api_answer(req, call, reply, cluster);
    CHECK(res.result() == http::status::ok);
    return boost::json::parse(res.body());
  };
  auto json = [](const char* text) { return boost::json::parse(text); };
  CHECK(answer(send_direct{here, "1", {}}, true) == json(R"({"delivered":1,"forwarded":false})"));
  CHECK(answer(send_direct{there, "1", {}}, true) == json(R"({"delivered":0,"forwarded":true})"));
  CHECK(answer(close_connection{there, 1000, {}}, true)
        == json(R"({"disconnected":0,"forwarded":true})"));
  // A user with no connection here may have some elsewhere: no 404.
  CHECK(answer(send_to_user{"u", "1", {}}, std::uint64_t{0})
        == json(R"({"delivered":0,"forwarded":true})"));
  CHECK(answer(disconnect_user{"u", 1000, {}}, std::uint64_t{2})
        == json(R"({"disconnected":2,"forwarded":true})"));
  // An id of this node that is not here is unknown, as on a single node.
  auto res = api_answer(req, close_connection{here, 1000, {}}, false, cluster);
  CHECK(res.result() == http::status::not_found);
  CHECK(boost::json::parse(res.body()).at("error") == "unknown_connection");
  // Not clustered: as before, without "forwarded".
  CHECK(boost::json::parse(api_answer(req, send_direct{there, "1", {}}, true).body())
        == json(R"({"delivered":1})"));
  CHECK(api_answer(req, send_to_user{"u", "1", {}}, std::uint64_t{0}).result()
        == http::status::not_found);
}

TEST_CASE("a clustered node needs the middleman") {
  caf::actor_system_config cfg;
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  node_config nc;
  nc.port = 0;
  nc.cluster = cluster_settings{};
  auto n = node::start(sys, nc);
  REQUIRE(!n);
  CHECK(sys.render(n.error()).find("cluster needs the middleman: "
                                   "cfg.load<caf::io::middleman>()")
        != std::string::npos);
}

TEST_CASE("a cluster's settings are checked") {
  node_config nc;
  nc.cluster = cluster_settings{};
  nc.cluster->seeds = {"nohost", "h:0", "h:70000", "h:12x", "ok:1"};
  nc.cluster->backlog = 0;
  auto problems = nc.problems();
  auto count = [&](const std::string& what) {
    return std::count_if(problems.begin(), problems.end(), [&](const std::string& p) {
      return p.find(what) != std::string::npos;
    });
  };
  CHECK(count("cluster-seeds") == 4);
  CHECK(count("cluster-backlog") == 1);
  CHECK(count("cluster-host") == 0);
  // A node bound to every interface must say which address peers dial.
  for (auto wildcard : {"0.0.0.0", "::"}) {
    node_config open;
    open.host = wildcard;
    open.cluster = cluster_settings{};
    CHECK(open.problems().size() == 1);
    open.cluster_host = "10.0.0.7";
    CHECK(open.problems().empty());
    open.cluster_host.clear();
    open.cluster->address = "node-a.example:4000";
    CHECK(open.problems().empty());
  }
}

namespace {

struct clustered_system {
  struct config : caf::actor_system_config {
    config() {
      load<caf::io::middleman>();
      switchboard::add_message_types(*this);
      switchboard::add_error_category(*this);
    }
  } cfg;
  caf::actor_system sys{cfg};
};

} // namespace

TEST_CASE("two clustered nodes on real sockets forward a publish and stop in time") {
  auto out = std::make_shared<std::ostringstream>();
  auto log = std::make_shared<spdlog::logger>(
    "two", std::make_shared<spdlog::sinks::ostream_sink_mt>(*out));
  log->set_pattern("%l %v");
  clustered_system one;
  clustered_system two;
  node_config a;
  a.port = 0;
  a.logger = log;
  a.cluster = cluster_settings{};
  auto na = node::start(one.sys, a);
  REQUIRE(na);
  REQUIRE((*na)->cluster_port() != 0);
  REQUIRE((*na)->cluster());
  node_config b = a;
  b.cluster->seeds = {"127.0.0.1:" + std::to_string((*na)->cluster_port())};
  auto nb = node::start(two.sys, b);
  REQUIRE(nb);
  // A listener on b; a publish on a.
  auto got = std::make_shared<std::promise<std::string>>();
  auto listener = two.sys.spawn([got](caf::event_based_actor*) -> caf::behavior {
    auto first = std::make_shared<bool>(true);
    return {[got, first](topic_message& m) {
      if (std::exchange(*first, false))
        got->set_value(m.data);
    }};
  });
  caf::anon_send((*nb)->hub(), add_listener{"t", caf::actor_cast<topic_listener_actor>(listener)});
  // (Generous: CI machines are loaded. The log stream is not read while
  // the nodes run: its sink writes from other threads.)
  auto deadline = std::chrono::steady_clock::now() + 15s;
  auto up = [](caf::actor_system& sys, const caf::actor& cluster) {
    caf::scoped_actor self{sys};
    bool result = false;
    self->request(cluster, 1s, query_cluster{})
      .receive([&](const cluster_info& info) {
                 result = info.peers.size() == 1 && info.peers.front().state == "up";
               },
               [](const caf::error&) {});
    return result;
  };
  auto both_up = [&] {
    return up(one.sys, (*na)->cluster()) && up(two.sys, (*nb)->cluster());
  };
  while (!both_up() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(both_up());
  auto future = got->get_future();
  // The interest travels on its own: publish until it arrived.
  while (future.wait_for(20ms) != std::future_status::ready
         && std::chrono::steady_clock::now() < deadline)
    caf::anon_send((*na)->hub(), publication{"t", "1"});
  REQUIRE(future.wait_for(0s) == std::future_status::ready);
  CHECK(future.get() == "1");
  caf::anon_send_exit(listener, caf::exit_reason::kill);
  auto started = std::chrono::steady_clock::now();
  (*nb)->stop();
  (*na)->stop();
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}
