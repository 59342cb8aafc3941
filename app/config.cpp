#include "config.hpp"

#include "auth.hpp"

#include <fstream>
#include <utility>

namespace switchboard::app {

namespace {

// The CLI's options are top-level: --port, not --switchboard.port.
constexpr const char* category = "global";

} // namespace

config::config() {
  // Measured on 2 cores (docs/benchmarks.md): the node spends its time in
  // the I/O threads (framing, sendmsg); the actors need one CAF worker, and
  // a second one mostly spins looking for work to steal. A worker with
  // nothing to do polls its queue 100 times, then 500 more times 50 us
  // apart (CAF's "moderate" phase), then sleeps on a condition variable
  // that every enqueue signals. Skipping the moderate phase cut the node's
  // CPU at a low message rate and cost nothing measurable at saturation
  // (docs/benchmarks.md). All stay options.
  set("scheduler.max-threads", 1);
  set("work-stealing.moderate-poll-attempts", 0);
  add_node_options(custom_options_, category);
  opt_group{custom_options_, category}
    // Operations (docs/operations.md).
    .add(log_level, "log-level",
         "trace|debug|info|warn|error|off: what goes to stderr (default info)")
    .add(log_format, "log-format",
         "text|json: one line per event, or one JSON object per line (default text)")
    .add(api_keys_file, "api-keys-file",
         "file of named API keys, one 'NAME KEY' per line, reloaded on SIGHUP (default none)")
    .add(print_version, "version", "print the version and exit")
    .add(check_only, "check-config",
         "check the options and the files they name (TLS, JWT keys, API keys, origins), "
         "print each problem or 'configuration OK', exit 2 or 0; binds nothing")
    // Who may connect (docs/security.md).
    .add(auth, "auth", "none|jwt: client authentication on the upgrade (default none)")
    .add(jwt_secret, "jwt-secret", "HS256 secret, at least 32 bytes (with --auth=jwt)")
    .add(jwt_public_key, "jwt-public-key",
         "PEM file of an RSA (RS256) or EC P-256 (ES256) public key (with --auth=jwt)")
    .add(jwt_leeway, "jwt-leeway",
         "clock skew allowed on exp and nbf; a connection ends this long after its "
         "token's exp unless refreshed (default 30s)")
    .add(jwt_allow_no_exp, "jwt-allow-no-exp",
         "accept tokens without exp, whose connections never expire (default off)")
    .add(jwt_keys, "jwt-keys",
         "JWKS file, or directory of KID.pem public keys: keys picked by the token's kid, "
         "read again on SIGHUP (with --auth=jwt)")
    .add(jwt_issuer, "jwt-issuer", "the iss every token must carry (with --auth=jwt)")
    .add(jwt_audience, "jwt-audience",
         "the aud every token must carry, or contain (with --auth=jwt)")
    .add(allowed_origins_file, "allowed-origins-file",
         "file of allowed origins, one per line (# comments), added to --allowed-origins; "
         "read again on SIGHUP");
}

node_config config::node() const {
  std::vector<std::string> ignored; // problems() reports them
  auto result = node_config_from(*this, ignored, category);
  if (auto origins = with_origins_file(result.allowed_origins))
    result.allowed_origins = std::move(*origins);
  if (!api_keys_file.empty())
    if (auto keys = read_api_keys_file(api_keys_file))
      result.api_keys = std::move(*keys);
  return result;
}

caf::expected<std::vector<std::string>> config::allowed_origins() const {
  std::vector<std::string> ignored; // problems() reports them
  return with_origins_file(node_config_from(*this, ignored, category).allowed_origins);
}

caf::expected<std::vector<std::string>>
config::with_origins_file(std::vector<std::string> origins) const {
  if (allowed_origins_file.empty())
    return origins;
  auto file = read_origins_file(allowed_origins_file);
  if (!file)
    return file.error();
  origins.insert(origins.end(), file->begin(), file->end());
  return origins;
}

caf::settings config::dump_content() const {
  auto result = caf::actor_system_config::dump_content();
  dump_node_options(*this, result, category);
  caf::put(result, "log-level", log_level);
  caf::put(result, "log-format", log_format);
  caf::put(result, "api-keys-file", api_keys_file);
  caf::put(result, "auth", auth);
  // The secret itself never appears in a dump (it may end up in a log).
  caf::put(result, "jwt-secret", std::string{jwt_secret.empty() ? "" : "(set, not shown)"});
  caf::put(result, "jwt-public-key", jwt_public_key);
  caf::put(result, "jwt-leeway", jwt_leeway);
  caf::put(result, "jwt-allow-no-exp", jwt_allow_no_exp);
  caf::put(result, "jwt-keys", jwt_keys);
  caf::put(result, "jwt-issuer", jwt_issuer);
  caf::put(result, "jwt-audience", jwt_audience);
  caf::put(result, "allowed-origins-file", allowed_origins_file);
  return result;
}

std::vector<std::string> config::problems() const {
  std::vector<std::string> result;
  auto n = node_config_from(*this, result, category);
  // The origins file's entries are checked with the rest of the node's.
  if (auto origins = with_origins_file(n.allowed_origins))
    n.allowed_origins = std::move(*origins);
  else
    result.push_back(describe(origins.error()));
  if (auth != "none" && auth != "jwt")
    result.push_back("auth must be none or jwt (got '" + auth + "')");
  auto keys = !jwt_secret.empty() + !jwt_public_key.empty();
  if (auth == "jwt" && keys == 0 && jwt_keys.empty())
    result.push_back("auth=jwt needs a key: --jwt-secret (HS256), "
                     "--jwt-public-key=FILE (RS256, ES256) or --jwt-keys=PATH");
  if (auth == "jwt" && keys == 2)
    result.push_back("give one of --jwt-secret and --jwt-public-key, not both");
  if (auth != "jwt" && keys > 0)
    result.push_back("--jwt-secret and --jwt-public-key need --auth=jwt");
  for (auto [name, set] : {std::pair{"--jwt-allow-no-exp", jwt_allow_no_exp},
                           std::pair{"--jwt-keys", !jwt_keys.empty()},
                           std::pair{"--jwt-issuer", !jwt_issuer.empty()},
                           std::pair{"--jwt-audience", !jwt_audience.empty()}})
    if (auth != "jwt" && set)
      result.push_back(std::string{name} + " needs --auth=jwt");
  if (!jwt_keys.empty() && !std::ifstream{jwt_keys})
    result.push_back("jwt-keys: cannot read " + jwt_keys);
  if (jwt_leeway < caf::timespan{0})
    result.push_back("jwt-leeway must not be negative");
  if (log_level != "trace" && log_level != "debug" && log_level != "info"
      && log_level != "warn" && log_level != "error" && log_level != "off")
    result.push_back("log-level must be trace, debug, info, warn, error or off (got '"
                     + log_level + "')");
  if (log_format != "text" && log_format != "json")
    result.push_back("log-format must be text or json (got '" + log_format + "')");
  if (!api_keys_file.empty()) {
    if (auto named = read_api_keys_file(api_keys_file))
      n.api_keys = std::move(*named);
    else
      result.push_back("api-keys-file: " + named.error().context().get_as<std::string>(0));
  }
  // A file we cannot read is said here, before the node starts; what is
  // wrong inside one, node::start says.
  for (auto [name, file] : {std::pair{"tls-cert", &n.tls_cert}, std::pair{"tls-key", &n.tls_key},
                            std::pair{"tls-ca", &n.tls_ca},
                            std::pair{"cluster-tls-cert", &n.cluster_tls_cert},
                            std::pair{"cluster-tls-key", &n.cluster_tls_key},
                            std::pair{"cluster-tls-ca", &n.cluster_tls_ca}})
    if (!file->empty() && !std::ifstream{*file})
      result.push_back(std::string{name} + ": cannot read " + *file);
  for (auto& p : n.problems())
    result.push_back(p);
  return result;
}

void config::prepare_cluster() {
  prepare_node_options(*this, category);
}

} // namespace switchboard::app
