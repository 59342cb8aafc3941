#pragma once

/// The server API's named keys (docs/api.md, "Keys"): each key has a name,
/// which the audit line logs, so that one key can be rotated or revoked
/// while the others keep working. node_config::api_keys holds them,
/// node::set_api_keys() replaces them at run time; a keys file (the CLI's
/// --api-keys-file) lists them one per line.

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

struct named_api_key {
  /// 1-64 characters of A-Z, a-z, 0-9, `.`, `_` and `-`; unique in a list.
  std::string name;
  /// Printable ASCII without spaces, as node_config::api_key.
  std::string key;
};

/// The name node_config::api_key goes by in the audit line.
inline constexpr std::string_view default_api_key_name = "default";

/// `keys` with node_config::api_key (when set) first, as `default`: the
/// keys a node takes.
std::vector<named_api_key> with_default_key(const std::string& api_key,
                                            std::vector<named_api_key> keys);

/// What is wrong with `keys` (a name or key against the rules above, a
/// name twice, the same key under two names), empty when nothing is. Names
/// no key (no secret ends up in a log line).
std::vector<std::string> api_key_problems(const std::vector<named_api_key>& keys);

/// Parses a keys file's text: one `NAME KEY` per line (separated by spaces
/// or tabs), empty lines and lines starting with `#` ignored. An error
/// (sec::invalid_argument) names the first bad line by its number, or what
/// api_key_problems() finds; it never quotes a key.
caf::expected<std::vector<named_api_key>> parse_api_keys(std::string_view text);

/// Reads and parses the keys file at `path`.
caf::expected<std::vector<named_api_key>> read_api_keys_file(const std::string& path);

} // namespace switchboard
