// libFuzzer target for net::ws_codec: any bytes a client may send after the
// upgrade. Besides crashes, leaks and sanitizer reports, it checks what the
// codec promises:
// - the input fed in one piece, byte by byte, and in random chunks gives the
//   same messages, bytes to send, ending and state;
// - once a feed() has set `end`, later feeds produce nothing;
// - every text message is valid UTF-8 (by Boost.JSON, not by the checker the
//   codec uses) and no message exceeds the limit;
// - to_send is a sequence of valid unmasked server frames: pongs, then at
//   most one close frame at the end, which is there exactly when the codec
//   ended and had not sent its own close (an echo of the peer's code for a
//   close handshake, 1002/1007/1009 for a failure);
// - start_close gives a valid close frame, once.
//
// Input: byte 0 picks the message size limit (bits 0-1) and whether
// permessage-deflate was negotiated (bit 2: accept_compressed, so that
// compressed messages are inflated, within the limit), byte 1 seeds the
// random chunks, byte 2 says when start_close is called (0: never; else
// after (b - 1) / 254 of the stream); the rest is the stream.
//
// Run: tools/ci/fuzz.sh, or by hand on a copy of the seed corpus:
//   build-fuzz/tests/fuzz/ws_codec_fuzz <dir>

#include "protocol.hpp"
#include "ws/ws_codec.hpp"

#include <boost/beast/websocket/detail/frame.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using switchboard::net::ws_codec;
using ending = ws_codec::ending;

namespace {

void require(bool ok, const char* what) {
  if (ok)
    return;
  std::fprintf(stderr, "ws_codec_fuzz: violated: %s\n", what);
  std::abort();
}

struct result {
  ws_codec::output out;
  std::string close_sent;
  std::size_t sent_before_close = 0; ///< to_send's size when start_close was called
  bool done = false;
  bool idle = false;
  bool closing = false;
};

// Adds what one feed() produced to `acc`; nothing may follow the end.
void merge(ws_codec::output& acc, ws_codec::output& part) {
  bool empty = part.messages.empty() && !part.alive && part.to_send.empty()
               && part.end == ending::none && part.peer_code == 0;
  if (acc.end != ending::none) {
    require(empty, "output after the end");
    return;
  }
  for (auto& m : part.messages)
    acc.messages.push_back(std::move(m));
  acc.alive = acc.alive || part.alive;
  acc.to_send += part.to_send;
  acc.end = part.end;
  if (part.peer_code != 0) {
    require(part.end == ending::peer_closed, "a peer code without a close handshake");
    acc.peer_code = part.peer_code;
  }
  part = {};
}

/// Feeds `stream` in chunks of next_size() (0: all at once), calling
/// start_close at `close_at`.
template <class NextSize>
result run(std::string_view stream, std::size_t max, bool deflate, std::size_t close_at,
           NextSize next_size) {
  ws_codec codec{{max}};
  if (deflate)
    codec.accept_compressed();
  result r;
  ws_codec::output part;
  std::size_t pos = 0;
  auto feed_until = [&](std::size_t stop) {
    while (pos < stop) {
      auto n = next_size();
      if (n == 0 || n > stop - pos)
        n = stop - pos;
      codec.feed(stream.data() + pos, n, part);
      merge(r.out, part);
      require((r.out.end != ending::none) == codec.done(), "end and done() disagree");
      pos += n;
    }
  };
  if (close_at <= stream.size()) {
    feed_until(close_at);
    r.sent_before_close = r.out.to_send.size();
    r.close_sent = codec.start_close(1001, "bye");
    require(codec.start_close(1000, "again").empty(), "start_close gave two frames");
  }
  feed_until(stream.size());
  r.done = codec.done();
  r.idle = codec.idle();
  r.closing = codec.closing();
  if (r.done) {
    require(r.idle, "done but not idle");
    codec.feed(stream.data(), stream.size(), part);
    merge(r.out, part);
  }
  return r;
}

bool same(const result& a, const result& b) {
  return a.out.messages == b.out.messages && a.out.alive == b.out.alive
         && a.out.to_send == b.out.to_send && a.out.end == b.out.end
         && a.out.peer_code == b.out.peer_code && a.close_sent == b.close_sent
         && a.sent_before_close == b.sent_before_close && a.done == b.done
         && a.idle == b.idle && a.closing == b.closing;
}

struct frame {
  std::uint8_t opcode;
  std::string_view payload;
};

// The next server frame of `bytes` (consumed), checked.
frame next_frame(std::string_view& bytes) {
  require(bytes.size() >= 2, "a truncated server frame");
  auto b0 = static_cast<unsigned char>(bytes[0]);
  auto b1 = static_cast<unsigned char>(bytes[1]);
  require((b0 & 0xf0) == 0x80, "a server frame without FIN or with RSV bits");
  require((b1 & 0x80) == 0, "a masked server frame");
  std::uint64_t len = b1 & 0x7f;
  std::size_t head = 2;
  if (len >= 126) {
    std::size_t ext = len == 126 ? 2 : 8;
    require(bytes.size() >= 2 + ext, "a truncated server frame header");
    len = 0;
    for (std::size_t i = 0; i < ext; ++i)
      len = (len << 8) | static_cast<unsigned char>(bytes[2 + i]);
    require(len >= (ext == 2 ? 126u : 65536u), "a server frame length not minimal");
    head += ext;
  }
  require(bytes.size() - head >= len, "a truncated server frame payload");
  frame f{static_cast<std::uint8_t>(b0 & 0x0f), bytes.substr(head, len)};
  bytes.remove_prefix(head + len);
  return f;
}

std::uint16_t check_close(const frame& f) {
  require(f.opcode == 0x8, "not a close frame");
  require(f.payload.size() != 1 && f.payload.size() <= 125, "a bad close payload size");
  if (f.payload.empty())
    return 0;
  auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8)
                                         | static_cast<unsigned char>(f.payload[1]));
  require(boost::beast::websocket::detail::is_valid_close_code(code), "a bad close code");
  require(switchboard::protocol::valid_utf8(f.payload.substr(2)),
          "a close reason that is not UTF-8");
  return code;
}

