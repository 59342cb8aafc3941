#pragma once

// The server API's keys and limits as a node's sessions share them, and the
// constant-time check of a request's `Authorization: apikey KEY`. Internal
// to net/.

#include "switchboard/api_keys.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::net {

class console_auth;

/// The SHA-256 digest of an API key.
using api_key_digest = std::array<unsigned char, 32>;

api_key_digest digest_of(std::string_view key);

/// One configured key: its name (what the audit line says) and its digest.
struct api_key_entry {
  std::string name;
  api_key_digest digest;
};

using api_key_set = std::vector<api_key_entry>;

/// The audit name of a call a logged-in console page makes without a key
/// (key names cannot contain parentheses, so it is never a key's).
inline constexpr std::string_view console_caller = "(console)";

struct api_settings {
  /// The keys in force: one atomic load, so that node::set_api_keys() may
  /// replace them from another thread while the I/O loops check requests
  /// (a request is decided on the set it loaded). Empty and no console: no
  /// API (every /api/ path is 404).
  std::shared_ptr<const api_key_set> keys() const {
    return std::atomic_load(&keys_);
  }
  /// Replaces the keys; requests decided already keep their answer.
  void set_keys(api_key_set keys) {
    std::atomic_store(&keys_, std::make_shared<const api_key_set>(std::move(keys)));
  }
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

private:
  // Only through keys() and set_keys(): std::atomic_load and atomic_store.
  std::shared_ptr<const api_key_set> keys_ = std::make_shared<const api_key_set>();
};

/// The names and digests of `keys` (valid: api_key_problems() is empty).
api_key_set api_key_set_of(const std::vector<named_api_key>& keys);

/// Whether `authorization` (the header's value) is `apikey KEY` (the scheme
/// in any case) with the key whose digest is `expected`. How long it takes
/// tells nothing about the configured key, neither its bytes nor its length.
bool key_matches(std::string_view authorization, const api_key_digest& expected);

/// The name of the key in `keys` that `authorization` carries (as
/// key_matches), none when it carries none of them. Every key is compared,
/// each in constant time: how long it takes tells nothing about which key
/// matched, nor about any key's bytes or length.
std::optional<std::string> matching_key(std::string_view authorization,
                                        const api_key_set& keys);

} // namespace switchboard::net
