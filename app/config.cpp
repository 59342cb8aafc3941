#include "config.hpp"

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
    .add(print_version, "version", "print the version and exit")
    // Who may connect (docs/security.md).
    .add(auth, "auth", "none|jwt: client authentication on the upgrade (default none)")
    .add(jwt_secret, "jwt-secret", "HS256 secret, at least 32 bytes (with --auth=jwt)")
    .add(jwt_public_key, "jwt-public-key",
         "PEM file of an RSA (RS256) or EC P-256 (ES256) public key (with --auth=jwt)")
    .add(jwt_leeway, "jwt-leeway",
         "clock skew allowed on exp and nbf; a connection ends this long after its "
         "token's exp unless refreshed (default 30s)")
    .add(jwt_allow_no_exp, "jwt-allow-no-exp",
         "accept tokens without exp, whose connections never expire (default off)");
}

node_config config::node() const {
  std::vector<std::string> ignored; // problems() reports them
  return node_config_from(*this, ignored, category);
}

caf::settings config::dump_content() const {
  auto result = caf::actor_system_config::dump_content();
  dump_node_options(*this, result, category);
  caf::put(result, "log-level", log_level);
  caf::put(result, "auth", auth);
  // The secret itself never appears in a dump (it may end up in a log).
  caf::put(result, "jwt-secret", std::string{jwt_secret.empty() ? "" : "(set, not shown)"});
  caf::put(result, "jwt-public-key", jwt_public_key);
  caf::put(result, "jwt-leeway", jwt_leeway);
  caf::put(result, "jwt-allow-no-exp", jwt_allow_no_exp);
  return result;
}

std::vector<std::string> config::problems() const {
  std::vector<std::string> result;
  auto n = node_config_from(*this, result, category);
  if (auth != "none" && auth != "jwt")
    result.push_back("auth must be none or jwt (got '" + auth + "')");
  auto keys = !jwt_secret.empty() + !jwt_public_key.empty();
  if (auth == "jwt" && keys == 0)
    result.push_back("auth=jwt needs a key: --jwt-secret (HS256) or "
                     "--jwt-public-key=FILE (RS256, ES256)");
  if (auth == "jwt" && keys == 2)
    result.push_back("give one of --jwt-secret and --jwt-public-key, not both");
  if (auth != "jwt" && keys > 0)
    result.push_back("--jwt-secret and --jwt-public-key need --auth=jwt");
  if (auth != "jwt" && jwt_allow_no_exp)
    result.push_back("--jwt-allow-no-exp needs --auth=jwt");
  if (jwt_leeway < caf::timespan{0})
    result.push_back("jwt-leeway must not be negative");
  if (log_level != "trace" && log_level != "debug" && log_level != "info"
      && log_level != "warn" && log_level != "error" && log_level != "off")
    result.push_back("log-level must be trace, debug, info, warn, error or off (got '"
                     + log_level + "')");
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
