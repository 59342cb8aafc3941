#include "ws/ws_codec.hpp"

#include "ws/deflate.hpp"

#include "frame_header.hpp"

#include <boost/beast/websocket/detail/frame.hpp>

#include <algorithm>
#include <cstring>

namespace switchboard::net {

namespace {

namespace beast_ws = boost::beast::websocket::detail;

// RFC 6455 5.2.
constexpr std::uint8_t op_cont = 0x0;
constexpr std::uint8_t op_text = 0x1;
constexpr std::uint8_t op_binary = 0x2;
constexpr std::uint8_t op_close = 0x8;
constexpr std::uint8_t op_ping = 0x9;
constexpr std::uint8_t op_pong = 0xA;

constexpr std::size_t max_control = 125;

// XORs `n` bytes at `p` with the mask `key`, whose bytes in memory are the
// mask bytes in the order they apply from `p` on. Eight bytes at a time: a
// uint64 holding the key twice has the same byte order on any endianness.
void unmask(char* p, std::size_t n, std::uint32_t key) {
  auto key8 = (std::uint64_t{key} << 32) | key;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= key8;
    std::memcpy(p, &word, 8);
  }
  unsigned char k[4];
  std::memcpy(k, &key, 4);
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ k[i % 4]);
}

// The mask for the byte `n` bytes further on.
std::uint32_t rotated(std::uint32_t key, std::size_t n) {
  unsigned char k[4];
  unsigned char r[4];
  std::memcpy(k, &key, 4);
  for (std::size_t i = 0; i < 4; ++i)
    r[i] = k[(i + n) % 4];
  std::memcpy(&key, r, 4);
  return key;
}

std::uint16_t close_code_of(ws_codec::ending why) {
  switch (why) {
    case ws_codec::ending::bad_payload:
      return 1007;
    case ws_codec::ending::too_big:
      return 1009;
    default:
      return 1002;
  }
}

// Drops every byte a string holds, capacity included (clear() keeps it).
void release(std::string& s) noexcept {
  std::string{}.swap(s);
}

} // namespace

ws_codec::ws_codec(limits lim) noexcept : max_(lim.max_message_size) {
}

// -- reading -------------------------------------------------------------------

void ws_codec::feed(const char* data, std::size_t n, output& out) {
  const char* p = data;
  const char* end = data + n;
  while (p != end && !done_) {
    if (head_n_ == 0 && remain_ > 0) {
      auto avail = static_cast<std::size_t>(end - p);
      auto take = remain_ < avail ? static_cast<std::size_t>(remain_) : avail;
      if (opcode() >= op_close)
        read_control(p, take, out);
      else
        read_data(p, take, out);
      p += take;
    } else {
      p = read_header(p, end, out);
    }
  }
}

// Byte by byte (a header has at most 14), so that every check happens at
// the same byte however the input is split, and as early as it can.
const char* ws_codec::read_header(const char* p, const char* end, output& out) {
  while (p != end) {
    auto byte = static_cast<std::uint8_t>(*p++);
    std::size_t i = head_n_++;
    if (i == 0) {
      b0_ = byte;
    } else if (i == 1) {
      len7_ = byte & 0x7f;
      if (!check_head(byte, out))
        return p;
      if (ext_size() == 0) {
        remain_ = len7_;
        if (!check_length(out))
          return p;
      }
    } else if (i < 2 + ext_size()) {
      remain_ = (remain_ << 8) | byte;
      if (i == 1 + ext_size() && !check_length(out))
        return p;
    } else {
      // The masking key, in the order its bytes apply.
      auto k = i - 2 - ext_size();
      reinterpret_cast<unsigned char*>(&key_)[k] = byte;
      if (k == 3) {
        head_n_ = 0;
        start_frame(out);
        return p;
      }
    }
  }
  return p;
}

