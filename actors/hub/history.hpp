#pragma once

// Topic histories (docs/protocol.md v1.1, docs/architecture.md "History"):
// the store interface the hub talks to, and the in-memory store a single
// node uses. Not installed.
//
// The hub owns one store and is its only caller, so a store needs no lock.
// Every call is synchronous here; docs/architecture.md says how a shared,
// asynchronous store (Redis) takes this interface's place.

#include "switchboard/history_store.hpp"
#include "switchboard/messages.hpp"

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard {

/// Where topic histories live. Offsets start at 1 and grow by one per
/// append; an epoch names one unbroken history of a topic.
class history_store {
public:
  using time_point = caf::actor_clock::time_point;

  virtual ~history_store();

  /// Stores `data` as `topic`'s next message; returns its position.
  virtual stream_position append(const std::string& topic, std::string_view data,
                                 const history_limits& lim, time_point now)
    = 0;

  /// The current epoch and last offset, creating an empty history (a new
  /// epoch) when the topic has none.
  virtual stream_position top(const std::string& topic, const history_limits& lim,
                              time_point now)
    = 0;

  /// The messages after `since`, all or none: recovered (and the messages)
  /// only if `since` names the current epoch and every message after it is
  /// still kept, at most `max` of them. Creates a history like top().
  virtual history_result recover(const std::string& topic, const stream_position& since,
                                 std::size_t max, const history_limits& lim,
                                 time_point now)
    = 0;

  /// The last `limit` kept messages, or the first `limit` after `since`
  /// (from the oldest kept when its epoch is not the current one). Creates
  /// nothing: a topic without a history answers an empty epoch.
  virtual history_result read(const std::string& topic, std::size_t limit,
                              const std::optional<stream_position>& since,
                              const history_limits& lim, time_point now)
    = 0;

  /// Drops `topic`'s history; a topic still in use starts a new one (new
  /// epoch, offset 0) at once. Returns that position (an empty epoch when
  /// none was started).
  virtual stream_position remove(const std::string& topic, const history_limits& lim,
                                 time_point now)
    = 0;

  /// Drops what outlived its TTL (the hub calls it on a timer).
  virtual void expire(time_point now) = 0;

  virtual history_totals totals() const = 0;
};

/// A node's own histories, in memory. Per append O(1) (amortized over what
/// it evicts or expires): a deque per topic; per-TTL lists ordered by the
/// last append, so expiry looks only at topics that have expired; and
/// histories bucketed by log2 of their bytes, so the byte bound evicts from
/// one of the largest (within a factor of two) without looking at the rest.
class memory_history final : public history_store {
public:
  /// Whether a topic is in use (has subscribers or listeners): its history
  /// then outlives its messages, so that its offsets go on.
  using in_use_fn = std::function<bool(const std::string&)>;

  /// What one kept message costs on top of its data (its deque entry, the
  /// string's allocation rounded up, the deque's blocks), counted against
  /// `max_bytes`: close to the RSS a kept message costs (docs/benchmarks.md).
  static constexpr std::size_t message_overhead = 80;

  memory_history(std::size_t max_bytes, in_use_fn in_use);
  ~memory_history() override;

  memory_history(const memory_history&) = delete;
  memory_history& operator=(const memory_history&) = delete;

  stream_position append(const std::string& topic, std::string_view data,
                         const history_limits& lim, time_point now) override;
  stream_position top(const std::string& topic, const history_limits& lim,
                      time_point now) override;
  history_result recover(const std::string& topic, const stream_position& since,
                         std::size_t max, const history_limits& lim,
                         time_point now) override;
  history_result read(const std::string& topic, std::size_t limit,
                      const std::optional<stream_position>& since,
                      const history_limits& lim, time_point now) override;
  stream_position remove(const std::string& topic, const history_limits& lim,
                         time_point now) override;
  void expire(time_point now) override;
  history_totals totals() const override;

private:
  struct entry {
    std::uint64_t offset;
    time_point stored;
    std::string data;
  };

  struct record;

  /// An intrusive list of records (no allocation per link).
  struct record_list {
    record* head = nullptr;
    record* tail = nullptr;
  };

  struct record {
    const std::string* name = nullptr; ///< the map's key
    std::string epoch;
    std::uint64_t top = 0;
    std::deque<entry> entries; ///< offsets top - size + 1 .. top
    std::size_t bytes = 0;
    caf::timespan ttl{};
    time_point touched{}; ///< last append (or last look by expire)
    record* age_prev = nullptr;
    record* age_next = nullptr;
    int bucket = -1; ///< in buckets_[bucket] while bytes > 0
    record* size_prev = nullptr;
    record* size_next = nullptr;
  };

  record& ensure(const std::string& topic, const history_limits& lim, time_point now);
  record* find(const std::string& topic);
  void trim(record& r, time_point now);
  void pop_front(record& r);
  void clear(record& r);
  void drop(record& r);
  void touch(record& r, time_point now);
  void rebucket(record& r);
  void evict();
  std::string new_epoch();

  std::size_t max_bytes_;
  in_use_fn in_use_;
  std::unordered_map<std::string, record> records_;
  /// Per TTL, the records in the order of their last append.
  std::map<caf::timespan, record_list> by_age_;
  /// Records by floor(log2(bytes)) + 1.
  std::array<record_list, 65> buckets_{};
  std::uint64_t messages_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
  std::mt19937_64 random_;
};

} // namespace switchboard
