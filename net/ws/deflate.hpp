#pragma once

// permessage-deflate (RFC 7692) as switchboard speaks it: the negotiation on
// the upgrade, the compression of outbound frames and the decompression of
// inbound messages. No Asio, no actors. What is negotiated and why:
// docs/protocol.md, Compression.
//
// Neither side keeps a compression context between messages (the server
// says server_no_context_takeover and client_no_context_takeover in every
// agreement), so a connection holds no zlib state at all: each I/O thread
// has one deflater and one inflater, reset for every message, made the
// first time one of its connections needs them.

#include "commands.hpp"

#include <boost/beast/http/fields.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::net {

// -- negotiation -----------------------------------------------------------------

/// The value of the 101 response's Sec-WebSocket-Extensions for the first
/// acceptable permessage-deflate offer in `offers` (the request's
/// Sec-WebSocket-Extensions values, joined with commas); nullopt when there
/// is none. An offer with an unknown or a repeated parameter, or a
/// parameter with a value it may not have, is skipped; so is one asking for
/// server_max_window_bits below 15 (the shared compressed frames are made
/// with a 15-bit window). A header that does not parse (RFC 6455 9.1) has
/// no acceptable offer.
std::optional<std::string> negotiate_deflate(std::string_view offers);

/// The same for every Sec-WebSocket-Extensions field of an upgrade request.
std::optional<std::string> negotiate_deflate(const boost::beast::http::fields& request);

// -- outbound --------------------------------------------------------------------

/// Payloads shorter than this go out uncompressed (RSV1 is per message,
/// RFC 7692 6): they would shrink by a few bytes at best.
constexpr std::size_t min_deflate_payload = 128;

/// The frame a receiver that negotiated permessage-deflate gets for
/// `frame` (a final text frame of protocol::make_frame or message_frame):
/// its payload compressed, RSV1 set, made once per frame by the first such
/// receiver (on its I/O thread) and shared with all the others; or `frame`
/// itself when its payload is short or does not shrink. Thread-safe: any
/// number of I/O threads may ask at the same time. The result shares
/// ownership with `frame`.
frame_ptr deflated(const frame_ptr& frame);

/// `payload` compressed as one message of RFC 7692 7.2.1 (raw deflate, no
/// context from earlier messages, the final 00 00 ff ff removed), appended
/// to `out`.
void deflate_message(std::string_view payload, std::string& out);

// -- inbound ---------------------------------------------------------------------

enum class inflate_result {
  ok,
  too_big, ///< would inflate past the limit (1009)
  corrupt, ///< not a valid compressed message (1007)
};

/// Decompresses one message (RFC 7692 7.2.2: 00 00 ff ff appended, no
/// context from earlier messages) into `out` (replaced), producing at most
/// `max_size` bytes: a deflate bomb stops at the limit, with out emptied.
inflate_result inflate_message(std::string_view compressed, std::size_t max_size,
                               std::string& out);

} // namespace switchboard::net
