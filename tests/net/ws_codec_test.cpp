// The WebSocket codec without sockets: every RFC 6455 rule it enforces, close
// handshakes in both directions, large and fragmented messages, and its
// memory. Every input goes through decode(), which feeds it in one piece,
// byte by byte, in two pieces at every boundary (small inputs) and in random
// chunks, and requires the same result each time.
//
// This file replaces the global operator new/delete of net_unit_tests with
// ones that only count live blocks per thread (see `live_blocks`), to check
// that an idle codec holds no heap memory.

#include "ws/ws_codec.hpp"

#include "frame_header.hpp"
#include "protocol.hpp"
#include "ws/deflate.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

using namespace switchboard::net;
using ending = ws_codec::ending;
using message = std::pair<bool, std::string>;

namespace {

thread_local long live_blocks = 0;

} // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr)
    throw std::bad_alloc{};
  ++live_blocks;
  return p;
}

void operator delete(void* p) noexcept {
  if (p == nullptr)
    return;
  --live_blocks;
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
  ::operator delete(p);
}

// The other forms too: ASan's runtime defines every form, so a block of its
// nothrow new (Catch2 uses it) would reach free() through the delete above
// (alloc-dealloc-mismatch), and arrays would go uncounted.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p != nullptr)
    ++live_blocks;
  return p;
}

void operator delete(void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}

void* operator new[](std::size_t n) {
  return ::operator new(n);
}

void operator delete[](void* p) noexcept {
  ::operator delete(p);
}

void operator delete[](void* p, std::size_t) noexcept {
  ::operator delete(p);
}

void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return ::operator new(n, tag);
}

void operator delete[](void* p, const std::nothrow_t&) noexcept {
  ::operator delete(p);
}

namespace {

constexpr std::uint8_t op_cont = 0x0;
constexpr std::uint8_t op_text = 0x1;
constexpr std::uint8_t op_binary = 0x2;
constexpr std::uint8_t op_close = 0x8;
constexpr std::uint8_t op_ping = 0x9;
constexpr std::uint8_t op_pong = 0xA;

// -- client frames ---------------------------------------------------------------

/// A client frame: `b0` is FIN|RSV|opcode; `form` the length encoding (0:
/// the shortest, 126 or 127: that one, even when not minimal); `declared`
/// the length in the header when it is not the payload's.
std::string raw_frame(std::uint8_t b0, std::string_view payload, bool mask = true,
                      int form = 0, std::uint64_t declared = ~std::uint64_t{0}) {
  static std::uint32_t next_key = 0x9e3779b9;
  std::uint64_t len = declared == ~std::uint64_t{0} ? payload.size() : declared;
  if (form == 0)
    form = len < 126 ? 0 : len <= 0xffff ? 126 : 127;
  std::string out;
  out += static_cast<char>(b0);
  char m = mask ? '\x80' : '\0';
  if (form == 0) {
    out += static_cast<char>(m | static_cast<char>(len));
  } else {
    out += static_cast<char>(m | static_cast<char>(form));
    int bytes = form == 126 ? 2 : 8;
    for (int i = bytes - 1; i >= 0; --i)
      out += static_cast<char>(len >> (8 * i));
  }
  if (!mask)
    return out + std::string{payload};
  next_key = next_key * 2654435761u + 12345u;
  char key[4];
  for (int i = 0; i < 4; ++i)
    key[i] = static_cast<char>(next_key >> (8 * i));
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ key[i % 4]);
  return out;
}

std::string frame(std::uint8_t op, std::string_view payload, bool fin = true) {
  return raw_frame(static_cast<std::uint8_t>((fin ? 0x80 : 0) | op), payload);
}

std::string fragment(std::uint8_t op, std::string_view payload) {
  return frame(op, payload, false);
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  return p + std::string{reason};
}

// -- server frames ---------------------------------------------------------------

struct server_frame {
  std::uint8_t opcode;
  std::string payload;

  std::uint16_t code() const {
    REQUIRE(payload.size() >= 2);
    return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8)
                                      | static_cast<unsigned char>(payload[1]));
  }
};

/// `bytes` as server frames: each FIN, RSV 0, unmasked, minimally encoded.
std::vector<server_frame> server_frames(std::string_view bytes) {
  std::vector<server_frame> frames;
  std::size_t i = 0;
  while (i < bytes.size()) {
    REQUIRE(bytes.size() - i >= 2);
    auto b0 = static_cast<unsigned char>(bytes[i]);
    auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    REQUIRE((b0 & 0xf0) == 0x80);
    REQUIRE((b1 & 0x80) == 0);
    std::uint64_t len = b1 & 0x7f;
    i += 2;
    int ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (ext > 0) {
      REQUIRE(bytes.size() - i >= static_cast<std::size_t>(ext));
      len = 0;
      for (int k = 0; k < ext; ++k)
        len = (len << 8) | static_cast<unsigned char>(bytes[i + k]);
      i += ext;
      REQUIRE(len >= (ext == 2 ? 126u : 65536u));
    }
    REQUIRE(bytes.size() - i >= len);
    frames.push_back({static_cast<std::uint8_t>(b0 & 0x0f),
                      std::string{bytes.substr(i, len)}});
    i += len;
  }
  return frames;
}

