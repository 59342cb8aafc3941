// permessage-deflate without sockets: which offers are accepted and what the
// 101 response says, the shared compressed frames, and decompression with
// its limit. (Compressed messages through the codec: ws_codec_test.cpp.)

#include "ws/deflate.hpp"

#include "protocol.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace switchboard::net;

namespace {

constexpr std::string_view agreed = "permessage-deflate; server_no_context_takeover; "
                                    "client_no_context_takeover";
constexpr std::string_view agreed_15 = "permessage-deflate; server_no_context_takeover; "
                                       "client_no_context_takeover; server_max_window_bits=15";

std::string payload_text(std::size_t n) {
  std::string s;
  while (s.size() < n)
    s += "{\"type\":\"message\",\"topic\":\"prices\",\"data\":" + std::to_string(s.size()) + "}";
  s.resize(n);
  return s;
}

} // namespace

// -- negotiation ------------------------------------------------------------------

TEST_CASE("deflate: which offers are accepted, and the answer") {
  struct row {
    std::string_view offers;
    std::optional<std::string_view> answer;
  };
  const row rows[] = {
    // Plain offers, and what browsers and python-websockets send.
    {"permessage-deflate", agreed},
    {"permessage-deflate; client_max_window_bits", agreed},
    {"permessage-deflate; client_max_window_bits=10", agreed},
    {"permessage-deflate; client_max_window_bits=\"10\"", agreed},
    {"permessage-deflate;client_max_window_bits;server_no_context_takeover", agreed},
    {"permessage-deflate; client_no_context_takeover; server_no_context_takeover", agreed},
    {"PerMessage-Deflate; Client_Max_Window_Bits", agreed},
    {"permessage-deflate; server_max_window_bits=15", agreed_15},
    {"permessage-deflate; server_max_window_bits=\"15\"", agreed_15},
    {"  permessage-deflate  ;  client_max_window_bits  =  9  ", agreed},
    // Several offers: the first acceptable one.
    {"x-webkit-deflate-frame, permessage-deflate", agreed},
    {"permessage-deflate; server_max_window_bits=10, permessage-deflate", agreed},
    {"permessage-deflate; unknown, permessage-deflate; server_max_window_bits=15", agreed_15},
    {", ,permessage-deflate,", agreed},
    // Unacceptable offers.
    {"", std::nullopt},
    {"x-webkit-deflate-frame", std::nullopt},
    {"permessage-deflate; unknown", std::nullopt},
    {"permessage-deflate; unknown=1", std::nullopt},
    {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
     std::nullopt},
    {"permessage-deflate; client_max_window_bits; client_max_window_bits=9", std::nullopt},
    {"permessage-deflate; server_no_context_takeover=1", std::nullopt},
    {"permessage-deflate; client_no_context_takeover=\"x\"", std::nullopt},
    {"permessage-deflate; server_max_window_bits", std::nullopt},
    {"permessage-deflate; server_max_window_bits=8", std::nullopt},
    {"permessage-deflate; server_max_window_bits=16", std::nullopt},
    {"permessage-deflate; client_max_window_bits=7", std::nullopt},
    {"permessage-deflate; client_max_window_bits=16", std::nullopt},
    {"permessage-deflate; client_max_window_bits=09", std::nullopt},
    {"permessage-deflate; client_max_window_bits=-9", std::nullopt},
    {"permessage-deflate; client_max_window_bits=\"\"", std::nullopt},
    {"permessage-deflate; client_max_window_bits=\"1 0\"", std::nullopt},
    // Headers that do not parse: nothing is accepted, not even a good offer.
    {"permessage-deflate; client_max_window_bits=\"10", std::nullopt},
    {"permessage-deflate; ; client_max_window_bits", std::nullopt},
    {"permessage-deflate; client_max_window_bits=", std::nullopt},
    {"permessage-deflate x, permessage-deflate", std::nullopt},
    {"permessage-deflate, \"quoted\"", std::nullopt},
  };
  for (auto& r : rows) {
    CAPTURE(r.offers);
    auto got = negotiate_deflate(r.offers);
    if (r.answer) {
      REQUIRE(got);
      CHECK(*got == *r.answer);
    } else {
      CHECK(!got);
    }
  }
}

