// node_file_problems(): what node::start would find wrong inside the files
// a configuration names, with the loaders node::start uses (make_tls_context
// for the client port, load_cluster_tls_files for the cluster port), for
// `switchboard --check-config`.

#include "switchboard/node_options.hpp"

#include "node/cluster_tls.hpp"
#include "tls/tls_context.hpp"

#include "switchboard/log_text.hpp"

#include <fstream>
#include <initializer_list>

namespace switchboard {

namespace {

// A file that cannot be opened is reported by the caller's own checks
// (the CLI's problems() names the option): no second line for it here.
bool readable(std::initializer_list<const std::string*> files) {
  for (auto* f : files)
    if (!f->empty() && !std::ifstream{*f})
      return false;
  return true;
}

} // namespace

std::vector<std::string> node_file_problems(const node_config& nc,
                                            const caf::actor_system_config& cfg) {
  std::vector<std::string> result;
  net::tls_policy policy{nc.tls_min_version, nc.tls_ciphers};
  if (!nc.tls_cert.empty() && !nc.tls_key.empty() && !net::tls_policy_problem(policy)
      && readable({&nc.tls_cert, &nc.tls_key, &nc.tls_ca})) {
    auto made = net::make_tls_context({nc.tls_cert, nc.tls_key, nc.tls_ca}, policy);
    if (auto* why = std::get_if<std::string>(&made))
      result.push_back(*why);
  }
  if (net::cluster_tls(nc) && readable({&nc.cluster_tls_cert, &nc.cluster_tls_key,
                                        &nc.cluster_tls_ca}))
    if (auto err = net::load_cluster_tls_files(nc.cluster_tls_cert, nc.cluster_tls_key,
                                               nc.cluster_tls_ca, cfg.openssl_passphrase))
      result.push_back(err.context().match_element<std::string>(0)
                         ? err.context().get_as<std::string>(0)
                         : describe_error(err));
  return result;
}

} // namespace switchboard
