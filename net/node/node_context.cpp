#include "node/node_context.hpp"

#include "protocol.hpp"

#include <spdlog/logger.h>

namespace switchboard::net {

void log_refusal(node_context& ctx, std::string_view what, unsigned status,
                 const std::string& remote, std::string_view reason) {
  auto& log = *ctx.log;
  std::uint64_t held_back = 0;
  if (!log.should_log(spdlog::level::warn)
      || !ctx.refusals.allow(log_throttle::clock::now(), held_back))
    return;
  if (held_back > 0)
    // A field, not a remark in parentheses: a log pipeline reads it as one.
    log.warn("{} status={} remote={} reason={} held_back={}", what, status, remote,
             protocol::quote(reason), held_back);
  else
    log.warn("{} status={} remote={} reason={}", what, status, remote,
             protocol::quote(reason));
}

} // namespace switchboard::net
