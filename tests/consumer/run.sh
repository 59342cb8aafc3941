#!/usr/bin/env bash
# The proof that the installed package works: installs the build tree BUILD
# into a temporary prefix, builds tests/consumer/project against it (CMake
# package) and its main.cpp once more with pkg-config, then runs the
# consumer's deterministic test and its real-client test; builds the
# installed examples (share/switchboard/examples/) against the package and
# runs them (examples_test.py). Last, the same consumer builds switchboard
# as a guest (add_subdirectory of the sources).
# Usage: run.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== install into $tmp/prefix"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/switchboard/hub.hpp"
# Internals stay private.
for internal in hub_state.hpp connection.hpp cork_stream.hpp ws_session.hpp protocol.hpp \
                fake_transport.hpp hub_fixture_internals.hpp; do
  if [ -e "$tmp/prefix/include/switchboard/$internal" ]; then
    echo "run.sh: internal header $internal was installed" >&2
    exit 1
  fi
done
# ... and the test helpers' header names none of their types.
if grep -nE '\b(hub_state|fake_transport)\b' "$tmp/prefix/include/switchboard/testing.hpp"; then
  echo "run.sh: testing.hpp names an internal type" >&2
  exit 1
fi

echo "== configure and build the consumer with find_package(switchboard)"
cmake -S "$here/project" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null

echo "== the same with CAF::core defined by the consumer before find_package"
cmake -S "$here/project" -B "$tmp/build-wrap" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DGREETER_WRAPS_CAF=ON >/dev/null
cmake --build "$tmp/build-wrap" --target greeter >/dev/null
# The consumer's own target is the one used (its compile definition is seen).
grep -q GREETER_OWN_CAF_TARGET "$tmp/build-wrap/build.ninja"

echo "== build it with pkg-config"
pc=$(dirname "$(find "$tmp/prefix" -name switchboard.pc | head -1)")
# shellcheck disable=SC2046
c++ -O1 "$here/project/main.cpp" -o "$tmp/greeter-pc" \
  $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs switchboard)

echo "== the consumer's deterministic test (switchboard::testing)"
"$tmp/build/greeter_test"

echo "== the consumer against a real client"
/usr/bin/python3 "$here/consumer_test.py" "$tmp/build/greeter"
/usr/bin/python3 "$here/consumer_test.py" "$tmp/greeter-pc"

echo "== the installed examples, each built against the package"
examples="$tmp/prefix/share/switchboard/examples"
for ex in chat backend; do
  test -f "$examples/$ex/CMakeLists.txt"
  cmake -S "$examples/$ex" -B "$tmp/ex-$ex" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >/dev/null
  cmake --build "$tmp/ex-$ex" >/dev/null
done
"$tmp/ex-chat/chat_test"
/usr/bin/python3 "$here/examples_test.py" chat "$tmp/ex-chat/chat" "$examples/chat/chat.conf"
/usr/bin/python3 "$here/examples_test.py" backend "$tmp/ex-backend/backend" "$tmp/ex-backend/tally"

echo "== switchboard as a guest (add_subdirectory)"
cmake -S "$here/guest" -B "$tmp/guest" -G Ninja -DSWITCHBOARD_SOURCE="$here/../.." >/dev/null
cmake --build "$tmp/guest" >/dev/null
/usr/bin/python3 "$here/consumer_test.py" "$tmp/guest/greeter"
