#include "config.hpp"

namespace switchboard::app {

config::config() {
  // Measured on 2 cores (docs/benchmarks.md): the node spends its time in
  // the I/O threads (framing, sendmsg); the actors need one CAF worker, and
  // a second one mostly spins looking for work to steal. Both stay options.
  set("scheduler.max-threads", 1);
  opt_group{custom_options_, "global"}
    .add(host, "host", "address to listen on (default 127.0.0.1)")
    .add(port, "port", "port to listen on, 0 picks a free one (default 8080)")
    .add(ping_interval, "ping-interval", "server ping period (default 25s)")
    .add(pong_timeout, "pong-timeout",
         "drop a client that sends nothing this long after a ping (default 10s)")
    .add(max_message_size, "max-message-size",
         "largest inbound message in bytes (default 65536)")
    .add(send_queue, "send-queue", "outbound queue bound in frames (default 256)")
    .add(send_buffer, "send-buffer",
         "outbound queue bound in bytes (default 1048576)")
    .add(handshake_timeout, "handshake-timeout",
         "time allowed for the HTTP upgrade (default 10s)")
    .add(close_timeout, "close-timeout",
         "a server-initiated close waits this long for the client's close (default 2s)")
    .add(shutdown_timeout, "shutdown-timeout",
         "on SIGINT/SIGTERM, flush queues for at most this long (default 5s)")
    .add(io_threads, "io-threads", "Asio I/O threads (default 3 per core)")
    .add(max_topics_per_connection, "max-topics-per-connection",
         "topics one connection may subscribe to (default 128)")
    .add(max_topics, "max-topics", "topics on the node (default 1000000)")
    .add(client_send, "client-send",
         "on|off: let clients send direct messages to each other (default on)")
    .add(client_rate, "client-rate",
         "commands per second per connection, 0 for no limit (default 100)")
    .add(client_burst, "client-burst",
         "commands a connection may send at once above the rate (default 200)")
    .add(client_rate_grace, "client-rate-grace",
         "disconnect a connection over the rate this long (default 10s)")

    // Admission limits, checked on every WebSocket upgrade (docs/protocol.md).
    .add(admission.max_connections, "max-connections",
         "WebSocket connections per node; past it 503 (default 50000)")
    .add(admission.max_connections_per_address, "max-connections-per-address",
         "WebSocket connections per source address (IPv6: per /64); past it 429 "
         "(default 4096)")
    .add(admission.handshake_rate, "handshake-rate",
         "WebSocket upgrade attempts per second and source address, refilled "
         "continuously; past it 429 (default 100)")
    .add(admission.handshake_burst, "handshake-burst",
         "upgrade attempts a source address may make at once (default 4096)")

    // The server API under /api/ (docs/api.md).
    .add(api_key, "api-key",
         "key of the HTTP server API (Authorization: apikey KEY); empty: no API "
         "(default empty; prefer the config file, a command line is visible to "
         "other users)")
    .add(api_max_body, "api-max-body",
         "largest body of an API request in bytes; past it 413 (default 1048576)");
}

node_config config::node() const {
  node_config result;
  result.host = host;
  result.port = port;
  auto& c = result.connection;
  c.ping_interval = ping_interval;
  c.pong_timeout = pong_timeout;
  c.send_queue_frames = send_queue;
  c.send_buffer_bytes = send_buffer;
  c.shutdown_timeout = shutdown_timeout;
  c.client_rate = client_rate;
  c.client_burst = client_burst;
  c.client_rate_grace = client_rate_grace;
  result.hub.max_topics_per_connection = max_topics_per_connection;
  result.hub.max_topics = max_topics;
  result.hub.client_send = client_send == "on" || client_send == "true";
  result.max_message_size = max_message_size;
  result.handshake_timeout = handshake_timeout;
  result.close_timeout = close_timeout;
  result.io_threads = io_threads;
  result.admission = admission;
  result.api_key = api_key;
  result.api_max_body = api_max_body;
  return result;
}

std::vector<std::string> config::problems() const {
  std::vector<std::string> result;
  if (client_send != "on" && client_send != "off" && client_send != "true"
      && client_send != "false")
    result.push_back("client-send must be on or off (got '" + client_send + "')");
  for (auto& p : node().problems())
    result.push_back(p);
  return result;
}

} // namespace switchboard::app
