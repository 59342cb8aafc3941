#include "node/namespaces.hpp"

#include <caf/config_value.hpp>

namespace switchboard::net {

namespace {

// One option of a namespace into `opts`; what is wrong with it, if anything.
std::string read_option(const std::string& key, const caf::config_value& value,
                        topic_options& opts) {
  if (key == "history-size") {
    auto n = caf::get_if<caf::config_value::integer>(&value);
    if (n == nullptr || *n < 0)
      return "history-size must be a count of messages";
    opts.history_size = static_cast<std::size_t>(*n);
    return {};
  }
  if (key == "history-ttl") {
    auto t = caf::get_if<caf::timespan>(&value);
    if (t == nullptr)
      return "history-ttl must be a duration (such as 10min)";
    opts.history_ttl = *t;
    return {};
  }
  if (key == "presence" || key == "join-leave") {
    auto b = caf::get_if<bool>(&value);
    if (b == nullptr)
      return key + " must be true or false";
    (key == "presence" ? opts.presence : opts.join_leave) = *b;
    return {};
  }
  return "unknown option " + key
         + " (known: history-size, history-ttl, presence, join-leave)";
}

} // namespace

namespace_options read_namespaces(const caf::config_value* section) {
  namespace_options result;
  if (section == nullptr)
    return result;
  auto all = caf::get_if<caf::config_value::dictionary>(section);
  if (all == nullptr) {
    result.problems.push_back("namespaces must be a section of namespaces");
    return result;
  }
  for (auto& [name, value] : *all) {
    auto options = caf::get_if<caf::config_value::dictionary>(&value);
    if (options == nullptr) {
      result.problems.push_back("namespace " + name
                                + " must be {history-size=N, history-ttl=D, "
                                  "presence=BOOL, join-leave=BOOL}");
      continue;
    }
    auto& opts = result.namespaces[name];
    for (auto& [key, v] : *options)
      if (auto problem = read_option(key, v, opts); !problem.empty())
        result.problems.push_back("namespace " + name + ": " + problem);
  }
  return result;
}

} // namespace switchboard::net
