#pragma once

/// The node's options as CAF config options, for an application's own
/// actor_system_config: the same names as the switchboard CLI's flags
/// (docs/embedding.md, "Options"), so one config file serves both.
///
/// ```
/// struct app_config : caf::actor_system_config {
///   app_config() {
///     // --switchboard.port=9000, or `port=9000` under [switchboard] in the file
///     switchboard::add_node_options(custom_options_);
///   }
/// };
/// app_config cfg;
/// cfg.parse(argc, argv);                   // then, before the actor system:
/// switchboard::prepare_node_options(cfg);  // the middleman (and TLS), when clustered
/// caf::actor_system sys{cfg};
/// auto ncfg = switchboard::node_config_from(cfg);  // problems() still apply
/// ```

#include "switchboard/node.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>

#include <string>
#include <vector>

namespace switchboard {

/// The category the node's options live in unless the caller says
/// otherwise. With "global" the options are top-level (`--port`), as in the
/// CLI.
constexpr caf::string_view default_option_category = "switchboard";

/// Declares every node option (host, port, timers, limits, TLS, cluster ...)
/// in `options` under `category`. Call it from your config's constructor
/// with its `custom_options_`.
void add_node_options(caf::config_option_set& options,
                      caf::string_view category = default_option_category);

/// The node configuration the options in `cfg` describe: the defaults of
/// node_config where an option is not set. What cannot be represented (a
/// value outside its option's words, such as client-send=maybe) is added
/// to `problems`; node_config::problems() checks the rest, as always.
node_config node_config_from(const caf::actor_system_config& cfg,
                             std::vector<std::string>& problems,
                             caf::string_view category = default_option_category);

/// Loads CAF's middleman and sets its heartbeat options when the options
/// ask for a cluster (cluster-port is not 0). Call it after parsing and
/// before the actor system starts (a middleman cannot be loaded later).
void prepare_node_options(caf::actor_system_config& cfg,
                          caf::string_view category = default_option_category);

/// Loads CAF's OpenSSL module (caf::openssl::manager) and points it at
/// nc's cluster certificate, key and CA (CAF's openssl.certificate,
/// openssl.key and openssl.cafile) when nc asks for cluster TLS; nothing
/// otherwise. Call it after loading the middleman and before the actor
/// system starts (prepare_node_options does it for the options). For an
/// encrypted key, set openssl.passphrase as well (docs/cluster.md).
void prepare_cluster_tls(caf::actor_system_config& cfg, const node_config& nc);

/// What node::start would find wrong inside the files `nc` names, loaded
/// the way it loads them: the TLS certificate chain, its key (and that the
/// key is the certificate's) and CA bundle under nc's TLS policy; the
/// cluster certificate, key and CA as CAF's OpenSSL module loads them (with
/// cfg's openssl.passphrase). Files that cannot be opened, and a TLS
/// policy that node_config::problems() refuses, are left to those checks.
/// Empty when everything loads (`switchboard --check-config`).
std::vector<std::string> node_file_problems(const node_config& nc,
                                            const caf::actor_system_config& cfg);

/// Every node option with the value it takes effect with (set or
/// default), secrets hidden, and on a clustered node the middleman options
/// prepare_node_options sets, for a dump of the effective configuration
/// (--dump-config: actor_system_config::dump_content).
void dump_node_options(const caf::actor_system_config& cfg, caf::settings& out,
                       caf::string_view category = default_option_category);

} // namespace switchboard