// The first two bytes: everything but the extended length and the mask key.
bool ws_codec::check_head(std::uint8_t b1, output& out) {
  auto op = opcode();
  // RFC 7692 6: RSV1 marks the first frame of a compressed data message.
  bool compressed_start = b0_ & 0x40 && deflate_ && (op == op_text || op == op_binary);
  if ((b0_ & 0x70) != 0 && !((b0_ & 0x70) == 0x40 && compressed_start))
    return fail(out, ending::protocol_error, "reserved bits set");
  if (op >= op_close) {
    if (op > op_pong)
      return fail(out, ending::protocol_error, "reserved opcode");
    if (!fin())
      return fail(out, ending::protocol_error, "fragmented control frame");
    if (len7_ > max_control)
      return fail(out, ending::protocol_error, "control frame too long");
  } else if (op == op_cont) {
    if (msg_op_ == 0)
      return fail(out, ending::protocol_error, "continuation without a message");
  } else if (op == op_text || op == op_binary) {
    if (msg_op_ != 0)
      return fail(out, ending::protocol_error, "new message inside a fragmented one");
  } else {
    return fail(out, ending::protocol_error, "reserved opcode");
  }
  if ((b1 & 0x80) == 0)
    return fail(out, ending::protocol_error, "unmasked frame");
  return true;
}

// The payload length is known: is it well encoded, does the message fit?
bool ws_codec::check_length(output& out) {
  auto ext = ext_size();
  if (ext == 8 && (remain_ >> 63) != 0)
    return fail(out, ending::protocol_error, "length with the high bit set");
  if ((ext == 2 && remain_ < 126) || (ext == 8 && remain_ < 0x10000))
    return fail(out, ending::protocol_error, "length not minimally encoded");
  // While closing nothing is kept, so there is nothing to limit.
  if (opcode() < op_close && !closing_) {
    std::uint64_t before = opcode() == op_cont ? msg_.size() : 0;
    if (remain_ > max_ - before)
      return fail(out, ending::too_big, "message too big");
  }
  return true;
}

void ws_codec::start_frame(output& out) {
  auto op = opcode();
  if (op == op_text || op == op_binary) {
    msg_op_ = op;
    compressed_ = (b0_ & 0x40) != 0;
    utf8_.reset();
  }
  if (remain_ > 0)
    return;
  if (op >= op_close)
    on_control({}, out);
  else
    end_data_frame(out);
}

void ws_codec::read_data(const char* p, std::size_t n, output& out) {
  if (!closing_) {
    auto old = msg_.size();
    // A whole message in one frame, all here: no slack. (Not for fragments:
    // exact growth per fragment would copy the message once per fragment.)
    if (old == 0 && fin() && n == remain_)
      msg_.reserve(n);
    msg_.append(p, n);
    unmask(msg_.data() + old, n, key_);
    // A compressed message's text is checked once it is decompressed.
    if (msg_op_ == op_text && !compressed_
        && !utf8_.write(reinterpret_cast<const std::uint8_t*>(msg_.data() + old), n)) {
      fail(out, ending::bad_payload, "invalid UTF-8");
      return;
    }
  }
  key_ = rotated(key_, n);
  remain_ -= n;
  if (remain_ == 0)
    end_data_frame(out);
}

void ws_codec::read_control(const char* p, std::size_t n, output& out) {
  std::size_t got = len7_ - remain_; // bytes from earlier feed() calls
  char payload[max_control];
  if (got == 0 && n == remain_) {
    // All here, the usual case: no heap.
    std::memcpy(payload, p, n);
    unmask(payload, n, key_);
    remain_ = 0;
    on_control({payload, n}, out);
    return;
  }
  if (!control_)
    control_.reset(new char[max_control]);
  std::memcpy(control_.get() + got, p, n);
  unmask(control_.get() + got, n, key_);
  key_ = rotated(key_, n);
  remain_ -= n;
  if (remain_ > 0)
    return;
  std::memcpy(payload, control_.get(), len7_);
  control_.reset();
  on_control({payload, len7_}, out);
}