void check(const result& r, std::size_t max) {
  for (auto& [text, data] : r.out.messages) {
    require(data.size() <= max, "a message over the limit");
    require(!text || switchboard::protocol::valid_utf8(data),
            "a text message that is not UTF-8");
  }
  require(r.done == (r.out.end != ending::none), "done() without an end");
  std::string_view bytes = r.out.to_send;
  bool closed = false;
  std::uint16_t code = 0;
  while (!bytes.empty()) {
    require(!closed, "a frame after the close frame");
    auto offset = r.out.to_send.size() - bytes.size();
    bool after_close = r.closing && offset >= r.sent_before_close;
    auto f = next_frame(bytes);
    if (f.opcode == 0xA) {
      require(f.payload.size() <= 125, "a long pong");
      require(!after_close, "a pong after start_close");
      continue;
    }
    code = check_close(f);
    closed = true;
  }
  require(closed == (r.out.end != ending::none && !r.closing),
          "a close frame without an end, or an end without one");
  if (closed) {
    switch (r.out.end) {
      case ending::peer_closed:
        require(code == r.out.peer_code, "a close reply that is not the echo");
        break;
      case ending::protocol_error:
        require(code == 1002, "a protocol error without 1002");
        break;
      case ending::bad_payload:
        require(code == 1007, "a bad payload without 1007");
        break;
      default:
        require(code == 1009, "a message too big without 1009");
    }
  }
  if (r.closing) {
    std::string_view sent = r.close_sent;
    require(check_close(next_frame(sent)) == 1001 && sent.empty(),
            "start_close did not give one close frame");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3)
    return 0;
  static constexpr std::size_t limits[] = {16, 125, 1000, 70000};
  std::size_t max = limits[data[0] & 3];
  bool deflate = (data[0] & 4) != 0;
  std::uint64_t seed = data[1];
  std::string_view stream{reinterpret_cast<const char*>(data) + 3, size - 3};
  std::size_t close_at = data[2] == 0 ? ~std::size_t{0}
                                      : (data[2] - 1u) * stream.size() / 254;

  auto whole = run(stream, max, deflate, close_at, [] { return std::size_t{0}; });
  check(whole, max);
  auto bytewise = run(stream, max, deflate, close_at, [] { return std::size_t{1}; });
  require(same(whole, bytewise), "byte by byte differs from one piece");
  // splitmix64: chunks of 1 to 64 bytes.
  auto chunked = run(stream, max, deflate, close_at, [&seed] {
    seed += 0x9e3779b97f4a7c15;
    auto z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return static_cast<std::size_t>((z ^ (z >> 31)) % 64 + 1);
  });
  require(same(whole, chunked), "random chunks differ from one piece");
  return 0;
}
