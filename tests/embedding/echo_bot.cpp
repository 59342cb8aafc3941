// The example of docs/embedding.md: a CAF application that embeds a
// switchboard node and serves its clients with an ordinary actor.
//
// The bot (echo_bot.hpp) answers what clients publish on "questions".
// Run: echo_bot [--port=N]; stop with SIGINT/SIGTERM.

#include "echo_bot.hpp"
#include "switchboard/node.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <pthread.h>

using namespace switchboard;

class config : public caf::actor_system_config {
public:
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
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  config cfg;
  if (auto err = cfg.parse(argc, argv))
    return 2;
  caf::actor_system sys{cfg};

  // One call starts a hub and a WebSocket listener inside this system.
  node_config ncfg;
  ncfg.port = cfg.port;
  auto node = node::start(sys, ncfg);
  if (!node) {
    std::fprintf(stderr, "%s\n", sys.render(node.error()).c_str());
    return 1;
  }
  sys.spawn(echo_bot, (*node)->hub());
  std::printf("echo_bot listening on %s\n", (*node)->url().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  (*node)->stop(); // clients get close 1001; the hub and the pairs exit
  return 0;
}
