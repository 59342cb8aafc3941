// The admission limits without sockets: the table with injected time (limits,
// token bucket, release, forgetting, the size cap, pending connections), the
// validation of the options, the address keys, and the ticket protocol on a
// real io_context.

#include "admission/admission.hpp"
#include "admission/admission_table.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>

using namespace switchboard;
using namespace switchboard::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

admission_limits make_limits(std::size_t max_connections, std::size_t per_address,
                             double rate, std::size_t burst) {
  admission_limits result;
  result.max_connections = max_connections;
  result.max_connections_per_address = per_address;
  result.handshake_rate = rate;
  result.handshake_burst = burst;
  return result;
}

/// Distinct IPv6 /64s, as key_of would produce them.
address_key address(unsigned n) {
  address_key key{};
  key[0] = 0x20;
  key[1] = 0x01;
  key[4] = static_cast<std::uint8_t>(n >> 24);
  key[5] = static_cast<std::uint8_t>(n >> 16);
  key[6] = static_cast<std::uint8_t>(n >> 8);
  key[7] = static_cast<std::uint8_t>(n);
  return key;
}

// Far from the clock's epoch, like a real steady_clock reading.
const admission_table::time_point t0 = admission_table::time_point{} + 1000h;

constexpr auto admitted = admission_verdict::admitted;

} // namespace

TEST_CASE("admission: an address gets its share of connections, then 429") {
  admission_table table{make_limits(100, 2, 1000, 1000), 16};
  auto a = address(1);
  auto b = address(2);
  CHECK(table.admit(a, t0).verdict == admitted);
  CHECK(table.admit(a, t0).verdict == admitted);
  auto third = table.admit(a, t0);
  CHECK(third.verdict == admission_verdict::max_connections_per_address);
  CHECK(third.retry_after == admission_table::full_retry_after);
  // Other addresses do not notice.
  CHECK(table.admit(b, t0).verdict == admitted);
  CHECK(table.connections() == 3);
  CHECK(table.connections(a) == 2);
  CHECK(table.connections(b) == 1);
  CHECK(table.rejections().max_connections_per_address == 1);
  CHECK(table.rejections().max_connections == 0);
  CHECK(table.rejections().handshake_rate == 0);
}

TEST_CASE("admission: a full node refuses every address with max_connections") {
  admission_table table{make_limits(2, 10, 1000, 1000), 16};
  CHECK(table.admit(address(1), t0).verdict == admitted);
  CHECK(table.admit(address(2), t0).verdict == admitted);
  auto refused = table.admit(address(3), t0);
  CHECK(refused.verdict == admission_verdict::max_connections);
  CHECK(refused.retry_after == admission_table::full_retry_after);
  CHECK(table.admit(address(1), t0).verdict == admission_verdict::max_connections);
  CHECK(table.rejections().max_connections == 2);
  CHECK(table.connections() == 2);
}

TEST_CASE("admission: a release frees the slot for the next upgrade") {
  admission_table table{make_limits(2, 1, 1000, 1000), 16};
  auto a = address(1);
  REQUIRE(table.admit(a, t0).verdict == admitted);
  REQUIRE(table.admit(address(2), t0).verdict == admitted);
  CHECK(table.admit(a, t0).verdict == admission_verdict::max_connections);
  table.release(a, t0);
  CHECK(table.connections() == 1);
  CHECK(table.connections(a) == 0);
  CHECK(table.admit(a, t0).verdict == admitted);
  CHECK(table.admit(a, t0).verdict == admission_verdict::max_connections);
  table.release(address(2), t0);
  CHECK(table.admit(a, t0).verdict == admission_verdict::max_connections_per_address);
  // Releasing what was never admitted changes nothing.
  table.release(address(99), t0);
  table.release(address(2), t0);
  CHECK(table.connections() == 1);
}

