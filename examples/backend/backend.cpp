// backend [--port=N] [--counter-port=N]: a CAF application that publishes
// one of its own actors over CAF's middleman (BASP) and runs an embedded
// switchboard node in the same actor system. Written the way much CAF code
// is, with all three using-directives: every name below resolves without
// ambiguity.
#include "counter.hpp"

#include <switchboard/node.hpp>
#include <switchboard/stop_signals.hpp>

#include <caf/io/all.hpp>

#include <csignal>
#include <cstdio>

using namespace caf;
using namespace caf::io;
using namespace switchboard;

namespace {

struct config : actor_system_config {
  std::uint16_t port = 0;
  std::uint16_t counter_port = 0;

  config() {
    opt_group{custom_options_, "global"}
      .add(port, "port", "WebSocket port (0 picks one)")
      .add(counter_port, "counter-port", "port of the counter actor (0 picks one)");
    load<middleman>();
    // Qualified: inside a config class, actor_system_config's own members
    // of these names hide the namespace's.
    switchboard::add_error_category(*this);
    // switchboard's types first, the application's own map after: the map
    // keeps the application's name (switchboard registers only its own types).
    switchboard::add_message_types(*this);
    backend::add_backend_types(*this);
  }
};

backend::counter_actor::behavior_type counter(backend::counter_actor::pointer self,
                                              hub_actor hub) {
  for (auto topic : {"orders", "returns"})
    self->request(hub, infinite, add_listener{topic, self}).then([](bool) {});
  auto counts = std::make_shared<backend::tally>();
  return {
    [counts](const topic_message& msg) { ++(*counts)[msg.topic]; },
    [counts](backend::tally_atom) { return *counts; },
  };
}

} // namespace

int main(int argc, char** argv) {
  stop_signals signals; // first: before any thread exists
  std::signal(SIGPIPE, SIG_IGN);
  config cfg;
  if (auto err = cfg.parse(argc, argv))
    return 2;
  actor_system sys{cfg};
  node_config ncfg;
  ncfg.port = cfg.port;
  auto n = node::start(sys, ncfg);
  if (!n) {
    std::fprintf(stderr, "backend: %s\n", sys.render(n.error()).c_str());
    return 1;
  }
  auto c = sys.spawn(counter, (*n)->hub());
  auto port = publish(c, cfg.counter_port, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "backend: %s\n", sys.render(port.error()).c_str());
    return 1;
  }
  std::printf("backend listening on %s counter on %u\n", (*n)->url().c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);
  signals.wait(**n);
  (*n)->stop();
  return 0;
}
