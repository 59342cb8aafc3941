#include "connection/outbound_policy.hpp"

namespace switchboard {

bool outbound_policy::admit(std::size_t frames, std::size_t bytes) noexcept {
  if (refused_.load(std::memory_order_relaxed))
    return false;
  // Our own counters need no ordering; the socket's are read with acquire,
  // and a stale value only overstates the queue.
  auto in_frames = admitted_frames_.load(std::memory_order_relaxed);
  auto in_bytes = admitted_bytes_.load(std::memory_order_relaxed);
  auto queued_frames = in_frames - written_frames_.load(std::memory_order_acquire);
  auto queued_bytes = in_bytes - written_bytes_.load(std::memory_order_acquire);
  // (Compared as "room left", so that a huge batch cannot overflow a sum.)
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

void outbound_policy::written(std::size_t frames, std::size_t bytes) noexcept {
  written_frames_.store(written_frames_.load(std::memory_order_relaxed) + frames,
                        std::memory_order_release);
  written_bytes_.store(written_bytes_.load(std::memory_order_relaxed) + bytes,
                       std::memory_order_release);
}

void outbound_policy::shrunk(std::size_t bytes) noexcept {
  written_bytes_.store(written_bytes_.load(std::memory_order_relaxed) + bytes,
                       std::memory_order_release);
}

outbound_policy::backlog outbound_policy::queued() const noexcept {
  // The socket's counts never pass the sender's. Read on their own, the two
  // sides could come from different moments (the socket's older: more
  // queued than ever was), so the socket's are read again after the
  // sender's, and the pair counts once they did not move in between.
  auto out_frames = written_frames_.load(std::memory_order_acquire);
  auto out_bytes = written_bytes_.load(std::memory_order_acquire);
  for (;;) {
    auto in_frames = admitted_frames_.load(std::memory_order_acquire);
    auto in_bytes = admitted_bytes_.load(std::memory_order_acquire);
    auto again_frames = written_frames_.load(std::memory_order_acquire);
    auto again_bytes = written_bytes_.load(std::memory_order_acquire);
    if (again_frames == out_frames && again_bytes == out_bytes)
      return {static_cast<std::size_t>(in_frames - out_frames),
              static_cast<std::size_t>(in_bytes - out_bytes)};
    out_frames = again_frames;
    out_bytes = again_bytes;
  }
}

bool outbound_policy::congested() const noexcept {
  auto q = queued();
  return q.frames * 2 > bound_.frames || q.bytes * 2 > bound_.bytes;
}

} // namespace switchboard
