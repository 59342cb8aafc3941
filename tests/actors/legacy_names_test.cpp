// SWITCHBOARD_LEGACY_NAMES: code written for 0.2 still builds (with a
// deprecation warning), its `publish` being 0.3's publication.
#define SWITCHBOARD_LEGACY_NAMES
#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <type_traits>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

TEST_CASE_METHOD(switchboard::testing::hub_fixture,
                 "SWITCHBOARD_LEGACY_NAMES declares publish as publication") {
  CHECK(std::is_same_v<switchboard::publish, switchboard::publication>);
  CHECK(request<std::uint64_t>(switchboard::publish{"t", "1"}) == std::uint64_t{0});
}

#pragma GCC diagnostic pop
