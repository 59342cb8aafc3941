#pragma once

// The node's options: CAF config options, so they work as --name=value flags
// and in a CAF config file (caf-application.ini).

#include "switchboard/node.hpp"

#include <caf/all.hpp>

namespace switchboard::app {

class config : public caf::actor_system_config {
public:
  config();

  /// The node settings the options describe.
  node_config node() const;

  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  caf::timespan ping_interval = std::chrono::seconds(25);
  caf::timespan pong_timeout = std::chrono::seconds(10);
  std::size_t max_message_size = 64 * 1024;
  std::size_t send_queue = 256;
  std::size_t send_buffer = 1024 * 1024;
  caf::timespan handshake_timeout = std::chrono::seconds(10);
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  std::size_t io_threads = node_config::default_io_threads();
  /// --max-connections, --max-connections-per-address, --handshake-rate,
  /// --handshake-burst; check with admission.validate().
  admission_limits admission;
};

} // namespace switchboard::app
