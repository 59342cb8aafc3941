// An application may open both namespaces: no switchboard name collides with
// one of CAF's (its atoms above all: join, publish, subscribe, flush, ping,
// pong, tick ...). This file only has to compile with every public header.

#include "switchboard/hub.hpp"
#include "switchboard/messages.hpp"
#include "switchboard/node.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/testing.hpp"
#include "switchboard/version.hpp"

#include <catch2/catch.hpp>

#include <type_traits>

using namespace caf;
using namespace switchboard;

TEST_CASE("caf and switchboard can both be opened") {
  // CAF's atoms keep their names ...
  static_assert(std::is_same<join_atom, caf::join_atom>::value);
  static_assert(std::is_same<publish_atom, caf::publish_atom>::value);
  static_assert(std::is_same<subscribe_atom, caf::subscribe_atom>::value);
  static_assert(std::is_same<flush_atom, caf::flush_atom>::value);
  static_assert(std::is_same<ping_atom, caf::ping_atom>::value);
  static_assert(std::is_same<tick_atom, caf::tick_atom>::value);
  // ... and switchboard's names mean switchboard's types.
  publication p{"topic", "1"};
  send_direct d{1, "2"};
  close_connection c{1, 1000, "bye"};
  hub_stats s;
  node_config n;
  CHECK(p.topic == "topic");
  CHECK(d.to == 1);
  CHECK(c.code == 1000);
  CHECK(s.connections == 0);
  CHECK(n.port == 8080);
  CHECK(std::string{switchboard::version}.size() >= 5);
}