TEST_CASE("admission: the bucket allows a burst, then refills at the rate") {
  admission_table table{make_limits(100, 100, 2, 3), 16};
  auto a = address(1);
  for (int i = 0; i < 3; ++i)
    REQUIRE(table.admit(a, t0).verdict == admitted);
  auto refused = table.admit(a, t0);
  CHECK(refused.verdict == admission_verdict::handshake_rate);
  // One token at 2 per second takes half a second: Retry-After rounds up.
  CHECK(refused.retry_after == 1s);
  CHECK(table.admit(a, t0 + 499ms).verdict == admission_verdict::handshake_rate);
  CHECK(table.admit(a, t0 + 501ms).verdict == admitted);
  CHECK(table.admit(a, t0 + 501ms).verdict == admission_verdict::handshake_rate);
  // Other addresses have buckets of their own.
  CHECK(table.admit(address(2), t0 + 501ms).verdict == admitted);
  // A long pause refills up to the burst, not beyond.
  for (int i = 0; i < 3; ++i)
    REQUIRE(table.admit(a, t0 + 60s).verdict == admitted);
  CHECK(table.admit(a, t0 + 60s).verdict == admission_verdict::handshake_rate);
  CHECK(table.rejections().handshake_rate == 4);
}

TEST_CASE("admission: Retry-After says when the next token is there") {
  admission_table table{make_limits(100, 100, 0.25, 1), 16};
  auto a = address(1);
  REQUIRE(table.admit(a, t0).verdict == admitted);
  CHECK(table.admit(a, t0).retry_after == 4s);
  CHECK(table.admit(a, t0 + 1500ms).retry_after == 3s);
  CHECK(table.admit(a, t0 + 3900ms).retry_after == 1s);
  CHECK(table.admit(a, t0 + 4010ms).verdict == admitted);
}

TEST_CASE("admission: attempts refused by a connection limit still cost a token") {
  admission_table table{make_limits(100, 1, 0.001, 3), 16};
  auto a = address(1);
  CHECK(table.admit(a, t0).verdict == admitted);
  CHECK(table.admit(a, t0).verdict == admission_verdict::max_connections_per_address);
  CHECK(table.admit(a, t0).verdict == admission_verdict::max_connections_per_address);
  CHECK(table.admit(a, t0).verdict == admission_verdict::handshake_rate);
}

TEST_CASE("admission: an address without connections is forgotten once its bucket is full") {
  admission_table table{make_limits(100, 10, 10, 5), 16};
  auto a = address(1);
  REQUIRE(table.admit(a, t0).verdict == admitted);
  CHECK(table.entries() == 1);
  SECTION("a release with the bucket still refilling keeps the entry until a sweep") {
    table.release(a, t0);
    CHECK(table.entries() == 1);
    CHECK(table.sweep(t0 + 50ms) == 0); // 4.5 of 5 tokens
    CHECK(table.entries() == 1);
    CHECK(table.sweep(t0 + 100ms) == 1);
    CHECK(table.entries() == 0);
  }
  SECTION("a release with the bucket full forgets the address at once") {
    table.release(a, t0 + 1s);
    CHECK(table.entries() == 0);
  }
  SECTION("admit() sweeps on its own now and then") {
    table.release(a, t0);
    REQUIRE(table.admit(address(2), t0 + 1s).verdict == admitted);
    CHECK(table.entries() == 2); // no sweep within sweep_interval
    REQUIRE(table.admit(address(3), t0 + admission_table::sweep_interval).verdict == admitted);
    CHECK(table.entries() == 2); // address 1 is gone; 2 and 3 hold connections
    CHECK(table.connections(a) == 0);
  }
  SECTION("an address with a connection is never forgotten") {
    CHECK(table.sweep(t0 + 1000h) == 0);
    CHECK(table.entries() == 1);
    CHECK(table.connections(a) == 1);
  }
}

