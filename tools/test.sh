#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
SWITCHBOARD_CMAKE_ARGS="-DSWITCHBOARD_WERROR=ON ${SWITCHBOARD_CMAKE_ARGS:-}" tools/setup.sh --tests
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd build
ctest --output-on-failure -j 2 --timeout 300