// -- feeding, in every way -----------------------------------------------------

constexpr std::size_t no_close = std::string_view::npos;

/// start_close(code, reason) once `at` bytes have been fed.
struct close_call {
  std::size_t at = no_close;
  std::uint16_t code = 1001;
  std::string reason = "going away";
};

struct run_result {
  ws_codec::output out;
  std::string close_sent; ///< what start_close returned
  bool done = false;
  bool idle = false;
  bool closing = false;
};

run_result run(std::string_view bytes, std::size_t max, const close_call& close,
               const std::function<std::size_t()>& next_size, bool deflate) {
  ws_codec codec{{max}};
  if (deflate)
    codec.accept_compressed();
  run_result r;
  std::size_t pos = 0;
  auto feed_until = [&](std::size_t stop) {
    while (pos < stop) {
      auto n = std::min(next_size(), stop - pos);
      codec.feed(bytes.data() + pos, n, r.out);
      pos += n;
    }
  };
  if (close.at != no_close) {
    feed_until(close.at);
    r.close_sent = codec.start_close(close.code, close.reason);
  }
  feed_until(bytes.size());
  r.done = codec.done();
  r.idle = codec.idle();
  r.closing = codec.closing();
  if (codec.done()) {
    // Input after the end changes nothing.
    ws_codec::output again;
    codec.feed(bytes.data(), bytes.size(), again);
    REQUIRE(again.messages.empty());
    REQUIRE(again.to_send.empty());
    REQUIRE(again.end == ending::none);
    REQUIRE(!again.alive);
  }
  return r;
}

std::string describe(const run_result& r) {
  std::string s = "messages:";
  for (auto& [text, data] : r.out.messages)
    s += " " + std::to_string(text) + "/" + std::to_string(data.size());
  s += " to_send: " + std::to_string(r.out.to_send.size())
       + " end: " + std::to_string(static_cast<int>(r.out.end))
       + " peer_code: " + std::to_string(r.out.peer_code)
       + " alive: " + std::to_string(r.out.alive) + " done: " + std::to_string(r.done)
       + " idle: " + std::to_string(r.idle);
  return s;
}

bool same(const run_result& a, const run_result& b) {
  return a.out.messages == b.out.messages && a.out.alive == b.out.alive
         && a.out.to_send == b.out.to_send && a.out.end == b.out.end
         && a.out.peer_code == b.out.peer_code && a.close_sent == b.close_sent
         && a.done == b.done && a.idle == b.idle && a.closing == b.closing;
}

/// Feeds `bytes` in one piece, byte by byte, in two pieces at every boundary
/// (up to 2 KiB of input) and in random chunks; all must agree. `deflate`:
/// permessage-deflate was negotiated (accept_compressed).
run_result decode(std::string_view bytes, std::size_t max = 1024, close_call close = {},
                  bool deflate = false) {
  auto n = bytes.size();
  auto run = [deflate](std::string_view b, std::size_t m, const close_call& c,
                       const std::function<std::size_t()>& next_size) {
    return ::run(b, m, c, next_size, deflate);
  };
  auto whole = run(bytes, max, close, [&] { return std::max<std::size_t>(n, 1); });
  auto expect_same = [&](const run_result& other, const std::string& how) {
    INFO("fed " << how << ": " << describe(other) << "; in one piece: "
                << describe(whole));
    REQUIRE(same(whole, other));
  };
  expect_same(run(bytes, max, close, [] { return std::size_t{1}; }), "byte by byte");
  if (n <= 2048) {
    for (std::size_t cut = 1; cut < n; ++cut) {
      bool first = true;
      auto two = run(bytes, max, close, [&] {
        auto size = first ? cut : n;
        first = false;
        return size;
      });
      expect_same(two, "cut at " + std::to_string(cut));
    }
  }
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::mt19937 rng{seed};
    auto top = std::max<std::size_t>(2, n / (seed + 1));
    std::uniform_int_distribution<std::size_t> size{1, top};
    expect_same(run(bytes, max, close, [&] { return size(rng); }),
                "in random chunks, seed " + std::to_string(seed));
  }
  return whole;
}

/// The connection must fail with `code` (and nothing after the close frame).
void expect_failure(std::string_view bytes, std::uint16_t code, ending why,
                    std::size_t max = 1024, bool deflate = false) {
  auto r = decode(bytes, max, {}, deflate);
  CHECK(r.out.end == why);
  CHECK(r.done);
  CHECK(r.idle);
  auto frames = server_frames(r.out.to_send);
  REQUIRE(!frames.empty());
  REQUIRE(frames.back().opcode == op_close);
  CHECK(frames.back().code() == code);
  CHECK(frames.back().payload.size() > 2); // a reason
  for (std::size_t i = 0; i + 1 < frames.size(); ++i)
    CHECK(frames[i].opcode == op_pong);
}

/// `n` bytes of valid UTF-8: mostly ASCII, with two-, three- and four-byte
/// sequences.
std::string text_of(std::size_t n, unsigned seed) {
  static const std::string_view pieces[] = {"a", "b", "{", "\"", "\xc3\xa9",
                                            "\xe2\x82\xac", "\xf0\x9f\x98\x80", " "};
  std::mt19937 rng{seed};
  std::string s;
  s.reserve(n);
  while (s.size() + 4 <= n)
    s += pieces[rng() % 8];
  s.resize(n, 'a');
  return s;
}

} // namespace

