// The outbound side of a connection on real loopback sockets: batching into
// gathered writes, order, what a slow consumer's discard keeps, and failure.

#include "ws/frame_writer.hpp"
#include "loopback.hpp"
#include "protocol.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;

namespace {

struct writes {
  std::vector<frame_writer::progress> done;
  boost::system::error_code failure;
  std::size_t frames() const {
    std::size_t n = 0;
    for (auto& p : done)
      n += p.frames;
    return n;
  }
};

frame_ptr shared(const std::string& payload) {
  return protocol::make_frame(payload);
}

/// Hands what the writer reports to a function.
struct callback : frame_writer::observer {
  explicit callback(std::function<void(boost::system::error_code, frame_writer::progress)> f)
    : fn(std::move(f)) {
  }
  void on_written(boost::system::error_code ec, frame_writer::progress p) override {
    fn(ec, p);
  }
  std::function<void(boost::system::error_code, frame_writer::progress)> fn;
};

} // namespace

TEST_CASE("frames queued before a flush go out in one gathered write, in order") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  writes w;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     w.failure = ec;
                     w.done.push_back(p);
                   }};
  frame_writer out{near, cb};
  std::string expected;
  for (int i = 0; i < 10; ++i) {
    auto f = shared(frame(i));
    expected += *f;
    out.push(f);
  }
  out.push_control("PONG");
  expected += "PONG";
  CHECK(out.pending_bytes() == expected.size());
  out.flush(nullptr);
  REQUIRE(run_until(ioc, [&] { return !w.done.empty(); }));
  CHECK(w.done.size() == 1);
  CHECK(w.done[0].frames == 10); // control bytes are not data frames
  CHECK(out.pending_bytes() == 0);
  CHECK(read_exactly(ioc, far, expected.size()) == expected);
}

TEST_CASE("frames queued during a write follow in the next one") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  writes w;
  frame_writer* self = nullptr;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     w.failure = ec;
                     w.done.push_back(p);
                     self->flush(nullptr); // as the session does
                   }};
  frame_writer out{near, cb};
  self = &out;
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    auto f = shared(frame(i));
    expected += *f;
    out.push(f);
  }
  out.flush(nullptr);
  CHECK(out.writing());
  for (int i = 3; i < 8; ++i) {
    auto f = shared(frame(i));
    expected += *f;
    out.push(f);
  }
  out.flush(nullptr); // a write is in flight: nothing happens now
  REQUIRE(run_until(ioc, [&] { return w.frames() == 8; }));
  CHECK(w.done.size() == 2);
  CHECK(w.done[1].frames == 5);
  CHECK(read_exactly(ioc, far, expected.size()) == expected);
}

TEST_CASE("a slow consumer's discard keeps the frame in flight and the control bytes") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  // A small send buffer and a peer that does not read: the big frame goes
  // out only in part.
  near.set_option(asio::socket_base::send_buffer_size(4096));
  far.set_option(asio::socket_base::receive_buffer_size(4096));
  writes w;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     w.failure = ec;
                     w.done.push_back(p);
                   }};
  frame_writer out{near, cb};
  auto big = shared(std::string(1 << 20, 'x'));
  out.push(big);
  out.flush(nullptr);
  REQUIRE(run_until(ioc, [&] { return !w.done.empty(); }));
  REQUIRE(w.done[0].frames == 0); // partly written
  for (int i = 0; i < 5; ++i)
    out.push(shared(frame(i)));
  out.push_control("CLOSE");
  auto dropped = out.discard_data();
  CHECK(dropped.frames == 5);
  CHECK(dropped.bytes == 5 * shared(frame(0))->size());
  // The rest of the big frame, then the control bytes: a well-formed stream.
  std::size_t rounds = 0;
  while (!out.empty() && rounds++ < 10000) {
    out.flush(nullptr);
    std::string chunk(64 * 1024, '\0');
    boost::system::error_code ec;
    far.read_some(asio::buffer(chunk), ec);
    REQUIRE_FALSE(ec);
    run_until(ioc, [&] { return !out.writing(); }, 100ms);
  }
  CHECK(out.empty());
  CHECK(w.frames() == 1); // the big one
}

