#pragma once

// RFC 6455 5.2 frame headers as a server sends them (unmasked, FIN set):
// the one encoder for the hub's shared frames (protocol.hpp) and the
// session's own (net/ws/ws_codec: pongs, close frames). Pure, no actors.

#include <cstddef>
#include <cstdint>
#include <string>

namespace switchboard::protocol {

/// Appends the header of an unmasked, final frame with `opcode` (0x1 text,
/// 0x8 close, 0xA pong, ...) carrying `payload_size` bytes, in the shortest
/// encoding of the length.
inline void frame_header(std::uint8_t opcode, std::size_t payload_size, std::string& out) {
  char head[10];
  std::size_t n = 2;
  head[0] = static_cast<char>(0x80 | opcode);
  if (payload_size < 126) {
    head[1] = static_cast<char>(payload_size);
  } else if (payload_size <= 0xffff) {
    head[1] = 126;
    head[2] = static_cast<char>(payload_size >> 8);
    head[3] = static_cast<char>(payload_size);
    n = 4;
  } else {
    head[1] = 127;
    auto len = static_cast<std::uint64_t>(payload_size);
    for (int i = 0; i < 8; ++i)
      head[2 + i] = static_cast<char>(len >> (56 - 8 * i));
    n = 10;
  }
  out.append(head, n);
}

} // namespace switchboard::protocol
