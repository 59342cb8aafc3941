#include "redis/redis_servers.hpp"

#include <algorithm>

namespace switchboard::net {

namespace {

std::optional<redis_server_address> address_of(std::string entry) {
  auto colon = entry.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()
      || entry.size() - colon - 1 > 5)
    return std::nullopt;
  auto digits = entry.substr(colon + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return std::nullopt;
  auto port = std::stoul(digits);
  if (port < 1 || port > 65535)
    return std::nullopt;
  auto host = entry.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host.find_first_of(" ,[]") != std::string::npos)
    return std::nullopt;
  return redis_server_address{host, static_cast<std::uint16_t>(port)};
}

} // namespace

std::optional<std::vector<redis_server_address>> redis_servers_of(const std::string& list) {
  std::vector<redis_server_address> out;
  std::size_t begin = 0;
  for (;;) {
    auto end = list.find(',', begin);
    auto a = address_of(list.substr(begin, end == std::string::npos ? end : end - begin));
    if (!a)
      return std::nullopt;
    out.push_back(std::move(*a));
    if (end == std::string::npos)
      return out;
    begin = end + 1;
  }
}

} // namespace switchboard::net
