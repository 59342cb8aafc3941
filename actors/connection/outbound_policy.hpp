#pragma once

// A connection's outbound policy: one pure class (no actors, no sockets),
// the only implementation of the send bound, used by the node's sessions
// and by the test fake alike. Not installed.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace switchboard {

/// How much of a connection's outbound traffic may be handed to its socket
/// and not be written yet, and what happens past that:
/// - **the bound**: at most `limits::frames` frames and `limits::bytes`
///   bytes admitted and not written yet (whole frames: WebSocket header
///   and payload);
/// - **the slow-consumer decision**: a batch that would pass either bound
///   is refused whole, and so is every batch after it (refused() stays
///   true): the connection does not keep up and is cut off;
/// - **congestion**: more than half of either bound admitted and not
///   written yet. A sender that can wait (the hub, with a burst from
///   another node) holds back until the socket catches up.
///
/// Threads: admit() is called by one thread at a time (the hub's),
/// written() and shrunk() by one thread at a time (the socket's), the
/// queries from any thread. Each side only raises counters of its own (the
/// queue is their difference): no lock, no read-modify-write, and the
/// socket's side can only make the queue look shorter, so a batch admitted
/// stays within the bound.
class outbound_policy {
public:
  /// The bound (connection_settings: send_queue_frames, send_buffer_bytes).
  struct limits {
    std::size_t frames = 0;
    std::size_t bytes = 0;
  };

  /// Frames admitted and not written yet, and their bytes.
  struct backlog {
    std::size_t frames = 0;
    std::size_t bytes = 0;
  };

  explicit outbound_policy(limits bound) noexcept : bound_(bound) {
  }

  outbound_policy(const outbound_policy&) = delete;
  outbound_policy& operator=(const outbound_policy&) = delete;

  // -- the sender's side (one thread at a time) -------------------------------------

  /// Admits a batch of `frames` frames, `bytes` in all, if the queue stays
  /// within the bound with it; otherwise refuses it, and every later batch.
  bool admit(std::size_t frames, std::size_t bytes) noexcept {
    if (refused_.load(std::memory_order_relaxed))
      return false;
    // Our own counters need no ordering; the socket's are read with
    // acquire, and a stale value only overstates the queue.
    auto in_frames = admitted_frames_.load(std::memory_order_relaxed);
    auto in_bytes = admitted_bytes_.load(std::memory_order_relaxed);
    auto queued_frames = in_frames - written_frames_.load(std::memory_order_acquire);
    auto queued_bytes = in_bytes - written_bytes_.load(std::memory_order_acquire);
    // (Compared as room left, so that a huge batch cannot overflow a sum.)
    if (queued_frames > bound_.frames || frames > bound_.frames - queued_frames
        || queued_bytes > bound_.bytes || bytes > bound_.bytes - queued_bytes) {
      refused_.store(true, std::memory_order_release);
      return false;
    }
    // Release: whoever sees these counts sees the frames handed over before
    // them, so the socket's counts never pass ours.
    admitted_frames_.store(in_frames + frames, std::memory_order_release);
    admitted_bytes_.store(in_bytes + bytes, std::memory_order_release);
    return true;
  }

  // -- the socket's side (one thread at a time) -------------------------------------

  /// `frames` admitted frames, `bytes` in all, left the queue: written, or
  /// dropped because the socket is done.
  void written(std::size_t frames, std::size_t bytes) noexcept {
    written_frames_.store(written_frames_.load(std::memory_order_relaxed) + frames,
                          std::memory_order_release);
    written_bytes_.store(written_bytes_.load(std::memory_order_relaxed) + bytes,
                         std::memory_order_release);
  }

  /// Frames still queued shrank by `bytes` (compressed for the client):
  /// from now on they count at the size they go out with.
  void shrunk(std::size_t bytes) noexcept {
    written_bytes_.store(written_bytes_.load(std::memory_order_relaxed) + bytes,
                         std::memory_order_release);
  }

  // -- any thread ---------------------------------------------------------------

  /// What is admitted and not written yet.
  backlog queued() const noexcept;

  /// More than half of either bound is queued.
  bool congested() const noexcept;

  /// A batch was refused: nothing is admitted any more.
  bool refused() const noexcept {
    return refused_.load(std::memory_order_acquire);
  }

  /// Frames admitted so far, in all: drained(mark()) holds once every one
  /// of them has left the queue, whatever is admitted after.
  std::uint64_t mark() const noexcept {
    return admitted_frames_.load(std::memory_order_acquire);
  }

  /// Every frame admitted up to `mark` has left the queue.
  bool drained(std::uint64_t mark) const noexcept {
    return written_frames_.load(std::memory_order_acquire) >= mark;
  }

  limits bound() const noexcept {
    return bound_;
  }

private:
  limits bound_;
  // Raised by admit() only.
  std::atomic<std::uint64_t> admitted_frames_{0};
  std::atomic<std::uint64_t> admitted_bytes_{0};
  std::atomic<bool> refused_{false};
  // Raised by written() and shrunk() only.
  std::atomic<std::uint64_t> written_frames_{0};
  std::atomic<std::uint64_t> written_bytes_{0};
};

} // namespace switchboard
