// The switchboard CLI node: parse options, start a node, run until SIGINT or
// SIGTERM (graceful stop, exit 0) or until the hub dies (exit 1). Wiring only.

#include "auth.hpp"
#include "config.hpp"

#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <pthread.h>
#include <thread>

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
  if (auto problems = cfg.problems(); !problems.empty()) {
    for (auto& p : problems)
      fmt::print(stderr, "switchboard: {}\n", p);
    return 2;
  }

  std::optional<switchboard::jwt_verifier> verifier;
  if (cfg.auth == "jwt") {
    auto v = switchboard::app::make_verifier(cfg);
    if (!v) {
      fmt::print(stderr, "switchboard: {}\n", switchboard::app::describe(v.error()));
      return 2;
    }
    verifier = std::move(*v);
  }
  if (auto warning = switchboard::app::open_node_warning(cfg))
    fmt::print(stderr, "switchboard: {}\n", *warning);

  caf::actor_system sys{cfg};
  auto ncfg = cfg.node();
  if (verifier)
    // The reason only: the request, and with it the token, stays out of the log.
    ncfg.authenticator = sys.spawn(
      switchboard::jwt_authenticator, *verifier,
      [](const std::string& address, const std::string& reason) {
        fmt::print(stderr, "switchboard: upgrade from {} refused (401): {}\n", address,
                   reason);
      });
  // The CLI owns the process: it may hand freed memory back to the system.
  ncfg.trim_memory_interval = std::chrono::seconds(30);
  auto node = switchboard::node::start(sys, ncfg);
  if (!node) {
    fmt::print(stderr, "switchboard: {}\n", sys.render(node.error()));
    return 1;
  }
  fmt::print("switchboard listening on {}\n", (*node)->url());
  std::fflush(stdout);

  // A signal starts the graceful stop; the hub's end (after that stop, or
  // because it died) ends the wait below.
  std::thread signals([n = node->get(), &stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0)
      n->request_stop();
  });
  auto reason = (*node)->wait();
  (*node)->stop();
  if (reason) {
    fmt::print(stderr, "switchboard: the hub terminated: {}\n", sys.render(reason));
    // Nobody waits for a signal any more: wake the signal thread.
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    return 1;
  }
  signals.join();
  return 0;
}
