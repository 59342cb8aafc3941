// The node's options in an application's own actor_system_config
// (switchboard/node_options.hpp): declared under a category, read from the
// command line and a config file into a node_config, checked, dumped.

#include "switchboard/node_options.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace std::chrono_literals;

namespace {

// An application's config: its own option next to the node's.
struct app_config : caf::actor_system_config {
  explicit app_config(caf::string_view category = switchboard::default_option_category) {
    opt_group{custom_options_, "app"}.add(greeting, "greeting", "the app's own option");
    switchboard::add_node_options(custom_options_, category);
  }
  std::string greeting = "hello";
};

// Parses `args` and the config file text `file`; fails the test on a parse error.
void parse(app_config& cfg, std::vector<std::string> args, const std::string& file = {}) {
  std::istringstream in{file};
  auto err = cfg.parse(std::move(args), in);
  INFO(caf::to_string(err));
  REQUIRE(!err);
}

} // namespace

TEST_CASE("node options: unset options give node_config's defaults") {
  app_config cfg;
  parse(cfg, {});
  std::vector<std::string> problems;
  auto n = switchboard::node_config_from(cfg, problems);
  CHECK(problems.empty());
  switchboard::node_config defaults;
  CHECK(n.host == defaults.host);
  CHECK(n.port == defaults.port);
  CHECK(n.connection.ping_interval == defaults.connection.ping_interval);
  CHECK(n.connection.send_queue_frames == defaults.connection.send_queue_frames);
  CHECK(n.io_threads == defaults.io_threads);
  CHECK(n.hub.client_send == defaults.hub.client_send);
  CHECK(!n.cluster);
  CHECK(n.problems().empty());
}

TEST_CASE("node options: the command line and a config file, the command line wins") {
  app_config cfg;
  parse(cfg,
        {"--switchboard.port=9000", "--switchboard.ping-interval=2s",
         "--switchboard.client-send=off",
         "--switchboard.allowed-origins=https://a.example, https://b.example",
         "--app.greeting=hi"},
        "switchboard {\n  port = 7000\n  client-rate = 50\n  send-queue = 64\n"
        "  api-key = \"k\"\n  cluster-port = 4000\n  cluster-seeds = \"h:1,h:2\"\n}\n");
  std::vector<std::string> problems;
  auto n = switchboard::node_config_from(cfg, problems);
  CHECK(problems.empty());
  CHECK(n.port == 9000);
  CHECK(n.connection.ping_interval == 2s);
  CHECK(!n.hub.client_send);
  CHECK(n.allowed_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  // A whole number in the file is a valid rate.
  CHECK(n.connection.client_rate == 50.0);
  CHECK(n.connection.send_queue_frames == 64);
  CHECK(n.api_key == "k");
  REQUIRE(n.cluster);
  CHECK(n.cluster_port == 4000);
  CHECK(n.cluster->seeds == std::vector<std::string>{"h:1", "h:2"});
  // The application's own option is untouched by the node's.
  CHECK(cfg.greeting == "hi");
}

TEST_CASE("node options: the global category gives the CLI's flag names") {
  app_config cfg{"global"};
  parse(cfg, {"--port=9100", "--max-topics=7"});
  std::vector<std::string> problems;
  auto n = switchboard::node_config_from(cfg, problems, "global");
  CHECK(problems.empty());
  CHECK(n.port == 9100);
  CHECK(n.hub.max_topics == 7);
}

TEST_CASE("node options: values the options cannot represent are problems, named") {
  app_config cfg;
  parse(cfg, {"--switchboard.client-send=maybe", "--switchboard.cluster-seeds=h:1",
              "--switchboard.cluster-heartbeat-interval=5ms"});
  std::vector<std::string> problems;
  switchboard::node_config_from(cfg, problems);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == R"(client-send must be on or off (got "maybe"))");
  CHECK(problems[1] == "cluster-heartbeat-interval must be at least 10ms");
  CHECK(problems[2] == "cluster-seeds and cluster-host need cluster-port");
}

TEST_CASE("node options: delivery-coalesce is 1ms unless set, 0s turns it off, past 100ms "
          "is a problem") {
  auto from = [](std::vector<std::string> args) {
    app_config cfg;
    parse(cfg, std::move(args));
    std::vector<std::string> problems;
    auto n = switchboard::node_config_from(cfg, problems);
    CHECK(problems.empty());
    return n;
  };
  CHECK(from({}).hub.delivery_coalesce == 1ms);
  auto off = from({"--switchboard.delivery-coalesce=0s"});
  CHECK(off.hub.delivery_coalesce == 0s);
  CHECK(off.problems().empty());
  auto most = from({"--switchboard.delivery-coalesce=100ms"});
  CHECK(most.problems().empty());
  auto longer = from({"--switchboard.delivery-coalesce=200ms"});
  CHECK(longer.problems()
        == std::vector<std::string>{"delivery-coalesce must be between 0s and 100ms"});
  longer.hub.delivery_coalesce = -1ms;
  CHECK(longer.problems()
        == std::vector<std::string>{"delivery-coalesce must be between 0s and 100ms"});
}

TEST_CASE("node options: a cluster loads the middleman with its heartbeat settings") {
  app_config plain;
  parse(plain, {});
  switchboard::prepare_node_options(plain);
  CHECK(plain.module_factories.empty());
  app_config clustered;
  parse(clustered,
        {"--switchboard.cluster-port=4000", "--switchboard.cluster-connection-timeout=2s"});
  switchboard::prepare_node_options(clustered);
  CHECK(clustered.module_factories.size() == 1);
  CHECK(caf::get_or(clustered, "middleman.heartbeat-interval", caf::timespan{0}) == 500ms);
  CHECK(caf::get_or(clustered, "middleman.connection-timeout", caf::timespan{0}) == 2s);
}