// -- data messages ------------------------------------------------------------------

TEST_CASE("ws_codec: text and binary messages in single frames") {
  std::string bin{"\0\x01\xff\x80", 4};
  auto r = decode(frame(op_text, "hello") + frame(op_binary, bin) + frame(op_text, "")
                  + frame(op_binary, ""));
  CHECK(r.out.messages
        == std::vector<message>{{true, "hello"}, {false, bin}, {true, ""}, {false, ""}});
  CHECK(r.out.to_send.empty());
  CHECK(r.out.end == ending::none);
  CHECK(!r.out.alive);
  CHECK(!r.done);
  CHECK(r.idle);
}

TEST_CASE("ws_codec: unmasking, for every length up to 70 and every key phase") {
  std::string all;
  std::vector<message> expected;
  for (std::size_t n = 0; n <= 70; ++n) {
    std::string p;
    for (std::size_t i = 0; i < n; ++i)
      p += static_cast<char>(i * 37 + n);
    all += frame(op_binary, p);
    expected.emplace_back(false, p);
  }
  auto r = decode(all, 1024);
  CHECK(r.out.messages == expected);
}

TEST_CASE("ws_codec: 16-bit and 64-bit lengths") {
  std::string a(126, 'x');
  std::string b(65535, 'y');
  std::string c(65536, 'z');
  auto r = decode(frame(op_text, a) + frame(op_binary, b) + frame(op_text, c), 70000);
  CHECK(r.out.messages == std::vector<message>{{true, a}, {false, b}, {true, c}});
}

TEST_CASE("ws_codec: fragmented messages, with pings and pongs between fragments") {
  auto r = decode(fragment(op_text, "{\"type\":") + frame(op_ping, "p1")
                  + raw_frame(op_cont, "\"sub") + frame(op_pong, "x")
                  + frame(op_ping, "") + frame(op_cont, "scribe\"}")
                  + fragment(op_binary, "ab") + frame(op_cont, "cd"));
  CHECK(r.out.messages
        == std::vector<message>{{true, "{\"type\":\"subscribe\"}"}, {false, "abcd"}});
  CHECK(r.out.alive);
  auto sent = server_frames(r.out.to_send);
  REQUIRE(sent.size() == 2);
  CHECK((sent[0].opcode == op_pong && sent[0].payload == "p1"));
  CHECK((sent[1].opcode == op_pong && sent[1].payload.empty()));
}

TEST_CASE("ws_codec: empty fragments are fine") {
  auto r = decode(fragment(op_text, "") + fragment(op_cont, "{}") + frame(op_cont, "")
                  + fragment(op_binary, "") + frame(op_cont, ""));
  CHECK(r.out.messages == std::vector<message>{{true, "{}"}, {false, ""}});
  CHECK(r.out.end == ending::none);
}

// -- control frames -----------------------------------------------------------------

TEST_CASE("ws_codec: a ping gets a pong with the same payload; a pong only says alive") {
  std::string big(125, 'p');
  auto r = decode(frame(op_ping, "hello-ping") + frame(op_ping, big) + frame(op_ping, ""));
  CHECK(r.out.alive);
  auto sent = server_frames(r.out.to_send);
  REQUIRE(sent.size() == 3);
  CHECK((sent[0].opcode == op_pong && sent[0].payload == "hello-ping"));
  CHECK((sent[1].opcode == op_pong && sent[1].payload == big));
  CHECK((sent[2].opcode == op_pong && sent[2].payload.empty()));
  CHECK(r.idle);

  auto pong = decode(frame(op_pong, "whatever"));
  CHECK(pong.out.alive);
  CHECK(pong.out.to_send.empty());
  CHECK(pong.out.messages.empty());
}

TEST_CASE("ws_codec: control frames must be final and at most 125 bytes (1002)") {
  for (auto op : {op_ping, op_pong, op_close}) {
    CAPTURE(op);
    expect_failure(raw_frame(op, "a"), 1002, ending::protocol_error);
    expect_failure(frame(op, std::string(126, 'a')), 1002, ending::protocol_error);
    // 127: a 64-bit length, fails on the second byte.
    expect_failure(raw_frame(0x80 | op, "", true, 127, 70000).substr(0, 2), 1002,
                   ending::protocol_error);
  }
}

// -- framing errors (1002) --------------------------------------------------------

TEST_CASE("ws_codec: client frames must be masked (1002)") {
  expect_failure(raw_frame(0x80 | op_text, "{}", false), 1002, ending::protocol_error);
  expect_failure(raw_frame(0x80 | op_close, close_payload(1000), false), 1002,
                 ending::protocol_error);
  expect_failure(raw_frame(0x80 | op_ping, "", false), 1002, ending::protocol_error);
  // Seen on the second byte: the rest need not arrive.
  expect_failure(raw_frame(0x80 | op_text, "{}", false).substr(0, 2), 1002,
                 ending::protocol_error);
}

