#include "commands.hpp"

namespace switchboard {

farewell farewell_of(const caf::error& reason) {
  farewell result{exit_code_of(reason), 0, {}};
  // Expired credentials are the protocol's own close (docs/protocol.md), in
  // the range RFC 6455 leaves to applications: it travels like theirs.
  if (result.reason == exit_code::token_expired) {
    result.code = 4001;
    result.text = "token expired";
  }
  if (result.reason == exit_code::disconnected || result.reason == exit_code::shutdown) {
    auto& ctx = reason.context();
    if (ctx.match_elements<std::uint16_t, std::string>()) {
      result.code = ctx.get_as<std::uint16_t>(0);
      result.text = ctx.get_as<std::string>(1);
    }
  }
  return result;
}

caf::error make_shutdown(std::uint16_t code, std::string text) {
  return {static_cast<std::uint8_t>(exit_code::shutdown), exit_category,
          caf::make_message(code, std::move(text))};
}

caf::error make_disconnect(std::uint16_t code, std::string text) {
  return {static_cast<std::uint8_t>(exit_code::disconnected), exit_category,
          caf::make_message(code, std::move(text))};
}

} // namespace switchboard
