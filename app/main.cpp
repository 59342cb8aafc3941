// The switchboard CLI node: parse options, start a node, wait for SIGINT or
// SIGTERM, stop gracefully, exit 0. Wiring only.

#include "config.hpp"

#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <pthread.h>

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  switchboard::app::config cfg;
  switchboard::add_error_category(cfg);
  switchboard::add_message_types(cfg);
  if (auto err = cfg.parse(argc, argv)) {
    fmt::print(stderr, "switchboard: {}\n", caf::to_string(err));
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (auto problem = cfg.admission.validate()) {
    fmt::print(stderr, "switchboard: {}\n", *problem);
    return 2;
  }

  caf::actor_system sys{cfg};
  auto node = switchboard::node::start(sys, cfg.node());
  if (!node) {
    fmt::print(stderr, "switchboard: {}\n", sys.render(node.error()));
    return 1;
  }
  fmt::print("switchboard listening on {}\n", (*node)->url());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*node)->stop();
  return 0;
}