TEST_CASE("ws_codec: RSV bits must be 0 without extensions (1002)") {
  for (std::uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
    CAPTURE(rsv);
    expect_failure(raw_frame(0x80 | rsv | op_text, "{}"), 1002, ending::protocol_error);
    expect_failure(raw_frame(0x80 | rsv | op_ping, ""), 1002, ending::protocol_error);
    expect_failure(fragment(op_text, "a") + raw_frame(0x80 | rsv | op_cont, "b"), 1002,
                   ending::protocol_error);
  }
}

TEST_CASE("ws_codec: reserved opcodes fail (1002)") {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    CAPTURE(op);
    expect_failure(frame(op, "x"), 1002, ending::protocol_error);
    expect_failure(frame(op, ""), 1002, ending::protocol_error);
  }
}

TEST_CASE("ws_codec: fragments must come in order (1002)") {
  expect_failure(frame(op_cont, "{}"), 1002, ending::protocol_error);
  expect_failure(frame(op_text, "a") + frame(op_cont, "b"), 1002, ending::protocol_error);
  expect_failure(fragment(op_text, "{\"type\":") + frame(op_text, "\"x\"}"), 1002,
                 ending::protocol_error);
  expect_failure(fragment(op_binary, "a") + frame(op_text, "b"), 1002,
                 ending::protocol_error);
  expect_failure(fragment(op_text, "a") + fragment(op_binary, "b"), 1002,
                 ending::protocol_error);
  // The message before the error is delivered.
  auto r = decode(frame(op_text, "ok") + frame(op_cont, "no"));
  CHECK(r.out.messages == std::vector<message>{{true, "ok"}});
  CHECK(r.out.end == ending::protocol_error);
}

TEST_CASE("ws_codec: lengths must be minimally encoded and below 2^63 (1002)") {
  auto header = [](std::uint8_t op, int form, std::uint64_t len) {
    return raw_frame(0x80 | op, "", true, form, len).substr(0, form == 126 ? 4 : 10);
  };
  expect_failure(header(op_text, 126, 125), 1002, ending::protocol_error);
  expect_failure(header(op_text, 126, 0), 1002, ending::protocol_error);
  expect_failure(header(op_binary, 127, 65535), 1002, ending::protocol_error);
  expect_failure(header(op_binary, 127, 0), 1002, ending::protocol_error);
  // The high bit set is a protocol error, even for a codec without limit.
  expect_failure(header(op_text, 127, std::uint64_t{1} << 63), 1002,
                 ending::protocol_error, std::numeric_limits<std::size_t>::max());
  expect_failure(header(op_text, 127, ~std::uint64_t{0}), 1002, ending::protocol_error);
  // The smallest lengths of each encoding are fine.
  auto r = decode(raw_frame(0x81, std::string(126, 'a'), true, 126)
                    + raw_frame(0x82, std::string(65536, 'b'), true, 127),
                  1 << 20);
  CHECK(r.out.messages.size() == 2);
  CHECK(r.out.end == ending::none);
}

// -- message size (1009) -----------------------------------------------------------

TEST_CASE("ws_codec: a message over the limit fails as soon as its header says so") {
  constexpr std::size_t max = 1024;
  // The header alone: the payload is not waited for.
  expect_failure(raw_frame(0x81, "", true, 0, max + 1).substr(0, 8), 1009,
                 ending::too_big, max);
  expect_failure(raw_frame(0x82, std::string(max + 1, 'b')), 1009, ending::too_big, max);
  expect_failure(raw_frame(0x81, "", true, 127, std::uint64_t{1} << 40).substr(0, 14),
                 1009, ending::too_big, max);
  expect_failure(raw_frame(0x81, "", true, 127, (std::uint64_t{1} << 63) - 1).substr(0, 10),
                 1009, ending::too_big, max);
  // Fragments summed: the third fragment's header is enough.
  std::string chunk(400, 'y');
  auto third = raw_frame(0x80, chunk).substr(0, 8);
  expect_failure(fragment(op_text, chunk) + fragment(op_cont, chunk) + third, 1009,
                 ending::too_big, max);
  // A limit of 0 admits empty messages only.
  CHECK(decode(frame(op_text, ""), 0).out.messages.size() == 1);
  expect_failure(frame(op_text, "x"), 1009, ending::too_big, 0);
}

TEST_CASE("ws_codec: a message at the limit is accepted, in one frame or in fragments") {
  std::string body(1024, 'z');
  auto r = decode(frame(op_text, body) + fragment(op_text, body.substr(0, 300))
                    + frame(op_ping, "x") + fragment(op_cont, body.substr(300, 400))
                    + frame(op_cont, body.substr(700)),
                  1024);
  CHECK(r.out.messages == std::vector<message>{{true, body}, {true, body}});
  CHECK(r.out.end == ending::none);
}