TEST_CASE("admission: the table never grows past its cap") {
  // 4 connections + 2 pending ones + 8 idle addresses; buckets of 1 that take
  // ages to refill, so no address ever looks forgettable on its own.
  auto limits = make_limits(4, 10, 0.001, 1);
  limits.max_pending_connections = 2;
  admission_table table{limits, 8};
  REQUIRE(table.max_entries() == 14);
  auto drained = address(1000);
  REQUIRE(table.admit(drained, t0).verdict == admitted);
  table.release(drained, t0);
  REQUIRE(table.admit(drained, t0).verdict == admission_verdict::handshake_rate);
  // Three addresses hold connections throughout.
  for (unsigned i = 1; i <= 3; ++i)
    REQUIRE(table.admit(address(2000 + i), t0).verdict == admitted);
  // An attacker tries from 1000 addresses, one attempt each.
  for (unsigned i = 0; i < 1000; ++i) {
    auto from = address(i);
    auto d = table.admit(from, t0);
    REQUIRE(d.verdict == admitted);
    table.release(from, t0);
    REQUIRE(table.entries() <= table.max_entries());
  }
  // The connections were kept exactly...
  CHECK(table.connections() == 3);
  for (unsigned i = 1; i <= 3; ++i)
    CHECK(table.connections(address(2000 + i)) == 1);
  // ... but the drained bucket was forgotten along the way: the price of a
  // bounded table (docs/protocol.md, "Limits").
  CHECK(table.admit(drained, t0).verdict == admitted);
  CHECK(table.entries() <= table.max_entries());
}

TEST_CASE("admission: the default limits are valid, impossible ones are named") {
  CHECK_FALSE(admission_limits{}.validate());
  auto problem = [](auto change) {
    admission_limits limits;
    change(limits);
    return limits.validate().value_or("");
  };
  CHECK_THAT(problem([](auto& l) { l.max_connections = 0; }),
             Catch::Contains("max-connections must be at least 1"));
  CHECK_THAT(problem([](auto& l) { l.max_connections_per_address = 0; }),
             Catch::Contains("max-connections-per-address must be at least 1"));
  CHECK_THAT(problem([](auto& l) { l.handshake_rate = 0; }),
             Catch::Contains("handshake-rate must be a positive number")
               && Catch::Contains("(got 0)"));
  CHECK_THAT(problem([](auto& l) { l.handshake_rate = -2.5; }),
             Catch::Contains("(got -2.5)"));
  CHECK_THAT(problem([](auto& l) { l.handshake_rate = std::nan(""); }),
             Catch::Contains("handshake-rate"));
  CHECK_THAT(problem([](auto& l) { l.handshake_burst = 0; }),
             Catch::Contains("handshake-burst must be at least 1"));
  CHECK_THAT(problem([](auto& l) { l.max_pending_connections = 0; }),
             Catch::Contains("max-pending-connections must be at least 1"));
  CHECK_THAT(problem([](auto& l) { l.max_pending_connections_per_address = 0; }),
             Catch::Contains("max-pending-connections-per-address must be at least 1"));
  CHECK(problem([](auto& l) { l.handshake_rate = 0.5; }).empty());
}

TEST_CASE("admission: IPv4 is one address, IPv6 counts per /64") {
  auto key = [](const char* text) { return key_of(asio::ip::make_address(text)); };
  CHECK(key("127.0.0.2") == key("::ffff:127.0.0.2"));
  CHECK(key("127.0.0.2") != key("127.0.0.3"));
  CHECK(key("2001:db8::1") == key("2001:db8::ffff:1"));
  CHECK(key("2001:db8::1") != key("2001:db8:0:1::1"));
  CHECK(key("::1") != key("127.0.0.1"));
}

