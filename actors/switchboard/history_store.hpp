#pragma once

/// The contract between a hub and a shared, asynchronous history store (an
/// actor): the requests the hub sends it and the replies it expects. A hub
/// whose hub_settings::history_store is set keeps no history of its own and
/// asks that actor instead (docs/architecture.md, "History"); the node's
/// Redis store (`--redis`) is one such actor, and an embedder may write
/// another. Every request is answered once, with its reply type or an error;
/// hub_errc::unavailable says the store cannot be reached now.
///
/// Ordering: a store numbers a topic's messages 1, 2, 3, ... in one epoch,
/// whichever node appends them; the hub delivers them in that order. Replies
/// to appends of one topic may arrive in any order.

#include "switchboard/messages.hpp"

#include <caf/all.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace switchboard {

/// A topic's history options (its namespace's, or the top-level ones).
struct history_limits {
  std::size_t size = 0; ///< messages kept; 0: no history
  caf::timespan ttl{};  ///< a kept message older than this is dropped
};

/// What a recovery or a read found.
struct history_result {
  stream_position top;   ///< the history's epoch and last offset now
  bool recovered = false; ///< recover(): every missed message is here
  std::vector<history_message> messages; ///< oldest first
};

/// What a store holds, for /stats and /metrics.
struct history_totals {
  std::uint64_t topics = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t evicted = 0; ///< messages dropped for the byte bound, since start
};

// -- requests to a store actor (replies in brackets) --------------------------------

/// Stores `data` as `topic`'s next message, numbered atomically by the store.
/// [stream_position: its offset and the epoch]
struct store_append {
  std::string topic = {};
  std::string data = {};
  history_limits limits = {};
};

/// The current epoch and last offset, creating an empty history (a new
/// epoch) when the topic has none. [stream_position]
struct store_top {
  std::string topic = {};
  history_limits limits = {};
};

/// The messages after `since`, all or none (history_store::recover).
/// [history_result]
struct store_recover {
  std::string topic = {};
  stream_position since = {};
  std::uint64_t max = 0;
  history_limits limits = {};
};

/// The last `limit` kept messages, or the first `limit` after `since`
/// (history_store::read). Creates nothing. [history_result]
struct store_read {
  std::string topic = {};
  std::uint64_t limit = 0;
  caf::optional<stream_position> since = caf::none;
  history_limits limits = {};
};

/// Drops `topic`'s history (history_store::remove). [stream_position: the
/// new position, offset 0]
struct store_remove {
  std::string topic = {};
  history_limits limits = {};
};

/// What the store holds. [history_totals]
struct store_totals {};

// -- inspection (the requests and replies are messages) ---------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_limits& x) {
  return f(caf::meta::type_name("history_limits"), x.size, x.ttl);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_result& x) {
  return f(caf::meta::type_name("history_result"), x.top, x.recovered, x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_totals& x) {
  return f(caf::meta::type_name("history_totals"), x.topics, x.messages, x.bytes, x.evicted);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_append& x) {
  return f(caf::meta::type_name("store_append"), x.topic, x.data, x.limits);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_top& x) {
  return f(caf::meta::type_name("store_top"), x.topic, x.limits);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_recover& x) {
  return f(caf::meta::type_name("store_recover"), x.topic, x.since, x.max, x.limits);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_read& x) {
  return f(caf::meta::type_name("store_read"), x.topic, x.limit, x.since, x.limits);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_remove& x) {
  return f(caf::meta::type_name("store_remove"), x.topic, x.limits);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_totals&) {
  return f(caf::meta::type_name("store_totals"));
}

} // namespace switchboard