TEST_CASE("ws_codec: a 1 MiB message with a 2 MiB limit, whole and in 16 fragments") {
  constexpr std::size_t mib = 1 << 20;
  auto text = text_of(mib, 7);
  std::string binary(mib, '\0');
  for (std::size_t i = 0; i < mib; ++i)
    binary[i] = static_cast<char>(i * 131 + (i >> 9));
  std::string fragmented;
  for (std::size_t i = 0; i < 16; ++i) {
    auto piece = std::string_view{text}.substr(i * mib / 16, mib / 16);
    fragmented += frame(i == 0 ? op_text : op_cont, piece, i == 15);
    fragmented += frame(op_ping, std::to_string(i));
  }
  auto r = decode(frame(op_text, text) + frame(op_binary, binary) + fragmented, 2 * mib);
  REQUIRE(r.out.messages.size() == 3);
  CHECK((r.out.messages[0].first && r.out.messages[0].second == text));
  CHECK((!r.out.messages[1].first && r.out.messages[1].second == binary));
  CHECK((r.out.messages[2].first && r.out.messages[2].second == text));
  CHECK(server_frames(r.out.to_send).size() == 16);
  CHECK(r.out.end == ending::none);
}

// -- UTF-8 (1007) -------------------------------------------------------------------

TEST_CASE("ws_codec: text messages must be valid UTF-8 (1007)") {
  for (std::string bad : {"{\"type\":\"\xff\"}", "\xc0\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "abc\xe2\x82", "\x80",
                          "\xf8\x88\x80\x80\x80"}) {
    CAPTURE(bad);
    expect_failure(frame(op_text, bad), 1007, ending::bad_payload);
    // Binary messages are not text.
    CHECK(decode(frame(op_binary, bad)).out.messages.size() == 1);
  }
}

TEST_CASE("ws_codec: UTF-8 split across fragments") {
  for (std::string cp : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    for (std::size_t cut = 1; cut < cp.size(); ++cut) {
      CAPTURE(cp, cut);
      auto r = decode(fragment(op_text, "a" + cp.substr(0, cut)) + frame(op_ping, "m")
                      + frame(op_cont, cp.substr(cut) + "b"));
      CHECK(r.out.messages == std::vector<message>{{true, "a" + cp + "b"}});
    }
  }
  // The e2e case: a three-byte sequence whose third byte is not a continuation.
  expect_failure(fragment(op_text, "{\"a\":\"\xe2\x82") + frame(op_cont, "\x28\"}"), 1007,
                 ending::bad_payload);
  // A sequence cut short by the end of the message.
  expect_failure(fragment(op_text, "ab\xe2\x82") + frame(op_cont, ""), 1007,
                 ending::bad_payload);
}

TEST_CASE("ws_codec: invalid UTF-8 fails at once, not at the end of the message") {
  // Invalid bytes in a first fragment: no further frame needed.
  expect_failure(fragment(op_text, "ok\xff"), 1007, ending::bad_payload);
  // Prefixes that no continuation can make valid: a surrogate, beyond
  // U+10FFFF, an overlong form.
  for (std::string prefix : {"\xed\xa0", "\xf4\x90", "\xc0", "\xe0\x80", "\xf0\x80"}) {
    CAPTURE(prefix);
    expect_failure(fragment(op_text, "x" + prefix), 1007, ending::bad_payload);
  }
  // Within one frame: the first bytes of a 100-byte frame are enough.
  std::string payload = "\xff" + std::string(99, 'a');
  expect_failure(frame(op_text, payload).substr(0, 10), 1007, ending::bad_payload);
}

// -- close ------------------------------------------------------------------------------

TEST_CASE("ws_codec: the peer's close is echoed with its code") {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                             1013, 3000, 4001, 4999}) {
    CAPTURE(code);
    auto r = decode(frame(op_close, close_payload(code, "private \xe2\x9c\x93")));
    CHECK(r.out.end == ending::peer_closed);
    CHECK(r.out.peer_code == code);
    CHECK(r.done);
    auto sent = server_frames(r.out.to_send);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].opcode == op_close);
    CHECK(sent[0].payload == close_payload(code));
  }
}

TEST_CASE("ws_codec: an empty close is answered with an empty close") {
  auto r = decode(frame(op_close, ""));
  CHECK(r.out.end == ending::peer_closed);
  CHECK(r.out.peer_code == 0);
  auto sent = server_frames(r.out.to_send);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].opcode == op_close);
  CHECK(sent[0].payload.empty());
}

TEST_CASE("ws_codec: invalid close frames fail the connection") {
  expect_failure(frame(op_close, "\x03"), 1002, ending::protocol_error);
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2999}) {
    CAPTURE(code);
    expect_failure(frame(op_close, close_payload(code)), 1002, ending::protocol_error);
  }
  expect_failure(frame(op_close, close_payload(1000, "\xff\xfe")), 1007,
                 ending::bad_payload);
  expect_failure(frame(op_close, close_payload(1000, "ab\xe2\x82")), 1007,
                 ending::bad_payload);
}

TEST_CASE("ws_codec: what follows the peer's close is ignored") {
  auto r = decode(frame(op_text, "before") + frame(op_close, close_payload(1000))
                  + frame(op_text, "after") + frame(op_ping, "x") + "garbage");
  CHECK(r.out.messages == std::vector<message>{{true, "before"}});
  CHECK(r.out.end == ending::peer_closed);
  CHECK(!r.out.alive);
  CHECK(server_frames(r.out.to_send).size() == 1);
}

TEST_CASE("ws_codec: the peer's close between fragments ends the message unread") {
  auto r = decode(fragment(op_text, "half") + frame(op_close, close_payload(1001)));
  CHECK(r.out.messages.empty());
  CHECK(r.out.end == ending::peer_closed);
  CHECK(r.idle);
}

