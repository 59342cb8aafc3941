#pragma once

// A spinlock guard for critical sections of a few instructions shared by an
// I/O loop and other threads (an append, a swap): a std::mutex would cost
// every connection 40 bytes for the same work.

#include <atomic>
#include <thread>

namespace switchboard::net {

class spin_guard {
public:
  explicit spin_guard(std::atomic_flag& flag) : flag_(flag) {
    while (flag_.test_and_set(std::memory_order_acquire))
      std::this_thread::yield();
  }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;
  ~spin_guard() {
    flag_.clear(std::memory_order_release);
  }

private:
  std::atomic_flag& flag_;
};

} // namespace switchboard::net
