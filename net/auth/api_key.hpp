#pragma once

// The server API's key and limits as a node's sessions share them, and the
// constant-time check of a request's `Authorization: apikey KEY`. Internal
// to net/.

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace switchboard::net {

class console_auth;

/// The SHA-256 digest of an API key.
using api_key_digest = std::array<unsigned char, 32>;

api_key_digest digest_of(std::string_view key);

struct api_settings {
  /// The configured key's digest; none: no API (every /api/ path is 404).
  std::optional<api_key_digest> key;
  /// The largest request body an authorized API request may have.
  std::size_t max_body = 1024 * 1024;
  /// The largest `data` a publish, broadcast or send may carry (the node's
  /// max-message-size: what a client could publish).
  std::size_t max_data = 64 * 1024;
  /// The web console's logins (docs/console.md): a logged-in console page
  /// may call the API without the key. Null: no console.
  std::shared_ptr<console_auth> console;
  /// The node speaks https (the console's Origin checks expect it).
  bool tls = false;
};

/// Whether `authorization` (the header's value) is `apikey KEY` (the scheme
/// in any case) with the key whose digest is `expected`. How long it takes
/// tells nothing about the configured key, neither its bytes nor its length.
bool key_matches(std::string_view authorization, const api_key_digest& expected);

} // namespace switchboard::net
