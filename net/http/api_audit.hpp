#pragma once

// The audit line of the server API (docs/api.md, "Audit"): one line at info
// per request under /api, refused or not, naming who called (the key's
// name), from where, what, with which answer and on what. Internal to net/.

#include "http/api_route.hpp"

#include <spdlog/fwd.h>

#include <string>
#include <string_view>

namespace switchboard::net {

/// The fields that name what `call` acts on: `topic=T`, `topics=N` (a
/// broadcast: how many), `connection=ID` or `user=U`; empty for a call on
/// no one thing (the topic list).
std::string audit_target(const api_call& call);

struct api_audit_entry {
  /// The key's name, `(console)`, or empty when the call was refused
  /// before a key was recognised (logged as `-`).
  std::string_view caller;
  std::string_view remote;
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  /// The request's target; its path (at most 256 bytes) is logged as `route`.
  std::string_view target;
  unsigned status = 0;
  /// audit_target(), or empty.
  std::string_view fields;
};

/// `api call key=NAME remote=ADDR method=M route=PATH status=S [target
/// fields]`, every value written with log_value().
std::string audit_line(const api_audit_entry& entry);

/// Logs audit_line(entry) at info.
void log_api_call(spdlog::logger& log, const api_audit_entry& entry);

} // namespace switchboard::net