TEST_CASE("ws_codec: the server's close") {
  ws_codec codec{{1024}};
  auto sent = codec.start_close(4000, "bye");
  CHECK(codec.closing());
  CHECK(!codec.done());
  auto frames = server_frames(sent);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].opcode == op_close);
  CHECK(frames[0].payload == close_payload(4000, "bye"));
  // Only once.
  CHECK(codec.start_close(1000, "").empty());

  SECTION("the peer's reply ends it, with nothing more to send") {
    auto r = decode(frame(op_text, "a") + frame(op_close, close_payload(1000)) + "x", 1024,
                    close_call{0});
    CHECK(r.out.messages.empty());
    CHECK(r.out.to_send.empty());
    CHECK(r.out.end == ending::peer_closed);
    CHECK(r.out.peer_code == 1000);
    CHECK(r.done);
    CHECK(r.closing);
  }
  SECTION("an empty close reply, too") {
    auto r = decode(frame(op_close, ""), 1024, close_call{0});
    CHECK(r.out.end == ending::peer_closed);
    CHECK(r.out.to_send.empty());
  }
  SECTION("meanwhile pings are not answered, and messages not delivered") {
    auto r = decode(frame(op_ping, "p") + frame(op_text, "a") + frame(op_binary, "b"), 1024,
                    close_call{0});
    CHECK(r.out.alive);
    CHECK(r.out.to_send.empty());
    CHECK(r.out.messages.empty());
    CHECK(r.out.end == ending::none);
    CHECK(!r.done);
  }
  SECTION("the message in progress is dropped, its fragments still checked") {
    std::string input = fragment(op_text, "fir") + fragment(op_cont, "st");
    auto r = decode(input + frame(op_cont, "!") + frame(op_text, "x"), 1024,
                    close_call{input.size()});
    CHECK(r.out.messages.empty());
    CHECK(r.out.end == ending::none);
    auto bad = decode(input + frame(op_text, "x"), 1024, close_call{input.size()});
    CHECK(bad.out.end == ending::protocol_error);
    CHECK(bad.out.to_send.empty());
  }
  SECTION("start_close in the middle of a frame") {
    auto f = frame(op_text, "abcdef");
    auto r = decode(f + frame(op_close, ""), 1024, close_call{f.size() - 3});
    CHECK(r.out.messages.empty());
    CHECK(r.out.end == ending::peer_closed);
  }
  SECTION("in the middle of a split ping, which is read but not answered") {
    auto p = frame(op_ping, "ping!");
    auto r = decode(p + frame(op_close, ""), 1024, close_call{p.size() - 2});
    CHECK(r.out.alive);
    CHECK(r.out.to_send.empty());
    CHECK(r.out.end == ending::peer_closed);
  }
  SECTION("errors end it without a second close frame") {
    for (auto bad : {raw_frame(0x81, "x", false), frame(op_close, "\x03"),
                     frame(op_close, close_payload(1000, "\xff"))}) {
      auto r = decode(bad, 1024, close_call{0});
      CHECK(r.out.to_send.empty());
      CHECK(r.out.end != ending::none);
      CHECK(r.out.end != ending::peer_closed);
      CHECK(r.done);
    }
  }
  SECTION("data is discarded, not limited, and not checked for UTF-8") {
    auto r = decode(frame(op_binary, std::string(5000, 'b')) + frame(op_text, "\xff")
                      + frame(op_close, ""),
                    1024, close_call{0});
    CHECK(r.out.end == ending::peer_closed);
  }
}

TEST_CASE("ws_codec: start_close after the end does nothing") {
  ws_codec codec{{1024}};
  ws_codec::output out;
  auto f = frame(op_close, "");
  codec.feed(f.data(), f.size(), out);
  REQUIRE(codec.done());
  CHECK(codec.start_close(1000, "").empty());
  CHECK(!codec.closing());
}

TEST_CASE("ws_codec: after a failure, input is ignored") {
  ws_codec codec{{1024}};
  ws_codec::output out;
  auto bad = raw_frame(0x81, "x", false);
  codec.feed(bad.data(), bad.size(), out);
  REQUIRE(codec.done());
  CHECK(out.end == ending::protocol_error);
  ws_codec::output later;
  auto good = frame(op_text, "x") + frame(op_ping, "p") + frame(op_close, "");
  codec.feed(good.data(), good.size(), later);
  CHECK(later.messages.empty());
  CHECK(later.to_send.empty());
  CHECK(later.end == ending::none);
  CHECK(!later.alive);
}

// -- server frames --------------------------------------------------------------------

