#include "auth.hpp"

#include "switchboard/log_text.hpp"

#include <boost/asio/ip/address.hpp>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::app {

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

caf::expected<std::string> read_file(const std::string& path, const char* option) {
  std::ifstream in{path};
  std::ostringstream text;
  if (!in || !(text << in.rdbuf()))
    return invalid(std::string{option} + ": cannot read " + path);
  return text.str();
}

// --jwt-keys: a directory of KID.pem files, or a JWKS file.
caf::error read_jwt_keys(const std::string& path, jwt_settings& settings) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    auto jwks = read_file(path, "jwt-keys");
    if (!jwks)
      return std::move(jwks.error());
    if (jwks->empty())
      return invalid("jwt-keys: " + path + " is empty");
    settings.jwks = std::move(*jwks);
    return caf::none;
  }
  for (fs::directory_iterator it{path, ec}, end; !ec && it != end; it.increment(ec)) {
    auto& file = it->path();
    if (file.extension() != ".pem" || !it->is_regular_file(ec))
      continue;
    auto pem = read_file(file.string(), "jwt-keys");
    if (!pem)
      return std::move(pem.error());
    settings.keys.push_back({file.stem().string(), {}, std::move(*pem)});
  }
  if (ec)
    return invalid("jwt-keys: cannot list " + path + ": " + ec.message());
  if (settings.keys.empty())
    return invalid("jwt-keys: no KID.pem file in " + path);
  return caf::none;
}

std::string describe_keys(const jwt_verifier& verifier) {
  std::string result;
  for (auto& key : verifier.keys())
    result += (result.empty() ? "" : ", ") + (key.kid.empty() ? "(no kid)" : key.kid) + " ("
              + key.algorithm + ")";
  return result;
}

} // namespace

caf::expected<jwt_verifier> make_verifier(const config& cfg) {
  jwt_settings settings;
  settings.secret = cfg.jwt_secret;
  settings.leeway = cfg.jwt_leeway;
  settings.allow_no_exp = cfg.jwt_allow_no_exp;
  settings.issuer = cfg.jwt_issuer;
  settings.audience = cfg.jwt_audience;
  if (!cfg.jwt_public_key.empty()) {
    auto pem = read_file(cfg.jwt_public_key, "jwt-public-key");
    if (!pem)
      return pem.error();
    settings.public_key_pem = std::move(*pem);
  }
  if (!cfg.jwt_keys.empty())
    if (auto err = read_jwt_keys(cfg.jwt_keys, settings))
      return err;
  return jwt_verifier::make(std::move(settings));
}

caf::expected<std::vector<std::string>> read_origins_file(const std::string& path) {
  auto text = read_file(path, "allowed-origins-file");
  if (!text)
    return text.error();
  std::vector<std::string> result;
  std::istringstream lines{*text};
  for (std::string line; std::getline(lines, line);) {
    line.erase(std::min(line.find('#'), line.size()));
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos)
      continue;
    auto last = line.find_last_not_of(" \t\r");
    result.push_back(line.substr(first, last - first + 1));
  }
  if (result.empty())
    return invalid("allowed-origins-file: " + path
                   + " lists no origin (to allow every origin, drop the option)");
  return result;
}

void reload_auth(const config& cfg, const jwt_authenticator_actor& jwt, node& n,
                 spdlog::logger& log) {
  if (jwt) {
    if (auto verifier = make_verifier(cfg)) {
      // Sent before the line is logged: whoever waits for the line and then
      // connects is judged by the new keys (one mailbox, in order).
      auto keys = describe_keys(*verifier);
      caf::anon_send(jwt, std::move(*verifier));
      log.info("SIGHUP: JWT keys reloaded: {}", keys);
    } else {
      log.error("SIGHUP: JWT keys not reloaded, keeping the current ones: {}",
                describe(verifier.error()));
    }
  }
  if (cfg.allowed_origins_file.empty())
    return;
  auto origins = cfg.allowed_origins();
  auto count = origins ? origins->size() : 0;
  auto err = origins ? n.set_allowed_origins(std::move(*origins)) : origins.error();
  if (err)
    log.error("SIGHUP: allowed origins not reloaded, keeping the current ones: {}",
              describe(err));
  else
    log.info("SIGHUP: allowed origins reloaded: {} origins", count);
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
