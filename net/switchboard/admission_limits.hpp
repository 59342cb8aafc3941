#pragma once

/// Who may open a WebSocket connection: the limits a node checks on every
/// upgrade request before it opens a WebSocket, and on every TCP connection
/// before it reads a request (docs/protocol.md, "Limits").

#include <cstddef>
#include <optional>
#include <string>

namespace switchboard {

/// The defaults protect a node on the open internet without getting in the
/// way of big NATs or of the repository's own load tests; docs/protocol.md
/// says why each is what it is.
struct admission_limits {
  /// WebSocket connections on the node; past it an upgrade gets 503.
  std::size_t max_connections = 50000;
  /// WebSocket connections from one source address (IPv6: one /64); past it
  /// an upgrade gets 429.
  std::size_t max_connections_per_address = 4096;
  /// Upgrade attempts per second and source address, refilled continuously
  /// (a token bucket); past it an upgrade gets 429.
  double handshake_rate = 100;
  /// Upgrade attempts one source address may make at once (the bucket's size).
  std::size_t handshake_burst = 4096;
  /// TCP connections on the node that are not (yet) a WebSocket: a request
  /// or a TLS handshake not read yet, an upgrade in progress, an HTTP
  /// client between two requests. Past it a new connection is answered 503
  /// at once and closed (on a TLS port: closed).
  std::size_t max_pending_connections = 8192;
  /// Such connections from one source address (IPv6: one /64); past it 429.
  std::size_t max_pending_connections_per_address = 256;

  /// Empty when the limits can work; otherwise a message that names the
  /// offending option (as spelled on the command line) and its value.
  std::optional<std::string> validate() const;
};

} // namespace switchboard
