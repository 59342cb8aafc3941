#include "switchboard/api_keys.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <iterator>

namespace switchboard {

namespace {

constexpr std::size_t max_name_size = 64;

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= max_name_size
         && std::all_of(name.begin(), name.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                     || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
            });
}

bool valid_key(std::string_view key) {
  return !key.empty()
         && std::all_of(key.begin(), key.end(), [](char ch) { return ch > ' ' && ch < 0x7f; });
}

constexpr std::string_view blanks = " \t\r";

} // namespace

std::vector<named_api_key> with_default_key(const std::string& api_key,
                                            std::vector<named_api_key> keys) {
  // An api_key that is not printable has a problem of its own.
  if (valid_key(api_key))
    keys.insert(keys.begin(), {std::string{default_api_key_name}, api_key});
  return keys;
}

std::vector<std::string> api_key_problems(const std::vector<named_api_key>& keys) {
  std::vector<std::string> result;
  std::set<std::string_view> names;
  std::set<std::string_view> secrets;
  for (auto& k : keys) {
    if (!valid_name(k.name)) {
      result.push_back("an API key name must be 1-64 characters of A-Z a-z 0-9 . _ -");
      continue;
    }
    if (!valid_key(k.key))
      result.push_back("the API key '" + k.name + "' must be printable ASCII without spaces");
    if (!names.insert(k.name).second)
      result.push_back("the API key name '" + k.name + "' appears twice");
    // Two names for one key: the audit could not tell who called.
    if (!secrets.insert(k.key).second)
      result.push_back("the API key '" + k.name + "' is the key of another name");
  }
  return result;
}

caf::expected<std::vector<named_api_key>> parse_api_keys(std::string_view text) {
  std::vector<named_api_key> result;
  std::size_t number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    auto first = line.find_first_not_of(blanks);
    if (first == std::string_view::npos || line[first] == '#')
      continue;
    line.remove_prefix(first);
    line = line.substr(0, line.find_last_not_of(blanks) + 1);
    auto gap = line.find_first_of(blanks);
    auto key_at = gap == std::string_view::npos ? gap : line.find_first_not_of(blanks, gap);
    if (key_at == std::string_view::npos || line.find_first_of(blanks, key_at) != line.npos)
      return caf::make_error(caf::sec::invalid_argument,
                             "line " + std::to_string(number)
                               + ": expected NAME KEY (two words)");
    result.push_back({std::string{line.substr(0, gap)}, std::string{line.substr(key_at)}});
    if (auto problems = api_key_problems(result); !problems.empty())
      return caf::make_error(caf::sec::invalid_argument,
                             "line " + std::to_string(number) + ": " + problems.front());
  }
  return result;
}

caf::expected<std::vector<named_api_key>> read_api_keys_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return caf::make_error(caf::sec::invalid_argument, "cannot read " + path);
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad())
    return caf::make_error(caf::sec::invalid_argument, "cannot read " + path);
  auto keys = parse_api_keys(text);
  if (!keys)
    return caf::make_error(caf::sec::invalid_argument,
                           path + ": " + keys.error().context().get_as<std::string>(0));
  return keys;
}

} // namespace switchboard