TEST_CASE("admission: a ticket's destructor gives the slot back on the strand") {
  asio::io_context ioc;
  auto adm = std::make_shared<admission>(ioc, make_limits(1, 1, 1000, 1000));
  auto from = asio::ip::make_address("127.0.0.2");
  std::optional<admission_result> got;
  auto ask = [&] {
    got.reset();
    adm->ask(from, ioc.get_executor(), [&](admission_result r) { got = std::move(r); });
    ioc.restart();
    ioc.run();
    REQUIRE(got);
  };
  ask();
  CHECK(got->decision.verdict == admitted);
  CHECK(static_cast<bool>(got->ticket));
  auto ticket = std::move(got->ticket);
  CHECK_FALSE(got->ticket); // moved from: holds nothing
  ask();
  CHECK(got->decision.verdict == admission_verdict::max_connections);
  CHECK_FALSE(got->ticket);
  ticket = admission_ticket{}; // the connection ends
  ask();
  CHECK(got->decision.verdict == admitted);
  got.reset();
  ioc.restart();
  ioc.run(); // the release of the last ticket
  rejection_counts counts;
  adm->read_rejections(ioc.get_executor(), [&](rejection_counts c) { counts = c; });
  ioc.restart();
  ioc.run();
  CHECK(counts.max_connections == 1);
  CHECK(counts.max_connections_per_address == 0);
}

TEST_CASE("admission: pending connections are limited per address and per node") {
  auto limits = make_limits(100, 100, 1000, 1000);
  limits.max_pending_connections = 3;
  limits.max_pending_connections_per_address = 2;
  admission_table table{limits, 16};
  auto a = address(1);
  auto b = address(2);
  CHECK(table.open_pending(a, t0).verdict == admitted);
  CHECK(table.open_pending(a, t0).verdict == admitted);
  auto third = table.open_pending(a, t0);
  CHECK(third.verdict == admission_verdict::max_pending_connections_per_address);
  CHECK(third.retry_after == admission_table::full_retry_after);
  CHECK(table.open_pending(b, t0).verdict == admitted);
  auto full = table.open_pending(address(3), t0);
  CHECK(full.verdict == admission_verdict::max_pending_connections);
  CHECK(table.pending() == 3);
  CHECK(table.pending(a) == 2);
  CHECK(table.rejections().max_pending_connections_per_address == 1);
  CHECK(table.rejections().max_pending_connections == 1);
  // Pending connections take no upgrade token and no WebSocket slot.
  CHECK(table.connections() == 0);
  table.close_pending(a, t0);
  CHECK(table.pending(a) == 1);
  CHECK(table.open_pending(address(3), t0).verdict == admitted);
  // A close for an address never opened is ignored.
  table.close_pending(address(4), t0);
  CHECK(table.pending() == 3);
}

TEST_CASE("admission: an address with a pending connection is never forgotten") {
  auto limits = make_limits(100, 10, 10, 5);
  admission_table table{limits, 16};
  auto a = address(1);
  REQUIRE(table.open_pending(a, t0).verdict == admitted);
  CHECK(table.sweep(t0 + 1000h) == 0);
  CHECK(table.entries() == 1);
  table.close_pending(a, t0 + 1000h);
  CHECK(table.entries() == 0); // idle with a full bucket: gone at once
}

TEST_CASE("admission: a pending ticket gives its slot back on the strand") {
  asio::io_context ioc;
  auto limits = make_limits(100, 100, 1000, 1000);
  limits.max_pending_connections_per_address = 1;
  auto adm = std::make_shared<admission>(ioc, limits);
  auto from = asio::ip::make_address("127.0.0.2");
  std::optional<admission_result> got;
  // open_pending() runs on the admission's loop, as the listener's accept does.
  auto open = [&] {
    got.reset();
    asio::post(ioc, [&] { got = adm->open_pending(from); });
    ioc.restart();
    ioc.run();
    REQUIRE(got);
  };
  open();
  CHECK(got->decision.verdict == admitted);
  auto ticket = std::move(got->ticket);
  open();
  CHECK(got->decision.verdict == admission_verdict::max_pending_connections_per_address);
  CHECK_FALSE(got->ticket);
  ticket = admission_ticket{}; // the session ends (or the connection is upgraded)
  open();
  CHECK(got->decision.verdict == admitted);
  got.reset();
  ioc.restart();
  ioc.run();
}
