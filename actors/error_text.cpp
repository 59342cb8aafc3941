#include "switchboard/log_text.hpp"

#include "switchboard/messages.hpp"

#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>

namespace switchboard {

namespace {

std::string code_name(const caf::error& err) {
  auto code = err.code();
  auto category = err.category();
  if (category == caf::atom("system"))
    return std::string{"sec."} + caf::to_string(static_cast<caf::sec>(code));
  if (category == caf::atom("exit"))
    return std::string{"exit."} + caf::to_string(static_cast<caf::exit_reason>(code));
  if (category == caf::atom("parser"))
    return std::string{"pec."} + caf::to_string(static_cast<caf::pec>(code));
  if (category == exit_category)
    return std::string{"switchboard."} + to_string(static_cast<exit_code>(code));
  if (category == hub_error_category)
    return std::string{"switchboard."} + to_string(static_cast<hub_errc>(code));
  return caf::to_string(category) + "." + std::to_string(code);
}

} // namespace

std::string describe_error(const caf::error& err) {
  if (!err)
    return "none";
  auto result = code_name(err);
  auto& ctx = err.context();
  for (std::size_t i = 0; i < ctx.size(); ++i) {
    result += i == 0 ? ": " : "; ";
    if (ctx.match_element<std::string>(i))
      result += ctx.get_as<std::string>(i);
    else
      result += ctx.stringify(i);
  }
  return result;
}

} // namespace switchboard
