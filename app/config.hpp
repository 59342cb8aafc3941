#pragma once

// The node's options: CAF config options, so they work as --name=value flags
// and in a CAF config file (caf-application.ini).

#include "switchboard/node.hpp"

#include <caf/all.hpp>

#include <string>
#include <vector>

namespace switchboard::app {

class config : public caf::actor_system_config {
public:
  config();

  /// The node settings the options describe.
  node_config node() const;

  /// What is wrong with the options beyond what node_config::problems()
  /// checks (values CAF's parser accepts but we do not).
  std::vector<std::string> problems() const;

  /// CAF's dump (--dump-config) plus every switchboard option with the
  /// value the node runs with, set or not: the effective configuration.
  caf::settings dump_content() const override;

  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  caf::timespan ping_interval = std::chrono::seconds(25);
  caf::timespan pong_timeout = std::chrono::seconds(10);
  std::size_t max_message_size = 64 * 1024;
  std::size_t send_queue = 256;
  std::size_t send_buffer = 1024 * 1024;
  caf::timespan handshake_timeout = std::chrono::seconds(10);
  caf::timespan close_timeout = std::chrono::seconds(2);
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  std::size_t io_threads = node_config::default_io_threads();
  std::size_t max_topics_per_connection = 128;
  std::size_t max_topics = 1'000'000;
  /// on/off (also true/false): CAF flags cannot be turned off on the
  /// command line, so this one is a word.
  std::string client_send = "on";
  double client_rate = 100;
  std::size_t client_burst = 200;
  caf::timespan client_rate_grace = std::chrono::seconds(10);
  /// --max-connections, --max-connections-per-address, --handshake-rate,
  /// --handshake-burst; check with admission.validate().
  admission_limits admission;
  /// trace, debug, info, warn, error or off.
  std::string log_level = "info";
  /// --version: print the version and exit.
  bool print_version = false;
  /// Client authentication (app/auth.hpp): none or jwt.
  std::string auth = "none";
  std::string jwt_secret;
  std::string jwt_public_key; ///< a PEM file
  caf::timespan jwt_leeway = std::chrono::seconds(30);
  /// Accept tokens without `exp` (their connections never expire).
  bool jwt_allow_no_exp = false;
  /// Comma-separated origins; empty: any.
  std::string allowed_origins;
  /// The server API (docs/api.md); empty: no API.
  std::string api_key;
  std::size_t api_max_body = 1024 * 1024;
  /// The cluster (docs/cluster.md): port 0 = not clustered.
  std::uint16_t cluster_port = 0;
  std::string cluster_host; ///< empty: --host
  std::string cluster_seeds; ///< comma-separated host:port
  std::size_t cluster_backlog = 10000;
  caf::timespan cluster_heartbeat_interval = std::chrono::milliseconds(500);
  caf::timespan cluster_connection_timeout = std::chrono::seconds(3);

  /// When clustering, loads CAF's middleman and sets its heartbeat options
  /// (before the actor system starts; otherwise no middleman, no port).
  void prepare_cluster();
  /// TLS (docs/security.md): PEM files; SIGHUP reads them again.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// permessage-deflate for clients that offer it (docs/protocol.md).
  bool compression = false;
};

} // namespace switchboard::app
