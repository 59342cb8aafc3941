// Names as CAF code uses them: with `using namespace caf; using namespace
// caf::io; using namespace switchboard;` every public switchboard name and
// CAF's own resolve without ambiguity (this file compiling is most of the
// test). legacy_names_test.cpp has 0.2's `publish`.
#include "switchboard/node.hpp"
#include "switchboard/node_options.hpp"
#include "switchboard/testing.hpp"

#include <caf/io/all.hpp>
#include <catch2/catch.hpp>

using namespace caf;
using namespace caf::io;
using namespace switchboard;

namespace {

// Never called: it has to compile. caf::io::publish, unqualified, next to
// switchboard's names.
[[maybe_unused]] expected<std::uint16_t> publish_own_actor(actor a) {
  return publish(a, 0, "127.0.0.1");
}

} // namespace

TEST_CASE("switchboard's names and CAF's resolve side by side") {
  publication p{"t", "1"};
  broadcast b{{"t"}, "1"};
  send_direct d{1, "1", {}};
  delivery_counts counts{{"t", 1}};
  node_config ncfg;
  hub_actor h;
  actor a;
  behavior bhv;
  CHECK(p.topic == "t");
  CHECK(b.topics.size() == 1);
  CHECK(d.to == 1);
  CHECK(counts.at("t") == 1);
  CHECK(ncfg.port == 8080);
  CHECK(!h);
  CHECK(!a);
  CHECK(to_string(exit_code::shutdown) == std::string{"shutdown"});
  CHECK(make_error(hub_errc::not_found).category() == hub_error_category);
}
