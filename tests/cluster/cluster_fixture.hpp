#pragma once

// Three simulated CAF nodes (io_dsl's planets earth, mars and jupiter), each
// with a hub and a cluster actor published on its own port, and helpers to
// connect them, add listeners and fake clients, and run everything without
// firing timers (timers fire only when a test says so: redial).

#include "caf_dsl_catch.hpp"

#include "cluster/cluster_state.hpp"
#include "connection/connection.hpp"
#include "testing/fake_transport.hpp"
#include "hub/hub_state.hpp"
#include "protocol.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace cluster_testing {

using namespace switchboard;

struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    switchboard::add_message_types(*this);
    switchboard::add_error_category(*this);
  }
};

using base_fixture = test_coordinator_fixture<config>;
using planet = test_node_fixture<base_fixture>;

/// What a listener received, in order.
using inbox = std::shared_ptr<std::vector<topic_message>>;

/// A fake client's connection on one planet.
struct client {
  caf::actor reader;
  caf::actor writer;
  std::shared_ptr<testing::fake_socket> socket;
  conn_id id = 0;
};

/// One planet's node.
struct node {
  planet* where = nullptr;
  std::string address;
  std::uint16_t port = 0;
  caf::io::accept_handle acceptor;
  hub_internal_actor hub;
  caf::actor cluster;
  std::uint64_t incarnation = 0;
  std::uint16_t tag = 0;

  cluster_state& state() const {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(cluster);
    return dynamic_cast<caf::stateful_actor<cluster_state>&>(*ptr).state;
  }

  cluster_peer& peer(const std::string& address_of_peer) const {
    return state().peers.at(address_of_peer);
  }

  std::size_t members() const {
    auto& peers = state().peers;
    return static_cast<std::size_t>(
      std::count_if(peers.begin(), peers.end(), [](auto& kvp) { return kvp.second.up; }));
  }
};

class fixture : public belt_fixture<base_fixture> {
public:
  fixture();
  ~fixture();

  /// Spawns a hub and a cluster actor on `p`, publishes the cluster actor
  /// on `port` (address "NAME:port") and starts it with `seeds`; it dials
  /// through `dialer` (null: `p`'s middleman actor). Its hub has `topics`
  /// as the topic options of every topic.
  node& start(planet& p, std::string name, std::uint16_t port,
              std::vector<std::string> seeds = {}, std::size_t backlog = 10000,
              caf::io::middleman_actor dialer = {}, topic_options topics = {});

  /// Lets planet `client_side` connect to `server` (one connection).
  std::pair<caf::io::connection_handle, caf::io::connection_handle>
  open_route(node& server, planet& client_side);

  /// Runs every actor and moves every byte until nothing moves; no timer fires.
  void settle();

  /// A listener on `n` for `topic`; what it receives lands in the inbox.
  inbox listen(node& n, const std::string& topic);

  void unlisten(node& n, const std::string& topic);

  /// A fake client on `n` (of `user`), joined and welcomed.
  client connect(node& n, std::string user = {});

  /// The payloads the client received since the last call.
  std::vector<std::string> received(client& c);

  /// Publishes on `n`'s hub, as the server API does.
  void publish_on(node& n, const std::string& topic, const std::string& data);

  /// The log lines written so far.
  std::string log_text() const {
    return log_stream_->str();
  }

  std::shared_ptr<spdlog::logger> log;

private:
  std::shared_ptr<std::ostringstream> log_stream_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<std::pair<planet*, caf::actor>> listeners_;
  std::vector<std::pair<planet*, caf::actor>> clients_;
  std::vector<std::pair<std::string, caf::actor>> listener_of_;
};

} // namespace cluster_testing
