#include "switchboard/admission_limits.hpp"

#include <cmath>

namespace switchboard {

namespace {

std::string show(double x) {
  auto s = std::to_string(x);
  // "0.500000" -> "0.5", "3.000000" -> "3"
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.')
      s.pop_back();
  }
  return s;
}

} // namespace

std::optional<std::string> admission_limits::validate() const {
  if (max_connections == 0)
    return "max-connections must be at least 1 (got 0): a node that admits no "
           "WebSocket connection serves nothing";
  if (max_connections_per_address == 0)
    return "max-connections-per-address must be at least 1 (got 0): no client "
           "could connect";
  if (!std::isfinite(handshake_rate) || handshake_rate <= 0)
    return "handshake-rate must be a positive number of upgrades per second (got "
           + show(handshake_rate) + "): no bucket would ever refill";
  if (handshake_burst == 0)
    return "handshake-burst must be at least 1 (got 0): every upgrade needs one "
           "token";
  if (max_pending_connections == 0)
    return "max-pending-connections must be at least 1 (got 0): no connection could "
           "send a request";
  if (max_pending_connections_per_address == 0)
    return "max-pending-connections-per-address must be at least 1 (got 0): no client "
           "could send a request";
  return std::nullopt;
}

} // namespace switchboard
