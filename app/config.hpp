#pragma once

// The CLI's options: CAF config options, so they work as --name=value flags
// and in a CAF config file (caf-application.ini). The node's options are the
// library's (switchboard/node_options.hpp), declared top-level ("global");
// the CLI adds its own: logging, --version and the JWT authenticator.

#include "switchboard/node_options.hpp"

#include <caf/all.hpp>

#include <string>
#include <vector>

namespace switchboard::app {

class config : public caf::actor_system_config {
public:
  config();

  /// The node settings the options describe.
  node_config node() const;

  /// What is wrong with the options: values the options cannot represent,
  /// what node_config::problems() finds, and the CLI's own checks.
  std::vector<std::string> problems() const;

  /// CAF's dump (--dump-config) plus every switchboard option with the
  /// value the node runs with, set or not: the effective configuration.
  caf::settings dump_content() const override;

  /// When clustering, loads CAF's middleman and sets its heartbeat options
  /// (before the actor system starts; otherwise no middleman, no port).
  void prepare_cluster();

  // -- the CLI's own options ---------------------------------------------------------

  /// trace, debug, info, warn, error or off.
  std::string log_level = "info";
  /// text (one line per event) or json (one JSON object per line).
  std::string log_format = "text";
  /// Named API keys, one `NAME KEY` per line (read at start and on SIGHUP).
  std::string api_keys_file;
  /// --version: print the version and exit.
  bool print_version = false;
  /// --check-config: check the options and the files they name, print what
  /// is wrong (or "configuration OK") and exit 2 (or 0), starting nothing.
  bool check_only = false;
  /// Client authentication (app/auth.hpp): none or jwt.
  std::string auth = "none";
  std::string jwt_secret;
  std::string jwt_public_key; ///< a PEM file
  caf::timespan jwt_leeway = std::chrono::seconds(30);
  /// Accept tokens without `exp` (their connections never expire).
  bool jwt_allow_no_exp = false;
  /// A JWKS file or a directory of `KID.pem` public keys (app/auth.hpp).
  std::string jwt_keys;
  /// When set, the `iss` and `aud` every token must carry.
  std::string jwt_issuer;
  std::string jwt_audience;
  /// One origin per line, added to --allowed-origins; read again on SIGHUP.
  std::string allowed_origins_file;

  /// --allowed-origins plus the entries of --allowed-origins-file, or the
  /// error that reading the file met (app/auth.hpp, read_origins_file).
  caf::expected<std::vector<std::string>> allowed_origins() const;

private:
  /// `origins` (the options' list, node_config_from) plus the file's
  /// entries: node() and problems() have that list already.
  caf::expected<std::vector<std::string>>
  with_origins_file(std::vector<std::string> origins) const;
};

} // namespace switchboard::app
