#pragma once

// The actors that follow a node's hub: the watcher (internal: node::wait(),
// /healthz) and the lifetime actor an application monitors or links to
// (node::lifetime()); and the stop switch they share with node::request_stop().
// Internal to net/.

#include "hub/hub_interface.hpp"

#include "switchboard/stop_mode.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>

namespace switchboard::net {

class listener;
struct node_context;

/// What node::request_stop() does, shared with the lifetime actor, which may
/// outlive the node: the first request() refuses upgrades (and turns
/// /readyz 503), stops accepting (with a drain period and without
/// reuse_port, only once the hub is down: node::stop) and tells the hub to
/// stop as its mode and the drain period say; later ones do nothing. Once disarmed (the
/// node is stopping its I/O loops) it touches nothing and holds nothing of
/// the node. Thread-safe.
class stop_switch {
public:
  stop_switch(std::shared_ptr<node_context> ctx, hub_internal_actor hub);

  /// The listener to stop (once it is open).
  void arm(std::shared_ptr<listener> l);

  /// Starts the stop unless it was started; true when this call started it.
  bool request(stop_mode mode = stop_mode::final_stop);

  /// Whether request() was called.
  bool requested() const;

  /// When the first request() came and how many sessions were open then
  /// (the stop's log lines); zero before it.
  struct started_at {
    std::chrono::steady_clock::time_point time{};
    std::size_t sessions = 0;
  };
  started_at started() const;

  /// From now on request() only records the request. Idempotent.
  void disarm();

private:
  mutable std::mutex mtx_;
  bool requested_ = false;
  started_at started_;
  std::shared_ptr<node_context> ctx_;
  std::shared_ptr<listener> listener_;
  hub_internal_actor hub_;
};

/// The watcher and the lifetime actor of one node (both hidden: neither
/// keeps an actor system's destructor waiting).
struct node_watch {
  /// Monitors the hub: when it terminates, /healthz turns 503, `hub_down`
  /// becomes ready with its exit reason, and then the lifetime actor learns it.
  caf::actor watcher;
  /// node::lifetime(): exits right after `hub_down` is ready; a non-normal
  /// exit message (a linked actor died) requests the stop.
  caf::actor lifetime;
  std::shared_future<caf::error> hub_down;
  /// Ready once the lifetime actor has terminated.
  std::shared_future<void> lifetime_done;
};

/// Spawns both for `hub`.
node_watch watch(caf::actor_system& sys, const hub_internal_actor& hub,
                 const std::shared_ptr<node_context>& ctx, std::shared_ptr<stop_switch> stopper);

} // namespace switchboard::net
