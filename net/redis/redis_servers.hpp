#pragma once

// The `--redis` list: `host:port[,host:port...]`. Internal to net/.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::net {

/// One Redis server as the option names it.
struct redis_server_address {
  std::string host;
  std::uint16_t port = 0;
};

/// The servers of a `--redis` value in its order; nullopt when an entry is
/// not host:port (a port from 1 to 65535; IPv6 in brackets: [::1]:6379).
std::optional<std::vector<redis_server_address>> redis_servers_of(const std::string& list);

} // namespace switchboard::net
