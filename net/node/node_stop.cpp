// Stopping a node: node::stop(), stop_async() and what they wait for.
// docs/architecture.md ("Stopping a node") explains each step and its bound.

#include "node/node_impl.hpp"

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <future>

namespace switchboard {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// The parts of node::stop() that have no timeout of their own (their sum and
// the two timeouts make the bound docs/architecture.md states: shutdown-timeout
// + close-timeout + 5 s, and 2 s more for redis_store::stop with --redis).
/// The hub quits once every writer has flushed (at most shutdown-timeout):
/// this much longer, and it is killed.
constexpr auto hub_grace = 1s;
/// A killed hub ends at once, unless no CAF worker gets to it.
constexpr auto kill_wait = 1s;
/// The cluster actor and the lifetime actor end after the hub.
constexpr auto cluster_wait = 1s;
/// The sessions' closes take at most close-timeout, plus this.
constexpr auto close_grace = 500ms;
/// Actors drop their last session references right after they end.
constexpr auto release_wait = 1500ms;

template <class Predicate>
bool wait_until(steady_clock::time_point deadline, Predicate done) {
  while (!done()) {
    if (steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

} // namespace

node::impl::~impl() {
  // Whatever happened, the lifetime actor (which may outlive the node)
  // reaches nothing of it from now on.
  if (stopper)
    stopper->disarm();
  // A start that failed half-way (stop() did this otherwise): the Redis
  // connections must go before the loops, which go last, and the store
  // actor holds them until it ends. No loop runs here.
  if (!redis.end_actor(std::chrono::seconds{1}))
    loops.leak();
  if (ctx)
    ctx->redis.reset();
}

void node::impl::stop_cluster(caf::timespan timeout) {
  if (!cluster)
    return;
  // Plain or TLS: both middleman actors share CAF's one BASP broker, which
  // holds the port.
  sys.middleman().unpublish(cluster, cluster_port);
  caf::scoped_actor self{sys};
  self->monitor(cluster);
  self->send_exit(cluster, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(timeout) >> [] {});
}

void node::impl::log_drained() {
  auto began = stopper->started();
  auto left = ctx->sessions.load();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now()
                                                                  - began.time);
  ctx->log->info("stop drained: connections closed closed={} remaining={} ms={}",
                 began.sessions > left ? began.sessions - left : 0, left, ms.count());
}

void node::request_stop() {
  request_stop(stop_mode::final_stop);
}

void node::request_stop(stop_mode mode) {
  impl_->stopper->request(mode);
}

caf::error node::wait() {
  return impl_->watched.hub_down.get();
}

void node::stop_async(std::function<void()> done) {
  auto& p = *impl_;
  std::function<void()> now;
  {
    std::lock_guard<std::mutex> guard{p.async_mtx};
    if (p.async_finished) {
      now = std::move(done);
    } else {
      if (done)
        p.on_stopped.push_back(std::move(done));
      if (!p.async_stop.joinable()) {
        request_stop();
        p.async_stop = std::thread{[this] {
          stop();
          std::vector<std::function<void()>> callbacks;
          {
            std::lock_guard<std::mutex> inner{impl_->async_mtx};
            impl_->async_finished = true;
            callbacks.swap(impl_->on_stopped);
          }
          for (auto& f : callbacks)
            f();
        }};
      }
    }
  }
  // Stopped already: tell the caller at once.
  if (now)
    now();
}

void node::stop() {
  stop(stop_mode::final_stop);
}

// docs/architecture.md ("Stopping a node") explains each step and the bound.
void node::stop(stop_mode mode) {
  auto& p = *impl_;
  // Waiting for the I/O threads from one of them would never end.
  if (p.loops.runs_here()) {
    std::fputs("switchboard: node::stop() called from one of the node's own I/O "
               "threads; use stop_async()\n",
               stderr);
    std::abort();
  }
  std::lock_guard<std::mutex> guard{p.stopping};
  if (p.stopped)
    return;
  p.stopped = true;
  request_stop(mode);
  // 1. The hub goes once every pair is down: the closes are spread over the
  // drain period, and each writer flushes for at most shutdown-timeout;
  // with the hub, every actor that asks on a session's behalf gives up
  // (actor_bridge.hpp).
  auto& hub_down = p.watched.hub_down;
  if (hub_down.wait_for(p.cfg.drain_period + p.cfg.connection.shutdown_timeout + hub_grace)
      != std::future_status::ready) {
    // Something holds a pair up: end the hub, which takes every pair along.
    caf::anon_send_exit(p.internal_hub, caf::exit_reason::kill);
    hub_down.wait_for(kill_wait);
  }
  // The cluster actor goes after the hub (dials in flight are dropped), and
  // so does the lifetime actor (one message after the hub's end), within
  // the same wait.
  auto after_hub = steady_clock::now() + cluster_wait;
  p.stop_cluster(cluster_wait);
  p.watched.lifetime_done.wait_until(after_hub);
  // A listener kept open for the drain period (/readyz) closes now.
  p.listener->stop();
  // Nothing asks the Redis store any more: its connections close and its
  // actor ends.
  auto redis_ended = p.redis.stop();
  // 2. The sessions finish their closes (at most close-timeout each) on
  // loops that still run.
  auto& ctx = *p.ctx;
  wait_until(steady_clock::now() + p.cfg.close_timeout + close_grace,
             [&] { return ctx.sessions == 0; });
  p.log_drained();
  // 3. The I/O threads end: from now on no session starts an actor or a
  // post of its own.
  p.loops.stop();
  // 4. What actors still hold (a pair's transport, a reply slot) they drop as
  // they end, posting the session to its loop, which is stopped, not gone.
  auto released = wait_until(steady_clock::now() + release_wait,
                             [&] { return ctx.actor_refs == 0; });
  p.trim_timer.reset();
  p.stopper->disarm();
  p.listener.reset();
  // The Redis connections' strands and timers must not outlive the loop
  // either: with the store actor ended and no loop running (nothing reads
  // ctx.redis), these are the last shares outside the loop's own handlers.
  ctx.redis.reset();
  p.redis.shards.reset();
  if (!released || !redis_ended) {
    // An actor still holds a session (not one of ours: ours are down) or
    // the Redis connections. A socket must not outlive its loop, so the
    // loops stay.
    if (!released)
      ctx.log->error("{} session reference(s) still held by actors after stop; keeping the "
                     "I/O loops alive",
                     ctx.actor_refs.load());
    else
      ctx.log->error("the Redis store actor did not end within a second of stop; keeping the "
                     "I/O loops alive");
    p.loops.leak();
    return;
  }
  // 5. Every session still queued in a loop dies with it (its socket closes).
  p.loops.teardown();
}

} // namespace switchboard
