// chat [--config-file=chat.conf] [--switchboard.port=N] ...: a CAF
// application with an embedded switchboard node, configured from its own
// config file (the node's options under `switchboard { ... }`, the same
// names as the switchboard CLI's), with a service, an authorizer, a
// listener, an observer and a backend actor publishing on a timer.
// SIGINT or SIGTERM stops it gracefully.
#include "chat.hpp"

#include <switchboard/node.hpp>
#include <switchboard/node_options.hpp>
#include <switchboard/stop_signals.hpp>

#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct config : caf::actor_system_config {
  caf::timespan tick_interval = std::chrono::milliseconds(100);

  config() {
    opt_group{custom_options_, "chat"}.add(tick_interval, "tick-interval",
                                           "how often the ticker publishes");
    switchboard::add_node_options(custom_options_); // --switchboard.port=9000, ...
    switchboard::add_error_category(*this);
    switchboard::add_message_types(*this);
  }
};

} // namespace

int main(int argc, char** argv) {
  // The library installs no signal handlers. stop_signals blocks SIGINT and
  // SIGTERM before any thread starts (every thread inherits the mask) and
  // takes them on a thread of its own, so it must come first: this is also
  // why there is no CAF_MAIN here (request_stop is not async-signal-safe,
  // so a signal handler could not stop the node).
  switchboard::stop_signals signals;
  std::signal(SIGPIPE, SIG_IGN);

  config cfg;
  if (auto err = cfg.parse(argc, argv, "chat.conf")) {
    std::fprintf(stderr, "chat: %s\n", cfg.render(err).c_str());
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  switchboard::prepare_node_options(cfg); // the middleman, if clustered
  caf::actor_system sys{cfg};

  std::vector<std::string> problems;
  auto ncfg = switchboard::node_config_from(cfg, problems);
  for (auto& p : ncfg.problems())
    problems.push_back(std::move(p));
  if (!problems.empty()) {
    for (auto& p : problems)
      std::fprintf(stderr, "chat: %s\n", p.c_str());
    return 2;
  }
  ncfg.hub.authorizer = sys.spawn(chat::moderator);
  auto node = switchboard::node::start(sys, ncfg);
  if (!node) {
    std::fprintf(stderr, "chat: %s\n", sys.render(node.error()).c_str());
    return 1;
  }
  auto hub = (*node)->hub();
  sys.spawn(chat::bot, hub);
  sys.spawn(chat::lobby_stats, hub);
  caf::anon_send(hub, switchboard::add_observer{sys.spawn(chat::audit)});
  auto ticker = sys.spawn(chat::ticker, hub, cfg.tick_interval);
  std::printf("chat listening on %s\n", (*node)->url().c_str());
  std::fflush(stdout);

  // A signal, or the node stopping by itself (its hub died).
  if (auto sig = signals.wait(**node))
    std::printf("chat: signal %d, stopping\n", *sig);
  std::fflush(stdout);
  caf::anon_send_exit(ticker, caf::exit_reason::user_shutdown);
  (*node)->stop();
  // The service, the listener and the observer were registered with the
  // hub: it sent them an exit (shutdown) as it ended. The authorizer is
  // held by the hub's settings only and went with it. So the actor
  // system's destructor, next, waits for nobody.
  if (auto err = (*node)->wait()) {
    std::fprintf(stderr, "chat: the node failed: %s\n", sys.render(err).c_str());
    return 1;
  }
  return 0;
}
