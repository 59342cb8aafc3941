#pragma once

#include "switchboard/messages.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace switchboard {

/// Draws connection ids: uniformly random in [1, 2^53), so they are exact
/// JSON numbers everywhere (JavaScript included) and one client cannot guess
/// another's id from its own. Random bits come from the kernel's CSPRNG
/// (getrandom), read in blocks so that a connect rarely costs a syscall.
/// Not thread-safe: one per hub. A clustered node tags its ids (set_tag).
class id_source {
public:
  /// Ids are below this bound (2^53).
  static constexpr conn_id limit = conn_id{1} << 53;

  conn_id next();

  /// From now on, ids carry `tag` in their top 16 of 53 bits (a clustered
  /// node's tag, non-zero); the other 37 bits stay random.
  void set_tag(std::uint16_t tag) noexcept {
    tag_ = tag;
  }

private:
  void refill();

  std::array<std::uint64_t, 64> pool_{};
  std::size_t used_ = pool_.size();
  std::uint16_t tag_ = 0;
};

} // namespace switchboard
