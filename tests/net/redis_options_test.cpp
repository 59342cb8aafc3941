// The Redis options (--redis, --redis-password, --redis-prefix,
// --redis-timeout): read into node_config, checked by problems().

#include "redis/redis_servers.hpp"
#include "switchboard/node_options.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace std::chrono_literals;

namespace {

struct cli_config : caf::actor_system_config {
  cli_config() {
    switchboard::add_node_options(custom_options_, "global");
  }
};

// The problems of a node started with `args`.
std::vector<std::string> problems_of(std::vector<std::string> args) {
  cli_config cfg;
  std::istringstream none;
  auto err = cfg.parse(std::move(args), none);
  INFO(caf::to_string(err));
  REQUIRE(!err);
  std::vector<std::string> problems;
  auto nc = switchboard::node_config_from(cfg, problems, "global");
  for (auto& p : nc.problems())
    problems.push_back(p);
  return problems;
}

bool has(const std::vector<std::string>& problems, const std::string& part) {
  for (auto& p : problems)
    if (p.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("redis options: read into node_config") {
  cli_config cfg;
  std::istringstream none;
  REQUIRE(!cfg.parse({"--redis=127.0.0.1:6379,10.0.0.2:6380", "--redis-password=pw",
                      "--redis-prefix=app:", "--redis-timeout=500ms"},
                     none));
  std::vector<std::string> problems;
  auto nc = switchboard::node_config_from(cfg, problems, "global");
  CHECK(problems.empty());
  CHECK(nc.problems().empty());
  CHECK(nc.redis == "127.0.0.1:6379,10.0.0.2:6380");
  CHECK(nc.redis_password == "pw");
  CHECK(nc.redis_prefix == "app:");
  CHECK(nc.redis_timeout == 500ms);
  // Defaults.
  switchboard::node_config defaults;
  CHECK(defaults.redis.empty());
  CHECK(defaults.redis_prefix == "switchboard:");
  CHECK(defaults.redis_timeout == 2s);
}

TEST_CASE("redis options: impossible values are problems") {
  for (auto bad : {"--redis=localhost", "--redis=:6379", "--redis=h:0", "--redis=h:70000",
                   "--redis=h:1,", "--redis=h:6379,,h:6380", "--redis=h:x"})
    CHECK(has(problems_of({bad}), "is not host:port"));
  CHECK(has(problems_of({"--redis=h:6379", "--redis-timeout=1ms"}),
            "redis-timeout must be at least 10ms"));
  CHECK(has(problems_of({"--redis-password=pw"}), "redis-password needs redis"));
}

TEST_CASE("redis options: a cluster with history needs --redis") {
  auto clustered = problems_of({"--cluster-port=7001", "--history-size=100"});
  CHECK(has(clustered, "a cluster keeps history in Redis"));
  CHECK(problems_of({"--cluster-port=7001", "--history-size=100", "--redis=127.0.0.1:6379"})
          .empty());
  // No history, or no cluster: no Redis needed.
  CHECK(problems_of({"--cluster-port=7001"}).empty());
  CHECK(problems_of({"--history-size=100"}).empty());
  // A namespace with history counts too.
  cli_config cfg;
  std::istringstream file{"cluster-port=7001\n[namespaces]\nchat={history-size=10}\n"};
  REQUIRE(!cfg.parse({}, file));
  std::vector<std::string> problems;
  auto nc = switchboard::node_config_from(cfg, problems, "global");
  CHECK(has(nc.problems(), "a cluster keeps history in Redis"));
  // An application's own shared store does instead.
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  nc.hub.history_store = sys.spawn([] { return caf::behavior{[](int) {}}; });
  CHECK_FALSE(has(nc.problems(), "a cluster keeps history in Redis"));
  caf::anon_send_exit(nc.hub.history_store, caf::exit_reason::user_shutdown);
}

TEST_CASE("redis options: the server list, in order, IPv6 in brackets") {
  auto s = switchboard::net::redis_servers_of("a:1,[::1]:6379,10.0.0.2:65535");
  REQUIRE(s);
  REQUIRE(s->size() == 3);
  CHECK((*s)[0].host == "a");
  CHECK((*s)[0].port == 1);
  CHECK((*s)[1].host == "::1");
  CHECK((*s)[2].port == 65535);
}
