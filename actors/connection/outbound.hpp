#pragma once

// The writer's outbound path as the hub holds it (inline: it runs once per
// batch on the hub's fast path). Not installed.

#include "commands.hpp"
#include "connection/transport.hpp"

#include <cstddef>
#include <string>
#include <utility>

namespace switchboard {

/// A connection's outbound path, held by the hub: the hub hands each batch
/// through it straight into the transport's queue (no CAF message per
/// batch: such a message cost measurably, docs/benchmarks.md), and the
/// writer's outbound policy decides there whether the batch is taken. The
/// decision is the writer's: on the first refusal the handle tells the
/// writer (over_bound_atom), which exits with slow_consumer; the hub never
/// looks at the bound. One caller at a time (the hub).
class outbound {
public:
  outbound() = default;
  outbound(transport_ptr transport, writer_actor writer) noexcept
    : transport_(std::move(transport)), writer_(std::move(writer)) {
  }

  /// Hands `frames` (`bytes` in all, headers included) to the transport if
  /// the policy admits them, in order behind what came before. Returns
  /// false if it refused them (now or before): they are dropped.
  bool send(frame_batch frames, std::size_t bytes) {
    auto& policy = *transport_->policy_;
    if (policy.refused())
      return false;
    if (!policy.admit(frames.size(), bytes)) {
      // The first refusal: the client is a slow consumer, and its writer
      // says so (it exits; the hub learns it from the down message).
      caf::anon_send(writer_, over_bound_atom::value);
      return false;
    }
    transport_->hand_over(std::move(frames));
    return true;
  }

  /// More than half of the bound is queued: a sender that can wait should.
  bool congested() const noexcept {
    return transport_->policy().congested();
  }

  /// What the policy admitted and the transport has not written yet.
  outbound_policy::backlog queued() const noexcept {
    return transport_->policy().queued();
  }

  /// The policy's bound.
  outbound_policy::limits bound() const noexcept {
    return transport_->policy().bound();
  }

  /// A batch was refused: the writer is told, nothing more is taken.
  bool refused() const noexcept {
    return transport_->policy().refused();
  }

  /// The transport's peer (for log lines).
  std::string peer() const {
    return transport_->peer();
  }

private:
  transport_ptr transport_;
  writer_actor writer_;
};

} // namespace switchboard
