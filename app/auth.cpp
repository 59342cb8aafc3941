#include "auth.hpp"

#include "switchboard/log_text.hpp"

#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <sstream>

namespace switchboard::app {

caf::expected<jwt_verifier> make_verifier(const config& cfg) {
  jwt_settings settings;
  settings.secret = cfg.jwt_secret;
  settings.leeway = cfg.jwt_leeway;
  settings.allow_no_exp = cfg.jwt_allow_no_exp;
  if (!cfg.jwt_public_key.empty()) {
    std::ifstream in{cfg.jwt_public_key};
    if (!in)
      return caf::make_error(caf::sec::invalid_argument,
                             "jwt-public-key: cannot read " + cfg.jwt_public_key);
    std::ostringstream pem;
    pem << in.rdbuf();
    settings.public_key_pem = pem.str();
  }
  return jwt_verifier::make(std::move(settings));
}

std::string describe(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return describe_error(err);
}

std::optional<std::string> open_node_warning(const config& cfg, const node_config& node) {
  if (cfg.auth != "none")
    return std::nullopt;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(node.host, ec);
  if (node.host == "localhost" || (!ec && address.is_loopback()))
    return std::nullopt;
  return "--auth=none and --host=" + node.host
         + " is not loopback: every client that reaches the port gets in anonymously";
}

} // namespace switchboard::app
