#pragma once

// The node's I/O threads: one io_context per thread ("one event loop per
// thread"), each connection bound to one of them for its whole life. A loop
// shares nothing with the others, so its thread never contends for a queue
// or wakes another thread to run a handler (docs/benchmarks.md).

#include "observe/loop_metrics.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace switchboard::net {

/// Work handed to one loop from other threads, run in batches: whoever
/// schedules the first item of a batch posts one task, and that task runs
/// everything scheduled until it runs. A fan-out that wakes a thousand
/// connections of a loop then wakes the loop's thread once, not a thousand
/// times (docs/benchmarks.md).
class loop_batch {
public:
  explicit loop_batch(boost::asio::io_context& ioc) : ioc_(ioc) {
  }

  /// Runs `task` on the loop, soon. Any thread.
  void schedule(std::function<void()> task);

private:
  void run();

  boost::asio::io_context& ioc_;
  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  std::vector<std::function<void()>> tasks_; ///< guarded by lock_
  std::atomic<bool> posted_{false};
};

class io_loops {
public:
  explicit io_loops(std::size_t n);
  io_loops(const io_loops&) = delete;
  io_loops& operator=(const io_loops&) = delete;
  ~io_loops();

  /// The first loop (the acceptor's and the node's own timers).
  boost::asio::io_context& first() noexcept {
    return *contexts_.front();
  }

  /// A loop for a new connection (round robin). Any thread.
  boost::asio::io_context& next() noexcept;

  /// The batch runner of the loop that runs `ioc`.
  loop_batch& batch_of(boost::asio::io_context& ioc) noexcept;

  /// The metrics of the loop that runs `ioc`: only that loop's thread may
  /// update them (loop_metrics.hpp).
  loop_metrics& metrics_of(boost::asio::io_context& ioc) noexcept;

  /// Every loop's metrics, to read (any thread).
  std::vector<const loop_metrics*> metrics() const;

  /// Starts one thread per loop.
  void start();

  /// Stops every loop and joins the threads; handlers still queued stay
  /// queued (a post from another thread is queued too) until teardown().
  void stop();

  /// After stop(): destroys the loops. First every loop's pending handlers
  /// and the sessions they hold, while every loop still exists: a session of
  /// one loop held by another loop's handler closes its socket on a live
  /// reactor, and the admission ticket it gives back posts into a live
  /// loop (the first). Then the loops themselves, with whatever was posted
  /// meanwhile. Only when nothing outside the loops can post into them any
  /// more (node::stop: no actor holds a session).
  void teardown() noexcept;

  /// Whether the calling thread is one of the loops'.
  bool runs_here() const;

  /// Gives up ownership of the loops and what sessions refer to in them
  /// (batches, metrics) without destroying anything: for a stop that could
  /// not prove every session released (see node::stop).
  void leak() noexcept;

private:
  /// An io_context whose pending handlers can be destroyed before the
  /// context itself (execution_context::shutdown, protected in Asio).
  class loop_context final : public boost::asio::io_context {
  public:
    using io_context::io_context;
    using execution_context::shutdown;
  };

  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  /// Declared first, destroyed last: a session that dies with its
  /// io_context never outlives its loop's metrics.
  std::vector<std::unique_ptr<loop_metrics>> metrics_;
  std::vector<std::unique_ptr<loop_context>> contexts_;
  std::vector<std::unique_ptr<loop_batch>> batches_;
  std::vector<std::optional<guard>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

} // namespace switchboard::net
