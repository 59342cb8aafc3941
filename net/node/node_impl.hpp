#pragma once

// node's private state (node.cpp starts it, node_stop.cpp stops it).

#include "switchboard/node.hpp"

#include "io/io_loops.hpp"
#include "node/listener.hpp"
#include "node/node_context.hpp"
#include "node/node_lifetime.hpp"
#include "redis/redis_store.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace switchboard {

struct node::impl {
  impl(caf::actor_system& s, node_config c)
    : sys(s),
      cfg(std::move(c)),
      loops(cfg.io_threads) {
  }

  /// Ends what a start that failed half-way left (node_stop.cpp).
  ~impl();

  /// glibc keeps what connections freed in its arenas, so after a spike of
  /// connections or hours of churn the process would stay at its high-water
  /// mark. Hand free pages back now and then (docs/benchmarks.md, Soak).
  void schedule_trim();

  /// Spawns and publishes the cluster actor (linked to the hub), then lets it
  /// dial: publishing first, so a peer that dials back finds it.
  caf::error start_cluster();

  /// Unpublishes the cluster actor and ends it (after the hub: the link must
  /// not take a hub down that is still flushing), waiting at most `timeout`.
  void stop_cluster(caf::timespan timeout);

  /// The stop's second line: how many sessions closed since it began, how
  /// many are left, how long it took.
  void log_drained();

  caf::actor_system& sys;
  node_config cfg;
  // Outlive everything that holds I/O objects; stop() destroys them only once
  // no actor holds a session any more (and leaks them rather than do so early).
  net::io_loops loops;
  hub_internal_actor internal_hub;
  hub_actor hub; ///< the public interface of internal_hub
  /// The Redis history store (none without --redis); its connections live
  /// on the first loop.
  net::redis_store redis;
  /// The watcher and the lifetime actor; hub_down is ready once the hub
  /// terminated, with its exit reason.
  net::node_watch watched;
  /// request_stop()'s work, shared with the lifetime actor.
  std::shared_ptr<net::stop_switch> stopper;
  std::shared_ptr<net::node_context> ctx;
  std::shared_ptr<net::listener> listener;
  std::optional<boost::asio::steady_timer> trim_timer;
  std::uint16_t port = 0;
  /// The cluster actor (null: not clustered) and its port.
  caf::actor cluster;
  std::uint16_t cluster_port = 0;
  std::mutex stopping; ///< one stop() at a time (stop_async runs on its own thread)
  bool stopped = false;
  // stop_async(): its thread and who wants to know when it is done.
  std::mutex async_mtx;
  std::thread async_stop;
  std::vector<std::function<void()>> on_stopped;
  bool async_finished = false;
};

} // namespace switchboard
