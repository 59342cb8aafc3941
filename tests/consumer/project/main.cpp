// greeter [--port=N]: a CAF application with an embedded switchboard node.
#include "greeter.hpp"

#include <switchboard/node.hpp>

#include <csignal>
#include <cstdio>

struct config : caf::actor_system_config {
  std::uint16_t port = 0;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port", "port, 0 picks one");
    switchboard::add_error_category(*this);
    switchboard::add_message_types(*this);
  }
};

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  config cfg;
  if (cfg.parse(argc, argv))
    return 2;
  caf::actor_system sys{cfg};
  switchboard::node_config ncfg;
  ncfg.port = cfg.port;
  auto node = switchboard::node::start(sys, ncfg);
  if (!node)
    return 1;
  sys.spawn(greeter, (*node)->hub());
  std::printf("greeter listening on %s\n", (*node)->url().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  (*node)->stop();
  return 0;
}
