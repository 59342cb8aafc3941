// stop_signals: a signal sent to the process is returned by a wait, a
// timeout returns none, and so does a node that stops by itself. Each case
// runs in a child process: it blocks signals for good, which the test
// runner's own process must not, and the child has a single thread when it
// blocks them (as main() has), so no other thread can take the signal.

#include "switchboard/node.hpp"
#include "switchboard/stop_signals.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

/// Runs `body` in a child process and returns its exit code (0: passed;
/// -1: it did not end within 20 s, or it died of a signal).
int in_child(const std::function<int()>& body) {
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0)
    _exit(body());
  auto status = std::make_shared<std::promise<int>>();
  auto result = status->get_future();
  std::thread reaper{[pid, status] {
    int st = 0;
    waitpid(pid, &st, 0);
    status->set_value(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }};
  if (result.wait_for(20s) != std::future_status::ready)
    kill(pid, SIGKILL); // the reaper then returns -1
  reaper.join();
  return result.get();
}

struct quiet_config : caf::actor_system_config {
  quiet_config() {
    set("logger.verbosity", caf::atom("quiet"));
  }
};

/// A node on a free port with one I/O thread.
caf::expected<std::unique_ptr<node>> small_node(caf::actor_system& sys) {
  node_config nc;
  nc.port = 0;
  nc.io_threads = 1;
  return node::start(sys, nc);
}

} // namespace

TEST_CASE("a signal sent to the process is returned by stop_signals, once") {
  CHECK(in_child([] {
          stop_signals signals{SIGUSR1};
          kill(getpid(), SIGUSR1);
          if (signals.wait_for(10s) != SIGUSR1)
            return 1;
          // Each signal once: nothing is left.
          if (signals.wait_for(1ms))
            return 2;
          kill(getpid(), SIGTERM);
          if (signals.wait_for(10s) != SIGTERM)
            return 3;
          return 0;
        })
        == 0);
}

TEST_CASE("a wait for a signal that does not come returns none after its timeout") {
  CHECK(in_child([] {
          stop_signals signals;
          auto begin = std::chrono::steady_clock::now();
          if (signals.wait_for(50ms))
            return 1;
          return std::chrono::steady_clock::now() - begin >= 50ms ? 0 : 2;
        })
        == 0);
}

TEST_CASE("a wait for a signal or the node's end returns none once the node stopped") {
  CHECK(in_child([] {
          stop_signals signals;
          quiet_config cfg;
          caf::actor_system sys{cfg};
          auto n = small_node(sys);
          if (!n)
            return 1;
          // The hub dies: the node has stopped by itself.
          caf::anon_send_exit((*n)->hub(), caf::exit_reason::user_shutdown);
          if (signals.wait(**n))
            return 2;
          // Signals are still returned after the node's end.
          kill(getpid(), SIGINT);
          if (signals.wait_for(10s) != SIGINT)
            return 3;
          (*n)->stop();
          return 0;
        })
        == 0);
}

TEST_CASE("a wait for a signal or the node's end returns the signal while the node runs") {
  CHECK(in_child([] {
          stop_signals signals;
          quiet_config cfg;
          caf::actor_system sys{cfg};
          auto n = small_node(sys);
          if (!n)
            return 1;
          kill(getpid(), SIGTERM);
          if (signals.wait(**n) != SIGTERM)
            return 2;
          (*n)->stop();
          return 0;
        })
        == 0);
}
