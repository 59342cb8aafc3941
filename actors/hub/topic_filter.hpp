#pragma once

// Which topics a connection may subscribe to and publish on: every topic, or
// only those that match one of the glob patterns its authenticator gave it
// (upgrade_verdict::topics, e.g. a JWT's `topics` claim). The hub checks it
// before any authorizer. Not installed.

#include <caf/all.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

/// Whether `text` matches the glob `pattern`: `*` matches any run of
/// characters (none included, and it crosses '/': topics have no hierarchy),
/// `?` exactly one character (a UTF-8 code point, not a byte); every other
/// character matches itself, byte for byte. There is no escape: a literal
/// `*` or `?` in a topic is matched by a wildcard.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

class topic_filter {
public:
  /// Unrestricted: every topic is allowed.
  topic_filter() = default;

  /// Only topics matching one of `patterns` (none: no topic at all).
  explicit topic_filter(std::vector<std::string> patterns);

  /// Unrestricted for none, else the patterns (upgrade_verdict::topics).
  static topic_filter of(const caf::optional<std::vector<std::string>>& patterns);

  bool restricted() const noexcept {
    return patterns_ != nullptr;
  }

  bool allows(std::string_view topic) const noexcept;

private:
  // Shared: the hub keeps one per connection, and a message carries it there.
  std::shared_ptr<const std::vector<std::string>> patterns_;
};

} // namespace switchboard

// Travels only inside one process (enroll), never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::topic_filter)
