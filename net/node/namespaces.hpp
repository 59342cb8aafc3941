#pragma once

// Per-topic options by namespace (docs/protocol.md v1.1), read from the CAF
// config file's `namespaces` section (in the node options' category:
// top-level for the CLI; switchboard/node_options.hpp). Internal to net/.
//
//   [namespaces]
//   chat={history-size=100, history-ttl=10min, presence=true, join-leave=true}
//
// (or `namespaces { chat { ... } }`). An option a namespace leaves out takes
// its built-in default, not the top-level flag's value.

#include "switchboard/settings.hpp"

#include <caf/settings.hpp>

#include <map>
#include <string>
#include <vector>

namespace switchboard::net {

struct namespace_options {
  std::map<std::string, topic_options> namespaces;
  /// What is wrong in the section (an unknown option, a value of the wrong
  /// type); the bounds are node_config::problems()'s.
  std::vector<std::string> problems;
};

/// Reads a `namespaces` section (null: none, no namespaces).
namespace_options read_namespaces(const caf::config_value* section);

} // namespace switchboard::net
