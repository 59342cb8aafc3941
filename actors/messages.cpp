#include "switchboard/messages.hpp"

#include "switchboard/transport.hpp"

namespace switchboard {

caf::error make_error(exit_code x) {
  // A code off the list (0 above all, which CAF reads as "no error", i.e. a
  // normal exit that links do not pass on) would leave the partner actor and
  // its socket alive: name it a socket_error.
  auto code = static_cast<std::uint8_t>(x);
  if (code < 1 || code > static_cast<std::uint8_t>(exit_code::hub_down))
    code = static_cast<std::uint8_t>(exit_code::socket_error);
  return {code, exit_category};
}

const char* to_string(exit_code x) {
  switch (x) {
    case exit_code::socket_closed:
      return "socket_closed";
    case exit_code::socket_error:
      return "socket_error";
    case exit_code::heartbeat_timeout:
      return "heartbeat_timeout";
    case exit_code::slow_consumer:
      return "slow_consumer";
    case exit_code::protocol_error:
      return "protocol_error";
    case exit_code::shutdown:
      return "shutdown";
    case exit_code::rate_limited:
      return "rate_limited";
    case exit_code::hub_down:
      return "hub_down";
  }
  return "unknown";
}

exit_code exit_code_of(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal)
    return exit_code::shutdown;
  if (reason.category() == exit_category && reason.code() >= 1
      && reason.code() <= static_cast<std::uint8_t>(exit_code::hub_down))
    return static_cast<exit_code>(reason.code());
  return exit_code::socket_error;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    exit_category, [](std::uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"switchboard::"} + to_string(static_cast<exit_code>(code));
    });
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<topic_message>("switchboard::topic_message");
  cfg.add_message_type<hub_stats>("switchboard::hub_stats");
  cfg.add_message_type<client_subscribe>("switchboard::client_subscribe");
  cfg.add_message_type<client_unsubscribe>("switchboard::client_unsubscribe");
  cfg.add_message_type<client_publish>("switchboard::client_publish");
  cfg.add_message_type<client_send>("switchboard::client_send");
}

transport::~transport() = default;

} // namespace switchboard
