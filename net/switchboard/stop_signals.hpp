#pragma once

/// Waiting for the signals that stop a process (SIGINT, SIGTERM), for an
/// application that embeds a node (docs/embedding.md, "Signals"). The
/// library itself installs no signal handler; this is the pattern the CLI
/// uses, for your main() to use too.
///
/// POSIX delivers a process-directed signal to any one thread that does not
/// block it, and CAF, Asio and the node start threads of their own. So the
/// signals are blocked before any of them exists (threads inherit the mask)
/// and a thread of this object takes them with sigwait(): construct it first
/// thing in main(), before the actor_system. That rules out CAF_MAIN, which
/// starts the system before your code runs.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>

namespace switchboard {

class node;

class stop_signals {
public:
  /// Blocks SIGINT, SIGTERM and the signals in `more` (SIGHUP, say) in the
  /// calling thread, and starts the thread that waits for them. The
  /// signals stay blocked for good, also after destruction (one that comes
  /// later stays pending and does nothing).
  explicit stop_signals(std::initializer_list<int> more = {});

  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  /// Ends its thread.
  ~stop_signals();

  /// The next signal received (each signal once, in the order they came,
  /// those that came before the call included), or none once `timeout`
  /// has passed.
  std::optional<int> wait_for(std::chrono::nanoseconds timeout);

  /// The next signal received, or none once `n` has stopped by itself (its
  /// lifetime actor has exited: the hub terminated; n.wait() says why) or
  /// had stopped already. A signal that came first is returned first.
  std::optional<int> wait(const node& n);

private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace switchboard
