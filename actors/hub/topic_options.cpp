// Which options a topic has (its namespace's or the top-level ones), and
// what is impossible about them.

#include "switchboard/settings.hpp"

#include <algorithm>
#include <chrono>

namespace switchboard {

const topic_options& hub_settings::options_for(const std::string& topic) const {
  if (namespaces.empty())
    return topic_defaults;
  auto colon = topic.find(':');
  if (colon == std::string::npos)
    return topic_defaults;
  auto i = namespaces.find(topic.substr(0, colon));
  return i == namespaces.end() ? topic_defaults : i->second;
}

namespace {

bool valid_namespace(const std::string& name) {
  return !name.empty() && name.size() <= 64
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '_' || c == '-';
            });
}

void check(const topic_options& o, const std::string& where,
           std::vector<std::string>& out) {
  if (o.history_size > max_history_size)
    out.push_back(where + "history-size must be 0-" + std::to_string(max_history_size));
  // A TTL below a second would expire messages between two of the hub's
  // expiry rounds; above a week is no replay any more, but a database.
  if (o.history_ttl < std::chrono::seconds(1) || o.history_ttl > std::chrono::hours(24 * 7))
    out.push_back(where + "history-ttl must be 1s-7d");
}

} // namespace

std::vector<std::string> hub_settings::topic_option_problems() const {
  std::vector<std::string> result;
  check(topic_defaults, "", result);
  for (auto& [name, opts] : namespaces) {
    if (!valid_namespace(name))
      result.push_back("namespace '" + name + "': a name is 1-64 of [A-Za-z0-9_-]");
    check(opts, "namespace " + name + ": ", result);
  }
  if (history_max_bytes < (std::size_t{1} << 20))
    result.push_back("history-max-bytes must be at least 1 MiB (1048576)");
  if (recovery_max < 1 || recovery_max > max_recovery)
    result.push_back("recovery-max must be 1-" + std::to_string(max_recovery));
  if (replay_max_bytes < 1)
    result.push_back("the replay budget must be at least 1 byte");
  if (history_store_timeout <= caf::timespan{0})
    result.push_back("the history store's timeout must be positive");
  if (history_store_max_in_flight < 1)
    result.push_back("the history store's in-flight bound must be at least 1");
  if (history_gap_timeout <= caf::timespan{0})
    result.push_back("the history gap timeout must be positive");
  return result;
}

} // namespace switchboard