void ws_codec::end_data_frame(output& out) {
  if (!fin())
    return;
  bool text = msg_op_ == op_text;
  msg_op_ = 0;
  if (closing_)
    return;
  if (compressed_) {
    if (!inflate(text, out))
      return;
  } else if (text && !utf8_.finish()) {
    fail(out, ending::bad_payload, "invalid UTF-8");
    return;
  }
  // The buffer leaves with the message: the codec keeps no capacity.
  out.messages.emplace_back(text, std::move(msg_));
  release(msg_);
}

// Replaces the compressed message in msg_ by its text; false when the
// connection failed.
bool ws_codec::inflate(bool text_message, output& out) {
  compressed_ = false;
  std::string text;
  auto r = inflate_message(msg_, max_, text);
  release(msg_);
  if (r == inflate_result::too_big)
    return fail(out, ending::too_big, "message too big");
  if (r == inflate_result::corrupt)
    return fail(out, ending::bad_payload, "invalid compressed data");
  if (text_message && !beast_ws::check_utf8(text.data(), text.size()))
    return fail(out, ending::bad_payload, "invalid UTF-8");
  msg_ = std::move(text);
  return true;
}

void ws_codec::on_control(std::string_view payload, output& out) {
  switch (opcode()) {
    case op_ping:
      out.alive = true;
      if (!closing_) {
        protocol::frame_header(op_pong, payload.size(), out.to_send);
        out.to_send.append(payload);
      }
      break;
    case op_pong:
      out.alive = true;
      break;
    default:
      on_close(payload, out);
  }
}

void ws_codec::on_close(std::string_view payload, output& out) {
  std::uint16_t code = 0;
  if (payload.size() == 1) {
    fail(out, ending::protocol_error, "close payload of one byte");
    return;
  }
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8)
                                      | static_cast<unsigned char>(payload[1]));
    if (!beast_ws::is_valid_close_code(code)) {
      fail(out, ending::protocol_error, "invalid close code");
      return;
    }
    if (!beast_ws::check_utf8(payload.data() + 2, payload.size() - 2)) {
      fail(out, ending::bad_payload, "invalid UTF-8 in close reason");
      return;
    }
  }
  out.peer_code = code;
  // RFC 6455 5.5.1: echo the status code (none for none).
  if (!closing_)
    out.to_send += close_frame(code, {});
  finish(out, ending::peer_closed);
}

// -- ending --------------------------------------------------------------------

// Fails the connection (RFC 6455 7.1.7); returns false for the callers' sake.
// After our own close frame no second one may follow.
bool ws_codec::fail(output& out, ending why, std::string_view reason) {
  if (!closing_)
    out.to_send += close_frame(close_code_of(why), reason);
  finish(out, why);
  return false;
}

void ws_codec::finish(output& out, ending why) {
  out.end = why;
  done_ = true;
  release(msg_);
  control_.reset();
  head_n_ = 0;
  remain_ = 0;
  msg_op_ = 0;
}

std::string ws_codec::start_close(std::uint16_t code, std::string_view reason) {
  if (closing_ || done_)
    return {};
  closing_ = true;
  release(msg_);
  return close_frame(code, reason);
}

// -- server frames -------------------------------------------------------------

std::string ws_codec::close_frame(std::uint16_t code, std::string_view reason) {
  std::string frame;
  if (code == 0) {
    protocol::frame_header(op_close, 0, frame);
    return frame;
  }
  auto cut = std::min(reason.size(), max_control - 2);
  // Back to the start of a code point: no UTF-8 sequence cut in two.
  while (cut < reason.size() && cut > 0
         && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80)
    --cut;
  frame.reserve(4 + cut);
  protocol::frame_header(op_close, 2 + cut, frame);
  frame += static_cast<char>(code >> 8);
  frame += static_cast<char>(code & 0xff);
  frame.append(reason.data(), cut);
  return frame;
}

} // namespace switchboard::net
