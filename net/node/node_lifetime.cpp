#include "node/node_lifetime.hpp"

#include "node/listener.hpp"
#include "node/node_context.hpp"

#include <spdlog/logger.h>

namespace switchboard::net {

// -- stop_switch --------------------------------------------------------------------------

stop_switch::stop_switch(std::shared_ptr<node_context> ctx, hub_internal_actor hub)
  : ctx_(std::move(ctx)), hub_(std::move(hub)) {
}

void stop_switch::arm(std::shared_ptr<listener> l) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(l);
}

bool stop_switch::request(stop_mode mode) {
  // Held while the listener is told: disarm() (before the node's loops go)
  // waits for it.
  std::lock_guard<std::mutex> guard{mtx_};
  if (requested_)
    return false;
  requested_ = true;
  if (!ctx_)
    return true; // disarmed: the node is stopping already
  // Before anything else: an upgrade read from now on is refused.
  ctx_->stopping = true;
  started_ = {std::chrono::steady_clock::now(), ctx_->sessions.load()};
  auto drain = ctx_->drain_period;
  ctx_->log->info("stop requested: closing connections sessions={} close_code={} "
                  "drain_period_ms={}",
                  started_.sessions, close_code_of(mode),
                  std::chrono::duration_cast<std::chrono::milliseconds>(drain).count());
  // While it drains, the listener answers /readyz (503) and refuses
  // upgrades (503), unless a process sharing the port takes the new
  // clients (reuse_port).
  // With reuse_port the first close goes out only once the socket is
  // closed: a client that reconnects at once must reach the next process,
  // not this one's queue (which closing resets).
  stop_plan plan{mode, drain};
  if (listener_ && ctx_->reuse_port)
    listener_->stop([hub = hub_, plan] { caf::anon_send(hub, shutdown_atom::value, plan); });
  else if (listener_ && drain <= caf::timespan{0})
    listener_->stop();
  if (!listener_ || !ctx_->reuse_port)
    caf::anon_send(hub_, shutdown_atom::value, plan);
  return true;
}

bool stop_switch::requested() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return requested_;
}

stop_switch::started_at stop_switch::started() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return started_;
}

void stop_switch::disarm() {
  std::lock_guard<std::mutex> guard{mtx_};
  // The node's context and listener must not end on an actor's thread (the
  // lifetime actor may hold this switch after the node is gone).
  ctx_.reset();
  listener_.reset();
  hub_ = nullptr;
}

// -- the actors ---------------------------------------------------------------------------

namespace {

struct lifetime_state {
  /// The reason of the first non-normal exit message (a linked actor that
  /// died): the lifetime actor exits with it too.
  caf::error cause;
  static inline const char* name = "switchboard.node";
};

caf::behavior lifetime(caf::stateful_actor<lifetime_state>* self, caf::actor_addr hub,
                       std::shared_ptr<stop_switch> stopper,
                       std::shared_ptr<std::promise<void>> done) {
  self->attach_functor([stopper, done](const caf::error& reason) {
    // Killed (an exit nobody can trap; it never quits with kill itself):
    // nothing stands for the node any more, so it stops, as for any other
    // exit that reached it.
    if (reason == caf::exit_reason::kill)
      stopper->request();
    done->set_value();
  });
  // Linked lifetimes: an actor linked to the node that dies stops it. A
  // normal exit ends nothing, as for an actor that does not trap exits.
  self->set_exit_handler([self, stopper](caf::exit_msg& em) {
    if (!em.reason)
      return;
    if (!self->state.cause)
      self->state.cause = std::move(em.reason);
    stopper->request();
  });
  // The hub's down message, forwarded by the watcher once node::wait() can
  // return.
  self->set_down_handler([self, hub, stopper](caf::down_msg& dm) {
    if (dm.source != hub)
      return;
    if (self->state.cause)
      self->quit(self->state.cause);
    else if (stopper->requested())
      self->quit(); // normal: the stop was asked for
    else if (dm.reason == caf::exit_reason::kill)
      // CAF lets no linked actor trap a kill: a supervisor could not react.
      self->quit(make_error(exit_code::hub_down));
    else
      self->quit(std::move(dm.reason)); // the hub died
  });
  // It handles nothing else (a behavior must not be empty).
  return {[](shutdown_atom) {}};
}

} // namespace

node_watch watch(caf::actor_system& sys, const hub_internal_actor& hub,
                 const std::shared_ptr<node_context>& ctx, std::shared_ptr<stop_switch> stopper) {
  node_watch result;
  auto hub_done = std::make_shared<std::promise<caf::error>>();
  result.hub_down = hub_done->get_future().share();
  auto lifetime_done = std::make_shared<std::promise<void>>();
  result.lifetime_done = lifetime_done->get_future().share();
  result.lifetime = sys.spawn<caf::hidden>(lifetime, hub.address(), std::move(stopper),
                                           std::move(lifetime_done));
  // A weak reference: the node's context must not outlive the node on this
  // actor's thread (found by ThreadSanitizer).
  std::weak_ptr<node_context> weak = ctx;
  auto next = result.lifetime;
  result.watcher = sys.spawn<caf::hidden>([hub, weak, hub_done, next](caf::event_based_actor* self)
                                            -> caf::behavior {
    self->monitor(hub);
    self->set_down_handler([self, weak, hub_done, next](caf::down_msg& dm) {
      if (auto c = weak.lock())
        c->hub_alive = false;
      hub_done->set_value(dm.reason);
      self->send(next, std::move(dm));
      self->quit();
    });
    // Nothing to handle but the down message (a behavior must not be empty).
    return {[](shutdown_atom) {}};
  });
  return result;
}

} // namespace switchboard::net
