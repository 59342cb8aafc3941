#pragma once

// The hub's side of a shared, asynchronous history store
// (hub_settings::history_store; docs/architecture.md, "History"): what it
// keeps per topic while the store's answers are on their way. Not installed.
//
// A store numbers a topic's messages 1, 2, 3, ... in one epoch, whichever
// node appended them; its answers, and the messages other nodes forward,
// arrive in any order. Each topic's `topic_sequence` is a reorder buffer:
// a numbered message waits there until every lower offset of its epoch was
// handed out, so that every node hands a topic out in the store's order.

#include "commands.hpp"
#include "switchboard/history_store.hpp"

#include <caf/actor_clock.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace switchboard {

/// A numbered message waiting for a lower offset of its topic.
struct numbered_message {
  std::string data;
  conn_id from = 0;
};

/// A subscription whose reply waits for the store (its position, or a
/// recovery): the live messages for it wait here, in offset order, and go
/// out behind the reply (those above the store's top) when it comes.
///
/// Once answered, a subscription whose reply (a replay) went further than
/// this node has handed out stays here with `answered` and `floor` = the
/// store's top until the sequence caught up: live messages up to `floor`
/// came with the replay and are not sent again.
struct waiting_subscription {
  bool answered = false;
  std::uint64_t floor = 0;
  std::vector<std::pair<std::uint64_t, frame_ptr>> held;
  std::size_t bytes = 0;
  /// More arrived than the replay budget takes: they were dropped, and the
  /// reply says recovered:false at the last of them (`resume_at`).
  bool overflowed = false;
  std::uint64_t resume_at = 0;
};

/// One topic's delivery order on this node.
struct topic_sequence {
  std::string epoch;          ///< empty: no message and no position seen yet
  std::string previous_epoch; ///< its messages come too late: dropped
  std::uint64_t delivered = 0; ///< the last offset handed out in `epoch`
  /// Whether `delivered` is known (from the store's answers or a first
  /// message); until then messages wait for a waiting subscription's reply.
  bool known = false;
  std::map<std::uint64_t, numbered_message> held;
  std::size_t held_bytes = 0;
  /// Since when the lowest held message waits for the offsets below it.
  caf::actor_clock::time_point gap_since{};
  bool filling = false; ///< a store_read for the gap is on its way
  std::unordered_map<conn_id, waiting_subscription> waiting;
};

/// Everything the hub keeps for a shared store (hub_state::async).
struct async_history {
  std::unordered_map<std::string, topic_sequence> topics;
  /// Topics with messages held back for a gap (checked on every tick).
  std::unordered_set<std::string> gaps;
  /// Topics this node no longer has (topic_table::on_change): their
  /// sequences go on the next tick (not at once: the change may come in the
  /// middle of a hand-out of that very sequence).
  std::unordered_set<std::string> unused;
  std::size_t in_flight = 0; ///< appends outstanding
  bool tick_armed = false;   ///< a history_tick_atom is on its way
  history_totals totals;     ///< the store's, as last reported
  bool totals_asked = false; ///< a store_totals is on its way
};

} // namespace switchboard
