#include "auth/api_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>

namespace switchboard::net {

api_key_digest digest_of(std::string_view key) {
  api_key_digest result{};
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), result.data(), &size, EVP_sha256(), nullptr) != 1
      || size != result.size())
    std::abort(); // SHA-256 is always there; without it no key could be checked
  return result;
}

api_key_set api_key_set_of(const std::vector<named_api_key>& keys) {
  api_key_set result;
  for (auto& k : keys)
    result.push_back({k.name, digest_of(k.key)});
  return result;
}

namespace {

// The key `authorization` presents (after `apikey `), none without the scheme.
std::optional<std::string_view> presented_key(std::string_view authorization) {
  // The scheme is not secret: an early return on it tells nothing about the key.
  constexpr std::string_view scheme = "apikey";
  if (authorization.size() <= scheme.size())
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return std::nullopt;
  auto rest = authorization.substr(scheme.size());
  if (rest.front() != ' ')
    return std::nullopt;
  rest.remove_prefix(rest.find_first_not_of(' ') == std::string_view::npos
                       ? rest.size()
                       : rest.find_first_not_of(' '));
  return rest;
}

} // namespace

bool key_matches(std::string_view authorization, const api_key_digest& expected) {
  auto key = presented_key(authorization);
  if (!key)
    return false;
  // Comparing the keys themselves byte by byte would stop at the first
  // difference (and at the shorter length): the time would tell an attacker
  // how much of a guess is right. The digests have a fixed size and differ
  // unpredictably from any guess, and CRYPTO_memcmp takes the same time
  // wherever they differ; hashing costs the same for every key of a length,
  // which tells nothing about the configured key.
  auto presented = digest_of(*key);
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::optional<std::string> matching_key(std::string_view authorization,
                                        const api_key_set& keys) {
  auto key = presented_key(authorization);
  if (!key)
    return std::nullopt;
  auto presented = digest_of(*key);
  // Every key is compared, the match or not: stopping at the match would
  // tell by the time which entry of the list a key is.
  const api_key_entry* found = nullptr;
  for (auto& entry : keys)
    if (CRYPTO_memcmp(presented.data(), entry.digest.data(), entry.digest.size()) == 0)
      found = &entry;
  if (found == nullptr)
    return std::nullopt;
  return found->name;
}

} // namespace switchboard::net