TEST_CASE("deflate: several Sec-WebSocket-Extensions fields are one list") {
  boost::beast::http::fields req;
  req.insert(boost::beast::http::field::sec_websocket_extensions, "foo; bar");
  req.insert(boost::beast::http::field::sec_websocket_extensions,
             "permessage-deflate; client_max_window_bits");
  auto got = negotiate_deflate(req);
  REQUIRE(got);
  CHECK(*got == agreed);
  CHECK(!negotiate_deflate(boost::beast::http::fields{}));
}

// -- outbound frames -----------------------------------------------------------------

TEST_CASE("deflate: a frame is compressed once and shared; RSV1 marks it") {
  auto text = payload_text(2000);
  auto plain = protocol::make_frame(text);
  CHECK(plain->encoded() == nullptr); // nothing is done before it is asked for
  auto d = deflated(plain);
  CHECK(d.get() != plain.get());
  CHECK(plain->encoded() == d.get());
  CHECK(deflated(plain).get() == d.get()); // the second receiver shares it
  CHECK(d.use_count() == plain.use_count()); // and it lives as long as `plain`
  auto b0 = static_cast<unsigned char>((*d)[0]);
  CHECK(b0 == (0x80 | 0x40 | 0x1)); // FIN, RSV1, text
  auto body = protocol::payload_of(*d);
  CHECK(body.size() < text.size() / 4);
  std::string back;
  REQUIRE(inflate_message(body, text.size(), back) == inflate_result::ok);
  CHECK(back == text);
}

TEST_CASE("deflate: short or incompressible payloads go out as they are") {
  auto tiny = protocol::make_frame(payload_text(min_deflate_payload - 1));
  CHECK(deflated(tiny).get() == tiny.get());
  CHECK(tiny->encoded() == tiny.get());
  // Random bytes do not shrink.
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    x = x * 1664525u + 1013904223u;
    noise += static_cast<char>(x >> 24);
  }
  auto hard = protocol::make_frame(noise);
  CHECK(deflated(hard).get() == hard.get());
  CHECK((static_cast<unsigned char>((*hard)[0]) & 0x40) == 0);
}

TEST_CASE("deflate: the publish stamp travels with the compressed frame") {
  auto at = std::chrono::steady_clock::now();
  auto f = protocol::message_frame("\"t\"", "\"" + payload_text(500) + "\"", at);
  CHECK(deflated(f)->framed_at == at);
}

TEST_CASE("deflate: I/O threads asking at once all get the same frame") {
  for (int round = 0; round < 20; ++round) {
    auto f = protocol::make_frame(payload_text(4000 + round));
    std::vector<const stamped_frame*> got(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i)
      threads.emplace_back([&, i] { got[i] = deflated(f).get(); });
    for (auto& t : threads)
      t.join();
    for (auto* g : got)
      CHECK(g == f->encoded());
    CHECK(f->encoded() != f.get());
  }
}

// -- inbound --------------------------------------------------------------------------

TEST_CASE("deflate: inflate_message stops at the limit") {
  std::string c;
  deflate_message(std::string(100'000, 'a'), c);
  std::string out = "stale";
  CHECK(inflate_message(c, 100'000, out) == inflate_result::ok);
  CHECK(out == std::string(100'000, 'a'));
  CHECK(inflate_message(c, 99'999, out) == inflate_result::too_big);
  CHECK(out.empty());
  CHECK(out.capacity() < 64); // a bomb leaves nothing behind
  // BTYPE 11 is reserved.
  CHECK(inflate_message("\xff", 100, out) == inflate_result::corrupt);
  // The inflater is reset after a failure: the next message decodes.
  CHECK(inflate_message(c, 100'000, out) == inflate_result::ok);
}
