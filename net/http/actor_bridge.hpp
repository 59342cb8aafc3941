#pragma once

// Asking an actor from an I/O loop: a short-lived actor sends the request
// (with a timeout), and the outcome, the reply or the error, is posted back
// to the loop that asked. It is how an http_session asks the hub (/stats,
// /metrics, the server API), the cluster actor (/stats?scope=cluster) and
// the authenticator (an upgrade).
//
// Lifetimes: what `done` holds (the session, an admission ticket) lives in
// the request's reply slot, which the actor's response handlers own (not
// the spawn closure: CAF frees that right after the actor has started).
// The slot counts as a reference held by an actor (node_context::actor_refs)
// for as long as it lives, and it hands `done` to the loop exactly once: with
// the reply, with the error, or, if the actor ends without either, with
// sec::request_receiver_down. The actor gives up as soon as the node's hub is
// down (a stopping node), so node::stop, which waits for actor_refs to drop
// to zero before it tears the loops down, never waits long for an
// authenticator that answers late, and nothing posts into a destroyed loop.

#include "io/io_types.hpp"
#include "node/node_context.hpp"

#include <boost/asio/post.hpp>

#include <caf/all.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace switchboard::net {

namespace detail {

/// Where an actor's answer goes: posted to `loop`, once.
template <class Reply, class Done>
class reply_slot {
public:
  reply_slot(std::shared_ptr<node_context> ctx, loop_executor loop, Done done)
    : held_(std::move(ctx)), loop_(loop), done_(std::in_place, std::move(done)) {
  }
  reply_slot(const reply_slot&) = delete;
  reply_slot& operator=(const reply_slot&) = delete;

  /// The actor ended without an answer (the hub went down, or the system).
  ~reply_slot() {
    deliver(caf::make_error(caf::sec::request_receiver_down));
  }

  void deliver(caf::expected<Reply> result) {
    if (!done_)
      return;
    boost::asio::post(loop_, [done = std::move(*done_), result = std::move(result)]() mutable {
      done(std::move(result));
    });
    done_.reset();
  }

private:
  held_by_actor held_; ///< declared first: released after `done` left for the loop
  loop_executor loop_;
  std::optional<Done> done_;
};

} // namespace detail

/// Sends `request` to `target` (a valid handle) from a short-lived actor,
/// waiting at most `timeout`, and runs `done(caf::expected<Reply>)` on
/// `reply_on`'s loop: the reply, or the error (the target's, a timeout, or
/// sec::request_receiver_down when the node's hub went down first). `Reply`
/// is the type the target answers `request` with.
template <class Reply, class Target, class Request, class Done>
void ask_actor(const std::shared_ptr<node_context>& ctx, const Target& target,
               caf::timespan timeout, Request request, loop_executor reply_on, Done done) {
  auto slot = std::make_shared<detail::reply_slot<Reply, Done>>(ctx, reply_on, std::move(done));
  ctx->sys.spawn([hub = ctx->hub, target, timeout, request = std::move(request),
                  slot](caf::event_based_actor* self) mutable {
    // Monitoring a hub that is gone already gives the down message at once.
    self->monitor(hub);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    self->request(target, timeout, std::move(request))
      .then(
        [self, hub, slot](Reply& reply) {
          self->demonitor(hub.address());
          slot->deliver(std::move(reply));
        },
        [self, hub, slot](caf::error& err) {
          self->demonitor(hub.address());
          slot->deliver(std::move(err));
        });
  });
}

} // namespace switchboard::net
