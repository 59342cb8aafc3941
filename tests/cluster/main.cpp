// The cluster tests' own binary: CAF's io_dsl needs CAF's test engine
// (unit_test_impl.hpp, without its main) next to Catch2's main.
#define CATCH_CONFIG_MAIN
#include "caf_dsl_catch.hpp"

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>
