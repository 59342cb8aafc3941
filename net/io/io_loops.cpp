#include "io/io_loops.hpp"

#include "io/spin_guard.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace switchboard::net {

void loop_batch::schedule(std::function<void()> task) {
  {
    spin_guard guard{lock_};
    tasks_.push_back(std::move(task));
  }
  if (!posted_.exchange(true, std::memory_order_acq_rel))
    boost::asio::post(ioc_, [this] { run(); });
}

void loop_batch::run() {
  posted_.store(false, std::memory_order_release);
  std::vector<std::function<void()>> tasks;
  {
    spin_guard guard{lock_};
    tasks.swap(tasks_);
  }
  for (auto& t : tasks)
    t();
}

io_loops::io_loops(std::size_t n) {
  for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) {
    // One thread per context: Asio may skip its internal locking.
    contexts_.emplace_back(std::make_unique<loop_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
    batches_.emplace_back(std::make_unique<loop_batch>(*contexts_.back()));
    metrics_.emplace_back(std::make_unique<loop_metrics>());
  }
}

loop_batch& io_loops::batch_of(boost::asio::io_context& ioc) noexcept {
  for (std::size_t i = 0; i < contexts_.size(); ++i)
    if (contexts_[i].get() == &ioc)
      return *batches_[i];
  return *batches_.front();
}

loop_metrics& io_loops::metrics_of(boost::asio::io_context& ioc) noexcept {
  for (std::size_t i = 0; i < contexts_.size(); ++i)
    if (contexts_[i].get() == &ioc)
      return *metrics_[i];
  return *metrics_.front();
}

std::vector<const loop_metrics*> io_loops::metrics() const {
  std::vector<const loop_metrics*> result;
  for (auto& m : metrics_)
    result.push_back(m.get());
  return result;
}

io_loops::~io_loops() {
  stop();
  teardown();
}

boost::asio::io_context& io_loops::next() noexcept {
  auto i = next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
  return *contexts_[i];
}

void io_loops::start() {
  for (auto& ctx : contexts_)
    threads_.emplace_back([io = ctx.get()] { io->run(); });
}

void io_loops::stop() {
  for (auto& g : guards_)
    g.reset();
  for (auto& ctx : contexts_)
    if (ctx)
      ctx->stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

bool io_loops::runs_here() const {
  auto self = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [self](const std::thread& t) { return t.get_id() == self; });
}

void io_loops::teardown() noexcept {
  guards_.clear();
  for (auto& ctx : contexts_)
    ctx->shutdown();
  // Batches hold tasks (and sessions) too; what they run is gone.
  batches_.clear();
  contexts_.clear();
}

void io_loops::leak() noexcept {
  for (auto& ctx : contexts_)
    (void) ctx.release();
  for (auto& b : batches_)
    (void) b.release();
  for (auto& m : metrics_)
    (void) m.release();
  contexts_.clear();
  batches_.clear();
  metrics_.clear();
  guards_.clear();
}

} // namespace switchboard::net
