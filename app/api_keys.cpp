#include "api_keys.hpp"

#include "switchboard/log_text.hpp"

#include <spdlog/logger.h>

namespace switchboard::app {

void reload_api_keys(const config& cfg, node& n, spdlog::logger& log) {
  if (cfg.api_keys_file.empty())
    return;
  auto keys = read_api_keys_file(cfg.api_keys_file);
  auto err = keys ? n.set_api_keys(*keys) : keys.error();
  if (err) {
    log.error("SIGHUP: API keys not reloaded, keeping the current ones error={}",
              log_value(describe_error(err)));
    return;
  }
  std::string names;
  for (auto& k : *keys)
    names += (names.empty() ? "" : ",") + k.name;
  log.info("SIGHUP: API keys reloaded file={} keys={} names={}", log_value(cfg.api_keys_file),
           keys->size(), names.empty() ? "-" : names);
}

} // namespace switchboard::app