TEST_CASE("bytes queued while a write waits for the socket never move under that write") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  // A small send buffer, filled up while the peer does not read: the
  // writer's first write finds the socket full and waits for it, holding
  // pointers to the bytes it covers, which start with control frames.
  near.set_option(asio::socket_base::send_buffer_size(4096));
  near.non_blocking(true);
  std::string expected;
  std::string filler(64 * 1024, 'f');
  boost::system::error_code full;
  for (int i = 0; i < 1000 && !full; ++i)
    expected.append(filler, 0, near.write_some(asio::buffer(filler), full));
  REQUIRE(full == asio::error::would_block);
  writes w;
  frame_writer* self = nullptr;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     w.failure = ec;
                     w.done.push_back(p);
                     self->flush(nullptr); // as the session does
                   }};
  frame_writer out{near, cb};
  self = &out;
  auto queue_data = [&](const std::string& payload) {
    auto f = shared(payload);
    expected += *f;
    out.push(std::move(f));
  };
  auto queue_control = [&](std::string bytes) {
    expected += bytes;
    out.push_control(std::move(bytes));
  };
  // Short control frames (a ping, a pong): small enough to live inside a
  // std::string itself.
  queue_control(std::string{"\x89\x00", 2});
  queue_control(std::string{"\x8a\x04pong", 6});
  queue_data(frame(-1));
  out.flush(nullptr);
  ioc.poll();
  REQUIRE(out.writing());
  REQUIRE(w.done.empty());
  // Far more items than the queue has room for: it must grow (and
  // reallocate) while that write holds its buffers.
  for (int i = 0; i < 300; ++i) {
    queue_control(std::string{"\x89\x01"} + static_cast<char>('a' + i % 26));
    queue_data(frame(i));
    if (i % 50 == 0) // and a long one, on the heap
      queue_control("\x8a\x7d" + std::string(125, static_cast<char>('A' + i / 50)));
  }
  // The peer reads everything: exactly the bytes, in order.
  CHECK(read_exactly(ioc, far, expected.size()) == expected);
  CHECK_FALSE(w.failure);
  CHECK(run_until(ioc, [&] { return out.empty() && !out.writing(); }));
  CHECK(w.frames() == 301);
}

TEST_CASE("a failed write is reported, and nothing is written after it") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  writes w;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     if (ec)
                       w.failure = ec;
                     w.done.push_back(p);
                   }};
  frame_writer out{near, cb};
  // The peer resets the connection.
  far.set_option(asio::socket_base::linger(true, 0));
  far.close();
  for (int i = 0; i < 100 && !w.failure; ++i) {
    out.push(shared(std::string(1024, 'y')));
    out.flush(nullptr);
    run_until(ioc, [&] { return !out.writing(); }, 1s);
  }
  REQUIRE(w.failure);
  CHECK(out.failed());
  auto before = w.done.size();
  out.push(shared("late"));
  out.flush(nullptr);
  ioc.restart();
  ioc.poll();
  CHECK(w.done.size() == before);
}

TEST_CASE("a write counts its bytes and the latency of each stamped frame") {
  asio::io_context ioc;
  auto [near, far] = connect_pair(ioc);
  writes w;
  callback cb{[&](boost::system::error_code ec, frame_writer::progress p) {
                     w.failure = ec;
                     w.done.push_back(p);
                   }};
  loop_metrics m;
  frame_writer out{near, cb, &m};
  // Two receivers' worth of one publish framed 3 ms ago, and a frame
  // without a stamp (a welcome, an ack): only the first two are measured.
  auto framed = std::chrono::steady_clock::now() - std::chrono::milliseconds(3);
  auto published = protocol::message_frame(R"("t")", "1", framed);
  auto reply = shared("ack");
  out.push(published);
  out.push(published);
  out.push(reply);
  out.push_control("PONG");
  auto total = 2 * published->size() + reply->size() + 4;
  out.flush(nullptr);
  REQUIRE(run_until(ioc, [&] { return !w.done.empty(); }));
  CHECK(m.bytes_out.read() == total);
  std::uint64_t measured = 0;
  for (std::size_t i = 0; i <= latency_bounds_us.size(); ++i)
    measured += m.publish_latency.count(i);
  CHECK(measured == 2);
  // At least 3 ms each: nothing in the buckets up to 1 ms.
  for (std::size_t i = 0; latency_bounds_us[i] < 2'500; ++i)
    CHECK(m.publish_latency.count(i) == 0);
  CHECK(m.publish_latency.sum() >= 2 * 3'000);
  CHECK(read_exactly(ioc, far, total).size() == total);
}