TEST_CASE("ws_codec: server frame headers") {
  // One encoder (frame_header.hpp) for the hub's frames and the codec's own.
  auto header = [](std::size_t n) {
    std::string h = "prefix";
    switchboard::protocol::text_header(n, h);
    return h;
  };
  CHECK(header(0) == std::string("prefix\x81\x00", 8));
  CHECK(header(125) == "prefix\x81\x7d");
  CHECK(header(126) == std::string("prefix\x81\x7e\x00\x7e", 10));
  CHECK(header(65535) == "prefix\x81\x7e\xff\xff");
  CHECK(header(65536) == std::string("prefix\x81\x7f\0\0\0\0\0\x01\0\0", 16));
  std::string pong;
  switchboard::protocol::frame_header(op_pong, 3, pong);
  CHECK(pong == "\x8a\x03");
  std::string close;
  switchboard::protocol::frame_header(op_close, 300, close);
  CHECK(close == std::string("\x88\x7e\x01\x2c", 4));

  CHECK(ws_codec::close_frame(1000, "bye") == "\x88\x05\x03\xe8" "bye");
  CHECK(ws_codec::close_frame(0, "ignored") == std::string("\x88\x00", 2));
  // A long reason is cut to 123 bytes, at a code point boundary.
  std::string reason;
  for (int i = 0; i < 100; ++i)
    reason += "\xc3\xa9";
  auto f = server_frames(ws_codec::close_frame(1011, reason));
  REQUIRE(f.size() == 1);
  CHECK(f[0].payload.size() == 2 + 122);
  CHECK(f[0].payload.substr(2) == reason.substr(0, 122));
  auto ascii = server_frames(ws_codec::close_frame(1011, std::string(200, 'r')));
  CHECK(ascii[0].payload.size() == 125);
}

// -- memory ----------------------------------------------------------------------------

TEST_CASE("ws_codec: small, and idle only between messages") {
  CHECK(sizeof(ws_codec) <= 96);
  ws_codec codec{{1 << 20}};
  ws_codec::output out;
  CHECK(codec.idle());
  auto feed = [&](std::string_view bytes) { codec.feed(bytes.data(), bytes.size(), out); };
  auto f = frame(op_text, "hello");
  feed(f.substr(0, 1));
  CHECK(!codec.idle()); // a partial header
  feed(f.substr(1, 6));
  CHECK(!codec.idle()); // a partial payload
  feed(f.substr(7));
  CHECK(codec.idle());
  auto first = fragment(op_text, "he");
  feed(first);
  CHECK(!codec.idle()); // a partial message
  auto p = frame(op_ping, "x");
  feed(p);
  CHECK(!codec.idle()); // still
  feed(frame(op_cont, "llo"));
  CHECK(codec.idle());
  CHECK(out.messages == std::vector<message>{{true, "hello"}, {true, "hello"}});
}

TEST_CASE("ws_codec: an idle codec holds no heap memory") {
  ws_codec codec{{1 << 20}};
  auto text = text_of(64 * 1024, 3);
  auto input = fragment(op_text, text.substr(0, 1000))
               + frame(op_ping, std::string(100, 'p')) + frame(op_cont, text.substr(1000))
               + frame(op_binary, std::string(5000, 'b'));
  auto split_ping = frame(op_ping, std::string(120, 'q'));
  auto before = live_blocks;
  {
    ws_codec::output out;
    for (std::size_t i = 0; i < input.size(); i += 1000)
      codec.feed(input.data() + i, std::min<std::size_t>(1000, input.size() - i), out);
    REQUIRE(out.messages.size() == 2);
    CHECK(out.messages[0].second == text);
    REQUIRE(codec.idle());
    // A control frame split across reads is kept on the heap meanwhile.
    out = {};
    codec.feed(split_ping.data(), 50, out);
    CHECK(!codec.idle());
    codec.feed(split_ping.data() + 50, split_ping.size() - 50, out);
    CHECK(codec.idle());
  }
  CHECK(live_blocks == before);

  // A failure in the middle of a large message releases it too.
  auto bad = fragment(op_text, std::string(20000, 'a')) + frame(op_cont, "\xff");
  before = live_blocks;
  {
    ws_codec::output out;
    codec.feed(bad.data(), bad.size(), out);
    CHECK(out.end == ending::bad_payload);
  }
  CHECK(live_blocks == before);
}

TEST_CASE("ws_codec: start_close releases the message in progress") {
  ws_codec codec{{1 << 20}};
  auto input = fragment(op_binary, std::string(30000, 'a'));
  auto before = live_blocks;
  {
    ws_codec::output out;
    codec.feed(input.data(), input.size(), out);
    CHECK(live_blocks > before);
    auto sent = codec.start_close(1001, "");
  }
  CHECK(live_blocks == before);
}

// -- permessage-deflate (RFC 7692) ---------------------------------------------------

namespace {

constexpr std::uint8_t rsv1 = 0x40;

/// `text` compressed as a client sends it (RFC 7692 7.2.1).
std::string compressed(std::string_view text) {
  std::string out;
  deflate_message(text, out);
  return out;
}

run_result decode_deflate(std::string_view bytes, std::size_t max = 1024) {
  return decode(bytes, max, {}, true);
}

} // namespace

