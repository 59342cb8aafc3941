// The soak's view of a topic with history and join/leave (docs/protocol.md, v1.1): where each
// subscriber slot stands in its topic's offsets, so that a replacement connection can recover
// with `since` and every slot's offsets can be checked for gaps across reconnects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util.hpp"

namespace bench {

// One subscriber slot's position in its topic's history (kept across the slot's reconnects).
struct StreamPos {
  uint64_t offset = 0;      // last offset this slot saw (or the TOP its subscribe answered)
  uint64_t replay_top = 0;  // messages up to here are a recovery's replay, not live
  bool known = false;       // offset is meaningful (a subscribe on a topic with history answered)
  std::string epoch;
};

// What the soak's subscribers saw of history, recovery and join/leave.
struct StreamCounters {
  uint64_t recovered = 0, not_recovered = 0, replayed = 0, offset_gaps = 0;
  uint64_t joins = 0, leaves = 0, errors = 0;

  // A frame that is not a data message: subscribed (offset, epoch, recovery), join, leave, error.
  void on_control(StreamPos& pos, const char* p, size_t n);
  // A data message: checks its offset follows the slot's last one; true when it is a replay.
  bool on_message(StreamPos& pos, const char* p, size_t n);
  void add_json(JsonLine& out) const;
};

// The subscribe command: with join_leave, and with `since` the slot's position when recover
// is set and the slot has one.
std::string soak_subscribe(const std::string& topic, bool join_leave, bool recover, const StreamPos& pos);

}  // namespace bench
