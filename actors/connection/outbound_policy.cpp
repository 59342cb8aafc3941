#include "connection/outbound_policy.hpp"

namespace switchboard {

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
