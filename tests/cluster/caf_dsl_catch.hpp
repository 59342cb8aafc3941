#pragma once

// CAF's test DSL (dsl.hpp, io_dsl.hpp) under Catch2: CAF's own check macros
// would dereference CAF's test engine, which Catch2 replaces.

#include <catch2/catch.hpp>

#include <caf/test/unit_test.hpp>

#undef CAF_CHECK
#undef CAF_CHECK_EQUAL
#undef CAF_FAIL
#undef CAF_MESSAGE
#undef CAF_REQUIRE
#undef CAF_REQUIRE_EQUAL
#define CAF_CHECK(...) CHECK(__VA_ARGS__)
#define CAF_CHECK_EQUAL(x, y) CHECK((x) == (y))
#define CAF_FAIL(msg) FAIL(msg)
#define CAF_MESSAGE(msg) UNSCOPED_INFO(msg)
#define CAF_REQUIRE(...) REQUIRE(__VA_ARGS__)
#define CAF_REQUIRE_EQUAL(x, y) REQUIRE((x) == (y))

#include <caf/test/io_dsl.hpp>
