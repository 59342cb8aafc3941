#include "switchboard/stop_signals.hpp"

#include "switchboard/node.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <pthread.h>
#include <thread>

namespace switchboard {

struct stop_signals::state {
  sigset_t set;
  std::mutex mtx;
  std::condition_variable cv;
  /// Received and not returned yet, in order.
  std::deque<int> received;
  bool closing = false;
  std::thread waiter;

  /// The first signal received, if any (the caller holds mtx).
  std::optional<int> take() {
    if (received.empty())
      return std::nullopt;
    auto sig = received.front();
    received.pop_front();
    return sig;
  }
};

stop_signals::stop_signals(std::initializer_list<int> more)
  : state_(std::make_shared<state>()) {
  auto& st = *state_;
  sigemptyset(&st.set);
  sigaddset(&st.set, SIGINT);
  sigaddset(&st.set, SIGTERM);
  for (auto sig : more)
    sigaddset(&st.set, sig);
  pthread_sigmask(SIG_BLOCK, &st.set, nullptr);
  // Started after the mask is set, so it inherits it: sigwait() needs the
  // signals blocked.
  st.waiter = std::thread{[&st] {
    for (;;) {
      int sig = 0;
      if (sigwait(&st.set, &sig) != 0)
        continue;
      std::lock_guard<std::mutex> guard{st.mtx};
      if (st.closing)
        return; // the destructor's wake-up (or a signal nobody waits for now)
      st.received.push_back(sig);
      st.cv.notify_all();
    }
  }};
}

stop_signals::~stop_signals() {
  auto& st = *state_;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    st.closing = true;
  }
  // Directed at the waiting thread only: a pending copy dies with it.
  pthread_kill(st.waiter.native_handle(), SIGTERM);
  st.waiter.join();
}

std::optional<int> stop_signals::wait_for(std::chrono::nanoseconds timeout) {
  auto& st = *state_;
  std::unique_lock<std::mutex> guard{st.mtx};
  st.cv.wait_for(guard, timeout, [&] { return !st.received.empty(); });
  return st.take();
}

std::optional<int> stop_signals::wait(const node& n) {
  auto& st = *state_;
  // Set when the node's lifetime actor exits (at once if it has): a
  // functor attached to it, which holds the state, not this object. (One
  // small attachment per call, a call per signal: they go with the actor.)
  auto stopped = std::make_shared<bool>(false);
  auto actor = caf::actor_cast<caf::abstract_actor*>(n.lifetime());
  actor->attach_functor([st = state_, stopped](const caf::error&) {
    std::lock_guard<std::mutex> guard{st->mtx};
    *stopped = true;
    st->cv.notify_all();
  });
  std::unique_lock<std::mutex> guard{st.mtx};
  st.cv.wait(guard, [&] { return !st.received.empty() || *stopped; });
  return st.take();
}

} // namespace switchboard
