#pragma once

/// Topic membership for the hub: which connections subscribe to which
/// topics, and which server-side listeners. A plain data structure (no
/// actors, no messages), so it can be tested on its own.
///
/// Every operation costs O(1) per topic involved: a subscription is one node
/// in a hash map keyed by (connection, topic); it knows its position in the
/// topic's subscriber vector (so leaving is a swap with the last one) and
/// links to the connection's other subscriptions (so a disconnect walks only
/// that connection's topics). Fan-out reads the subscriber vector straight.

#include "switchboard/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace switchboard {

struct hub_app_actor;
struct hub_connection;
struct hub_topic;

/// One connection's subscription to one topic.
struct subscription {
  hub_connection* conn = nullptr;
  hub_topic* topic = nullptr;
  std::uint32_t index = 0;      ///< position in topic->subscribers
  subscription* prev = nullptr; ///< the connection's other subscriptions
  subscription* next = nullptr;
};

/// A connection's subscriptions (intrusive: no allocation per connection).
struct subscription_list {
  subscription* head = nullptr;
  std::size_t size = 0;
};

struct hub_topic {
  const std::string* name = nullptr; ///< the table's key
  std::string quoted;                ///< the name as a JSON string literal
  std::vector<subscription*> subscribers;
  std::vector<hub_app_actor*> listeners; ///< server-side subscribers

  bool empty() const noexcept {
    return subscribers.empty() && listeners.empty();
  }
};

class topic_table {
public:
  struct limits {
    std::size_t per_connection;
    std::size_t topics;
  };

  enum class outcome {
    subscribed,       ///< a new subscription
    already,          ///< it was subscribed: nothing changed
    connection_limit, ///< the connection is at its limit: refused
    node_limit,       ///< the node is at its topic limit: refused
  };

  topic_table() = default;
  topic_table(const topic_table&) = delete;
  topic_table& operator=(const topic_table&) = delete;

  /// Subscribes `conn` (whose subscriptions are `subs`) to `name`. The topic
  /// is set on success and on `already`.
  std::pair<outcome, hub_topic*> subscribe(hub_connection& conn, subscription_list& subs,
                                           const std::string& name, const limits& lim);

  /// Ends the subscription of `conn` to `name`; false if it had none.
  bool unsubscribe(hub_connection& conn, subscription_list& subs, const std::string& name);

  /// Ends every subscription in `subs`.
  void unsubscribe_all(subscription_list& subs);

  /// The topic named `name`, creating it (for a listener) unless the node
  /// is at `max_topics`; null then.
  hub_topic* ensure(const std::string& name, std::size_t max_topics);

  /// The topic named `name`, or null.
  hub_topic* find(const std::string& name);

  /// Whether `conn` is subscribed to `t`.
  bool subscribed(const hub_connection& conn, const hub_topic& t) const {
    return subscriptions_.count(key{&conn, &t}) != 0;
  }

  /// Forgets `t` if it has neither subscribers nor listeners.
  void drop_if_empty(hub_topic& t);

  std::size_t size() const noexcept {
    return topics_.size();
  }

  /// When set, called with a topic's name and true when the topic comes to
  /// be (its first subscriber or listener), false when it goes (its last
  /// left): a clustered hub tells the other nodes (hub_cluster.cpp).
  std::function<void(const std::string&, bool)> on_change;

  /// Calls `f(const hub_topic&)` for every topic.
  template <class F>
  void for_each(F&& f) const {
    for (auto& kvp : topics_)
      f(kvp.second);
  }

  /// Calls `f(const hub_topic&)` for every topic until it returns false.
  template <class F>
  void for_each_until(F&& f) const {
    for (auto& kvp : topics_)
      if (!f(kvp.second))
        return;
  }

private:
  using key = std::pair<const hub_connection*, const hub_topic*>;

  struct key_hash {
    std::size_t operator()(const key& k) const noexcept {
      auto a = reinterpret_cast<std::uintptr_t>(k.first);
      auto b = reinterpret_cast<std::uintptr_t>(k.second);
      return std::hash<std::uintptr_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL));
    }
  };

  void remove(subscription_list& subs, subscription& s);

  std::unordered_map<std::string, hub_topic> topics_;
  std::unordered_map<key, subscription, key_hash> subscriptions_;
};

} // namespace switchboard
