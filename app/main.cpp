// The switchboard CLI node: parse options, start a node, run until SIGINT or
// SIGTERM (graceful final stop, close 1001, exit 0), SIGUSR2 (graceful
// restart stop, close 1012, exit 0) or until the hub dies (exit 1); SIGHUP
// reloads the TLS certificate and key, the JWT keys and the allowed origins.
// --check-config checks and exits. Wiring only.

#include "api_keys.hpp"
#include "auth.hpp"
#include "check_config.hpp"
#include "config.hpp"

#include "switchboard/log_format.hpp"
#include "switchboard/stop_signals.hpp"
#include "switchboard/version.hpp"

#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>
#include <unistd.h>

namespace {

// An error as a log field's value (switchboard/log_format.hpp).
std::string describe(const caf::error& err) {
  return switchboard::log_value(switchboard::describe_error(err));
}

} // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask and
  // only this object sees SIGINT, SIGTERM, SIGHUP and SIGUSR2.
  switchboard::stop_signals signals{SIGHUP, SIGUSR2};
  std::signal(SIGPIPE, SIG_IGN);

  // Every line the node writes to stderr goes through this logger (the
  // library logs to it too: node_config::logger). Colors only on a terminal.
  auto log = spdlog::stderr_color_mt("switchboard");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  switchboard::app::config cfg;
  switchboard::add_error_category(cfg);
  switchboard::add_message_types(cfg);
  if (auto err = cfg.parse(argc, argv)) {
    log->error("{}", switchboard::app::describe(err));
    return 2;
  }
  if (cfg.log_format == "json")
    log->set_formatter(switchboard::make_json_log_formatter());
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.print_version) {
    fmt::print("switchboard {}\n", switchboard::version);
    return 0;
  }
  if (cfg.check_only) {
    // One problem per line on stderr, the verdict on stdout: for scripts
    // and ExecStartPre= alike.
    auto problems = switchboard::app::check_config(cfg);
    for (auto& p : problems)
      fmt::print(stderr, "{}\n", p);
    if (problems.empty())
      fmt::print("configuration OK\n");
    return problems.empty() ? 0 : 2;
  }
  if (auto problems = cfg.problems(); !problems.empty()) {
    for (auto& p : problems)
      log->error("{}", p);
    return 2;
  }
  log->set_level(spdlog::level::from_str(cfg.log_level));

  std::optional<switchboard::jwt_verifier> verifier;
  if (cfg.auth == "jwt") {
    auto v = switchboard::app::make_verifier(cfg);
    if (!v) {
      log->error("{}", switchboard::app::describe(v.error()));
      return 2;
    }
    verifier = std::move(*v);
  }
  auto ncfg = cfg.node();
  if (auto warning = switchboard::app::open_node_warning(cfg, ncfg))
    log->warn("{}", *warning);

  cfg.prepare_cluster();
  caf::actor_system sys{cfg};
  // Destroying the actor system can hang while a middleman connect is in
  // flight (docs/cluster.md): a clustered process that has stopped ends
  // after shutdown-timeout at the latest.
  auto finish = [clustered = ncfg.cluster.has_value(), t = ncfg.connection.shutdown_timeout,
                 log](int code) {
    log->info("switchboard exits status={}", code);
    if (clustered)
      std::thread{[code, t] {
        std::this_thread::sleep_for(t);
        std::fflush(nullptr);
        _exit(code);
      }}.detach();
    return code;
  };
  // Kept for SIGHUP (a new verifier); destroyed before the actor system.
  switchboard::jwt_authenticator_actor jwt;
  if (verifier)
    // Refusals are logged by the node (reason and address, never the token).
    ncfg.authenticator = jwt = sys.spawn(switchboard::jwt_authenticator, *verifier,
                                         switchboard::jwt_refusal_hook{});
  // The CLI owns the process: it may hand freed memory back to the system.
  ncfg.trim_memory_interval = std::chrono::seconds(30);
  ncfg.logger = log;
  auto node = switchboard::node::start(sys, ncfg);
  // The node holds its own handle; ours (ncfg outlives sys) would keep the
  // actor system's destructor waiting for the authenticator for ever.
  ncfg.authenticator = nullptr;
  if (!node) {
    log->error("the node did not start error={}", describe(node.error()));
    return finish(1);
  }
  // stdout's first line tells scripts (and the e2e tests) the port.
  fmt::print("switchboard listening on {}\n", (*node)->url());
  std::fflush(stdout);
  log->info("switchboard {} listening on {}", switchboard::version, (*node)->url());

  // A stop signal starts the graceful stop; SIGHUP reloads the files and
  // waits on (a failed reload keeps what is in force). A hub that dies
  // ends the wait as well.
  while (auto sig = signals.wait(**node)) {
    if (*sig != SIGHUP) {
      log->info("stop signal received signal=SIG{}", sigabbrev_np(*sig));
      // SIGUSR2: the node comes back (close 1012, clients reconnect soon);
      // SIGINT and SIGTERM: it goes away (1001).
      (*node)->request_stop(*sig == SIGUSR2 ? switchboard::stop_mode::restart
                                            : switchboard::stop_mode::final_stop);
      break;
    }
    switchboard::app::reload_api_keys(cfg, **node, *log);
    // A node without TLS has no certificate to read again: no error line
    // for it (SIGHUP reloads the other files as well).
    if (!ncfg.tls_cert.empty()) {
      if (auto err = (*node)->reload_tls())
        log->error("SIGHUP: TLS not reloaded, keeping the current certificate error={}",
                   describe(err));
      else
        log->info("SIGHUP: TLS certificate, key and CA reloaded");
    }
    // JWT keys and allowed origins (app/auth.hpp).
    switchboard::app::reload_auth(cfg, jwt, **node, *log);
  }
  auto reason = (*node)->wait();
  (*node)->stop();
  if (reason) {
    log->error("the hub terminated error={}", describe(reason));
    return finish(1);
  }
  return finish(0);
}
