#pragma once

// What a peer sends is checked as what a client or an application sends:
// a peer is another process, of another version perhaps, or not a
// switchboard node at all (BASP authenticates nobody). An item that fails
// is dropped and counted, never delivered half-checked: a topic or a
// sender name ends up quoted in frames, data goes into frames verbatim,
// a close code and reason into a close frame. Pure functions; not
// installed.

#include "cluster/cluster_messages.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard {

/// Why something from a peer was refused (none: it passed).
enum class wire_fault : std::uint8_t {
  none,
  kind,   ///< an item kind this version does not know
  topic,  ///< not 1-256 bytes of UTF-8 without control characters
  user,   ///< not 1-256 bytes
  data,   ///< not one JSON value
  size,   ///< data larger than cluster_settings::max_data
  close,  ///< a close code or reason close_connection refuses
  id,     ///< a connection id of 0 (where one is needed) or not below 2^53
  sender, ///< a sender name over 256 bytes or not UTF-8
};

const char* to_string(wire_fault x);

/// The longest sender name (send_direct::from) an item may carry.
constexpr std::size_t max_sender_size = 256;

/// Whether `topic` is one a client could have used: valid_topic and UTF-8.
bool valid_wire_topic(std::string_view topic);

/// Checks one item from a peer against the rules the same request meets
/// on this node (protocol.hpp, valid_close); data may be at most
/// `max_data` bytes (what a client of this node may send).
wire_fault check_item(const cluster_item& item, std::size_t max_data);

/// "host:port" -> (host, port); port 0 when it is none (1-65535).
std::pair<std::string, std::uint16_t> split_address(const std::string& address);

/// Whether `address` is a "host:port" to dial: a host of 1-255 printable
/// ASCII bytes without spaces, and a port 1-65535.
bool valid_peer_address(const std::string& address);

} // namespace switchboard
