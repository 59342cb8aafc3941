#include "check_config.hpp"

#include "auth.hpp"

#include "switchboard/node_options.hpp"

namespace switchboard::app {

std::vector<std::string> check_config(const config& cfg) {
  auto result = cfg.problems();
  // The same order as a start: the verifier is made before the node starts,
  // the files are loaded by node::start.
  if (cfg.auth == "jwt" && (!cfg.jwt_secret.empty() || !cfg.jwt_public_key.empty()
                            || !cfg.jwt_keys.empty()))
    if (auto v = make_verifier(cfg); !v)
      result.push_back(describe(v.error()));
  for (auto& p : node_file_problems(cfg.node(), cfg))
    result.push_back(std::move(p));
  return result;
}

} // namespace switchboard::app
