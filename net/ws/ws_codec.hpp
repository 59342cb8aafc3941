#pragma once

// The server side of WebSocket framing (RFC 6455 sections 5 and 7) without
// I/O: the bytes a client sent go in, complete messages, the bytes to send
// back (pongs, close frames) and the end of the connection come out. No Asio,
// no actors, no clock; the session around it reads and writes the socket.
//
// Everything a client sends is checked as Beast's websocket::stream checks it
// (masking, RSV bits, opcodes, control frame rules, fragmentation order,
// close codes, UTF-8 of text and close reasons, the message size limit); a
// violation fails the connection with the RFC's close code (1002, 1007,
// 1009). With permessage-deflate (RFC 7692) compressed messages are
// decompressed before they come out (accept_compressed). Input may be split anywhere: the result is the same as for the
// input in one piece. An idle codec holds no heap memory.

#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::net {

class ws_codec {
public:
  struct limits {
    /// The largest data message accepted, its fragments summed (1009 beyond).
    std::size_t max_message_size;
  };

  /// Why the connection ends, once it does.
  enum class ending : std::uint8_t {
    none,
    peer_closed,    ///< a clean close handshake (either side started it)
    protocol_error, ///< 1002
    bad_payload,    ///< 1007: invalid UTF-8 in a text message or close reason
    too_big,        ///< 1009
  };

  /// What one or more feed() calls produced. feed() appends to it and never
  /// clears it: the caller resets it (or a fresh one) before reusing it.
  struct output {
    /// Complete data messages in order: (text?, payload).
    std::vector<std::pair<bool, std::string>> messages;
    /// A ping or pong arrived (liveness for the heartbeat).
    bool alive = false;
    /// Bytes to write, in order: pongs, then the close reply or the close
    /// frame that fails the connection.
    std::string to_send;
    /// Set when the codec is done: write to_send, then close TCP.
    ending end = ending::none;
    /// The status code of the peer's valid close frame (0: none, or no code).
    std::uint16_t peer_code = 0;
  };

  explicit ws_codec(limits lim) noexcept;

  // Beast's utf8_checker points into itself: not copyable, not movable.
  ws_codec(const ws_codec&) = delete;
  ws_codec& operator=(const ws_codec&) = delete;

  /// permessage-deflate was negotiated (net/ws/deflate.hpp): a data message
  /// whose first frame has RSV1 set is decompressed, with the message size
  /// limit on its compressed and on its decompressed size (1009 beyond);
  /// data that does not decompress fails the connection with 1007. RSV1
  /// elsewhere (control and continuation frames) stays a protocol error.
  void accept_compressed() noexcept {
    deflate_ = true;
  }

  /// Consumes all `n` bytes. Once done(), input is ignored.
  void feed(const char* data, std::size_t n, output& out);

  /// The server starts the closing handshake: returns its close frame (code
  /// 0: a close frame without status code; the reason is cut to fit 123
  /// bytes at a UTF-8 boundary). Afterwards data messages are no longer
  /// delivered (the one in progress is dropped), pings are not answered,
  /// framing errors end the codec with nothing more to send, and the peer's
  /// close ends it (ending::peer_closed, nothing more to send). Returns an
  /// empty string, and changes nothing, if closing() or done() already.
  std::string start_close(std::uint16_t code, std::string_view reason);

  /// start_close was called.
  bool closing() const noexcept {
    return closing_;
  }

  /// Ended (failure or completed close handshake): ignores further input.
  bool done() const noexcept {
    return done_;
  }

  /// No partial frame header, frame or message: the session may drop its
  /// buffers. An idle codec holds no heap memory.
  bool idle() const noexcept {
    return done_ || (head_n_ == 0 && remain_ == 0 && msg_op_ == 0);
  }

  // -- server frames (unmasked, FIN set) ----------------------------------------

  /// A close frame with `code` and `reason` (see start_close).
  static std::string close_frame(std::uint16_t code, std::string_view reason);

private:
  std::uint8_t opcode() const noexcept {
    return b0_ & 0x0f;
  }
  bool fin() const noexcept {
    return (b0_ & 0x80) != 0;
  }
  /// Bytes of extended payload length after the first two header bytes.
  std::size_t ext_size() const noexcept {
    return len7_ == 126 ? 2 : len7_ == 127 ? 8 : 0;
  }

  const char* read_header(const char* p, const char* end, output& out);
  bool check_head(std::uint8_t b1, output& out);
  bool check_length(output& out);
  void start_frame(output& out);
  void read_data(const char* p, std::size_t n, output& out);
  void read_control(const char* p, std::size_t n, output& out);
  void end_data_frame(output& out);
  bool inflate(bool text_message, output& out);
  void on_control(std::string_view payload, output& out);
  void on_close(std::string_view payload, output& out);
  bool fail(output& out, ending why, std::string_view reason);
  void finish(output& out, ending why);

  std::size_t max_;     ///< limits::max_message_size
  std::uint64_t remain_ = 0; ///< payload bytes of the current frame still to come
  std::string msg_;     ///< the data message being assembled (unmasked)
  boost::beast::websocket::detail::utf8_checker utf8_; ///< of the text message
  /// The payload of a control frame split across feed() calls; null otherwise.
  std::unique_ptr<char[]> control_;
  std::uint32_t key_ = 0;   ///< the mask, rotated so that its first byte is next
  std::uint8_t head_n_ = 0; ///< header bytes read (0: none, or the payload follows)
  std::uint8_t b0_ = 0;     ///< FIN, RSV and opcode of the current frame
  std::uint8_t len7_ = 0;   ///< the 7-bit payload length of the current frame
  std::uint8_t msg_op_ = 0; ///< opcode of the message in progress (0: none)
  bool closing_ = false;
  bool done_ = false;
  bool deflate_ = false;    ///< accept_compressed() was called
  bool compressed_ = false; ///< the message in progress has RSV1
};

} // namespace switchboard::net