TEST_CASE("ws_codec deflate: the examples of RFC 7692 7.2.3") {
  // 7.2.3.1 (fixed Huffman), 7.2.3.3 (a stored block), 7.2.3.4 (BFINAL set,
  // then an empty block's header bits).
  for (std::string_view payload :
       {std::string_view{"\xf2\x48\xcd\xc9\xc9\x07\x00", 7},
        std::string_view{"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11},
        std::string_view{"\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8}}) {
    CAPTURE(payload.size());
    auto r = decode_deflate(raw_frame(0x80 | rsv1 | op_text, payload)
                            + raw_frame(0x80 | rsv1 | op_binary, payload));
    CHECK(r.out.messages == std::vector<message>{{true, "Hello"}, {false, "Hello"}});
    CHECK(r.out.end == ending::none);
    CHECK(r.idle);
  }
}

TEST_CASE("ws_codec deflate: compressed and plain messages mixed, no context kept") {
  auto text = text_of(3000, 11);
  auto c = compressed(text);
  REQUIRE(c.size() < text.size());
  // The same compressed bytes twice: each message is decompressed on its own.
  auto r = decode_deflate(raw_frame(0x80 | rsv1 | op_text, c) + frame(op_text, "plain")
                            + raw_frame(0x80 | rsv1 | op_text, c)
                            + raw_frame(0x80 | rsv1 | op_text, compressed("")),
                          4096);
  CHECK(r.out.messages
        == std::vector<message>{{true, text}, {true, "plain"}, {true, text}, {true, ""}});
  CHECK(r.out.end == ending::none);
}

TEST_CASE("ws_codec deflate: a fragmented compressed message (RSV1 on the first frame)") {
  auto text = text_of(5000, 12);
  auto c = compressed(text);
  REQUIRE(c.size() > 30);
  auto third = c.size() / 3;
  auto r = decode_deflate(raw_frame(rsv1 | op_text, c.substr(0, third)) + frame(op_ping, "p")
                            + fragment(op_cont, c.substr(third, third))
                            + frame(op_cont, c.substr(2 * third)),
                          8192);
  CHECK(r.out.messages == std::vector<message>{{true, text}});
  CHECK(r.out.alive);
  CHECK(r.out.end == ending::none);
}

TEST_CASE("ws_codec deflate: RSV1 on a control or continuation frame fails (1002)") {
  auto c = compressed("hello hello hello");
  expect_failure(raw_frame(0x80 | rsv1 | op_ping, ""), 1002, ending::protocol_error, 1024,
                 true);
  expect_failure(raw_frame(0x80 | rsv1 | op_close, close_payload(1000)), 1002,
                 ending::protocol_error, 1024, true);
  expect_failure(raw_frame(rsv1 | op_text, c.substr(0, 4))
                   + raw_frame(0x80 | rsv1 | op_cont, c.substr(4)),
                 1002, ending::protocol_error, 1024, true);
  expect_failure(fragment(op_text, "a") + raw_frame(0x80 | rsv1 | op_cont, c), 1002,
                 ending::protocol_error, 1024, true);
  // RSV2 and RSV3 belong to no negotiated extension.
  for (std::uint8_t rsv : {0x20, 0x10, 0x60}) {
    CAPTURE(rsv);
    expect_failure(raw_frame(0x80 | rsv | op_text, c), 1002, ending::protocol_error, 1024,
                   true);
  }
}

TEST_CASE("ws_codec deflate: RSV1 without the negotiation fails (1002)") {
  expect_failure(raw_frame(0x80 | rsv1 | op_text, compressed("hello")), 1002,
                 ending::protocol_error);
}

TEST_CASE("ws_codec deflate: the limit holds for the decompressed size (1009)") {
  constexpr std::size_t max = 64 * 1024;
  // 1 MiB of zeros compress to about 1 KiB: a small bomb.
  auto bomb = compressed(std::string(1 << 20, '\0'));
  REQUIRE(bomb.size() < 2048);
  expect_failure(raw_frame(0x80 | rsv1 | op_binary, bomb), 1009, ending::too_big, max, true);
  // Exactly at the limit passes; one byte more fails.
  auto r = decode_deflate(raw_frame(0x80 | rsv1 | op_binary, compressed(std::string(max, 'x'))),
                          max);
  REQUIRE(r.out.messages.size() == 1);
  CHECK(r.out.messages[0].second == std::string(max, 'x'));
  expect_failure(raw_frame(0x80 | rsv1 | op_binary, compressed(std::string(max + 1, 'x'))),
                 1009, ending::too_big, max, true);
}

TEST_CASE("ws_codec deflate: data that does not decompress fails (1007)") {
  auto c = compressed(text_of(2000, 13));
  // A reserved block type (BTYPE 11).
  expect_failure(raw_frame(0x80 | rsv1 | op_text, "\xff\xff\xff\xff"), 1007,
                 ending::bad_payload, 1024, true);
  // Cut short: the message ends inside a block.
  expect_failure(raw_frame(0x80 | rsv1 | op_text, c.substr(0, c.size() / 2)), 1007,
                 ending::bad_payload, 4096, true);
  // An empty payload is not a compressed message (the empty one is 00).
  expect_failure(raw_frame(0x80 | rsv1 | op_text, ""), 1007, ending::bad_payload, 1024,
                 true);
  // Compressed text must decompress to valid UTF-8.
  expect_failure(raw_frame(0x80 | rsv1 | op_text, compressed("ab\xff")), 1007,
                 ending::bad_payload, 1024, true);
  // The same bytes as a binary message are fine.
  auto r = decode_deflate(raw_frame(0x80 | rsv1 | op_binary, compressed("ab\xff")));
  CHECK(r.out.messages == std::vector<message>{{false, "ab\xff"}});
}
