#include "connection/outbound.hpp"

namespace switchboard {

bool outbound::send(frame_batch frames, std::size_t bytes) {
  auto& policy = transport_->policy_;
  if (policy.refused())
    return false;
  if (!policy.admit(frames.size(), bytes)) {
    // The first refusal: the connection is a slow consumer, and its writer
    // says so (it exits; the hub learns it from the down message).
    caf::anon_send(writer_, over_bound_atom::value);
    return false;
  }
  transport_->hand_over(std::move(frames));
  return true;
}

} // namespace switchboard