TEST_CASE("node options: cluster TLS loads CAF's OpenSSL module with the three files") {
  app_config cfg;
  parse(cfg, {"--switchboard.cluster-port=4000", "--switchboard.cluster-tls-cert=n.pem",
              "--switchboard.cluster-tls-key=n.key", "--switchboard.cluster-tls-ca=ca.pem"});
  std::vector<std::string> problems;
  auto n = switchboard::node_config_from(cfg, problems);
  CHECK(problems.empty());
  CHECK(n.problems().empty());
  CHECK(n.cluster_tls_cert == "n.pem");
  switchboard::prepare_node_options(cfg);
  // The middleman, then the OpenSSL module.
  CHECK(cfg.module_factories.size() == 2);
  CHECK(cfg.openssl_certificate == "n.pem");
  CHECK(cfg.openssl_key == "n.key");
  CHECK(cfg.openssl_cafile == "ca.pem");
  CHECK(cfg.openssl_capath.empty());
}

TEST_CASE("node options: cluster TLS takes all three files, and a cluster") {
  for (auto args : std::vector<std::vector<std::string>>{
         {"--switchboard.cluster-tls-cert=n.pem"},
         {"--switchboard.cluster-tls-cert=n.pem", "--switchboard.cluster-tls-key=n.key"},
         {"--switchboard.cluster-tls-ca=ca.pem"}}) {
    app_config cfg;
    args.emplace_back("--switchboard.cluster-port=4000");
    parse(cfg, args);
    std::vector<std::string> ignored;
    auto problems = switchboard::node_config_from(cfg, ignored).problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("go together") != std::string::npos);
    // Nothing half-configured reaches CAF (its module raises at start).
    switchboard::prepare_node_options(cfg);
    CHECK(cfg.module_factories.size() == 1);
  }
  app_config unclustered;
  parse(unclustered, {"--switchboard.cluster-tls-cert=n.pem", "--switchboard.cluster-tls-key=n.key",
                      "--switchboard.cluster-tls-ca=ca.pem"});
  std::vector<std::string> ignored;
  auto problems = switchboard::node_config_from(unclustered, ignored).problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "cluster-tls-cert, -key and -ca need cluster-port");
}

TEST_CASE("node options: the dump shows every option's effective value, secrets hidden") {
  app_config cfg;
  parse(cfg, {"--switchboard.api-key=secret", "--switchboard.port=9000"});
  caf::settings dump;
  switchboard::dump_node_options(cfg, dump);
  CHECK(caf::get_or(dump, "switchboard.port", std::uint16_t{0}) == 9000);
  CHECK(caf::get_or(dump, "switchboard.api-key", std::string{}) == "(set, not shown)");
  // Not set: the value it takes effect with.
  CHECK(caf::get_or(dump, "switchboard.send-queue", std::size_t{0}) == 256);
  CHECK(caf::get_or(dump, "switchboard.client-send", std::string{}) == "on");
  CHECK(caf::get_or(dump, "switchboard.cluster-heartbeat-interval", caf::timespan{0}) == 500ms);
}

TEST_CASE("node options: a clustered node's dump shows the middleman's values in force") {
  // CAF's own dump is made while parsing, before prepare_node_options sets
  // the middleman's heartbeat: the node's dump must say what will apply.
  app_config cfg;
  parse(cfg, {"--switchboard.cluster-port=4000", "--switchboard.cluster-connection-timeout=2s"});
  auto dump = cfg.dump_content();
  switchboard::dump_node_options(cfg, dump);
  CHECK(caf::get_or(dump, "middleman.heartbeat-interval", caf::timespan{0}) == 500ms);
  CHECK(caf::get_or(dump, "middleman.connection-timeout", caf::timespan{0}) == 2s);
}

TEST_CASE("node options: history and presence, namespaces in the options' category") {
  app_config cfg;
  parse(cfg, {"--switchboard.history-size=10", "--switchboard.presence=true",
              "--switchboard.send-buffer=200000"},
        "switchboard {\n  namespaces {\n    chat {\n      history-size = 100\n"
        "      history-ttl = 10min\n      join-leave = true\n    }\n  }\n}\n");
  std::vector<std::string> problems;
  auto n = switchboard::node_config_from(cfg, problems);
  CHECK(problems.empty());
  CHECK(n.hub.topic_defaults.history_size == 10);
  CHECK(n.hub.topic_defaults.presence);
  REQUIRE(n.hub.namespaces.count("chat") == 1);
  auto& chat = n.hub.namespaces.at("chat");
  CHECK(chat.history_size == 100);
  CHECK(chat.history_ttl == 10min);
  CHECK(chat.join_leave);
  CHECK(!chat.presence);
  // A replay may take half the send buffer.
  CHECK(n.hub.replay_max_bytes == 100000);
  app_config bad;
  parse(bad, {"--switchboard.presence=maybe"},
        "switchboard {\n  namespaces {\n    chat {\n      colour = 1\n    }\n  }\n}\n");
  problems.clear();
  switchboard::node_config_from(bad, problems);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == R"(presence must be true or false (got "maybe"))");
  CHECK(problems[1].find("namespace chat: unknown option colour") == 0);
}
