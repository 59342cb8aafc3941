#!/usr/bin/env bash
# ThreadSanitizer job (Debian bookworm, as root, non-interactive).
#
# 1. Builds CAF 0.17.6 from Debian's source package with -fsanitize=thread into
#    <build>/caf-tsan (once; skipped when already there). Debian's libcaf_core
#    is not instrumented, so TSan would see no happens-before through CAF's
#    mailboxes and report every message hand-off as a race. libcaf_openssl
#    (cluster TLS) is built too: switchboard links it, and Debian's would pull
#    Debian's libcaf_core and libcaf_io in next to the instrumented ones.
# 2. Builds switchboard with SWITCHBOARD_SANITIZE=thread against that CAF.
# 3. Runs the Catch2 actor tests and the tests/e2e cases against the
#    TSan build of the switchboard binary. Any TSan report fails the job.
#
# Usage: tools/ci/tsan.sh [build dir, default build-tsan]
# Environment: TSAN_E2E overrides the e2e selection (unittest names relative to
# tests/e2e, default every test_*.py); E2E_SLACK the e2e timing slack (default
# 3 under TSan).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=$root/${1:-build-tsan}
prefix=$build/caf-tsan
caf_version=0.17.6
jobs=$(nproc)

step() { printf '\n--- tsan: %s (at %ds)\n' "$*" "$SECONDS"; }

# -- packages ---------------------------------------------------------------------

packages=(g++ cmake ninja-build libboost1.81-dev libboost-json1.81-dev libfmt-dev
          libspdlog-dev catch2 libssl-dev zlib1g-dev libhiredis-dev pkg-config redis-server python3-websockets
          python3-prometheus-client python3-jwt python3-cryptography procps curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- CAF built with -fsanitize=thread ---------------------------------------------

caf_flags="-fsanitize=thread -include limits"
# Part of the stamp: a CAF built before it had the OpenSSL module is rebuilt.
caf_modules="core io openssl"
# -O1 -g1: half the compile time of RelWithDebInfo's -O2 -g (tools/ci/asan.sh).
caf_opt="-O1 -g1 -DNDEBUG"
stamp=$prefix/.built-with
if [[ -f $stamp && "$(cat "$stamp")" == "$caf_version $caf_modules $caf_flags $caf_opt" ]]; then
  step "CAF $caf_version with TSan: already in $prefix"
else
  step "CAF $caf_version with TSan: building into $prefix"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/parts"
  # A private deb-src list derived from the machine's own sources: the
  # machine's apt configuration stays as it is.
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      >"$work/parts/src.sources"
  fi
  if [[ -f /etc/apt/sources.list ]]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$work/parts/src.list"
  fi
  apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
            -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  # Only the upstream tarball is needed; the Debian patch tarball may be
  # missing on a snapshot mirror, so check the file instead of the status.
  echo "tsan: a 404 for the .debian.tar.xz below is harmless (only the upstream tarball is used)"
  (cd "$work" && apt-get "${apt_opts[@]}" source --download-only actor-framework) || true
  tarball=actor-framework_$caf_version.orig.tar.gz
  dscs=("$work"/actor-framework_"$caf_version"-*.dsc)
  dsc=${dscs[0]}
  if [[ ! -f $work/$tarball || ! -f $dsc ]]; then
    echo "tsan: $tarball or its .dsc did not download" >&2
    exit 1
  fi
  want=$(awk -v f="$tarball" '/^Checksums-Sha256:/{s=1; next} /^[^ ]/{s=0}
                              s && $3 == f {print $1}' "$dsc")
  have=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
  if [[ -z $want || $want != "$have" ]]; then
    echo "tsan: sha256 of $tarball is $have, the .dsc says '${want}'" >&2
    exit 1
  fi
  tar -xzf "$work/$tarball" -C "$work"
  # GCC 12 needs <limits> where CAF 0.17.6 forgot it (Debian patches this).
  # CAF_NO_MEM_MANAGEMENT: no memory pools, TSan sees every allocation.
  cmake -S "$work/actor-framework-$caf_version" -B "$work/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes \
    -DCAF_NO_OPENCL=yes -DCAF_NO_TOOLS=yes -DCAF_NO_PYTHON=yes \
    -DCAF_NO_MEM_MANAGEMENT=yes -DCMAKE_CXX_FLAGS="$caf_flags" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$caf_opt" \
    -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread -DCMAKE_INSTALL_PREFIX="$prefix" \
    >"$work/caf-configure.log" || { cat "$work/caf-configure.log"; exit 1; }
  cmake --build "$work/build" -j "$jobs" >"$work/caf-build.log" \
    || { tail -n 100 "$work/caf-build.log"; exit 1; }
  rm -rf "$prefix"
  cmake --install "$work/build" >/dev/null
  echo "$caf_version $caf_modules $caf_flags $caf_opt" >"$stamp"
  rm -rf "$work"
  trap - EXIT
fi

# -- switchboard with -fsanitize=thread --------------------------------------------

step "configure and build switchboard (SWITCHBOARD_SANITIZE=thread)"
# Warnings are checked by the Release build (GCC 12 adds -Wtsan notes here).
# -O1 -g1 (line tables): half the compile time of -O2 -g (tools/ci/asan.sh).
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DSWITCHBOARD_SANITIZE=thread -DSWITCHBOARD_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" >/dev/null
cmake --build "$build" -j "$jobs" --target unit_tests switchboard
for bin in "$build/tests/unit_tests" "$build/app/switchboard"; do
  libs=$(ldd "$bin")
  for lib in libcaf_core libcaf_io libcaf_openssl; do
    if [[ $libs != *"=> $prefix/lib/$lib"* ]]; then
      echo "tsan: $bin does not load the TSan $lib from $prefix/lib:" >&2
      grep caf <<<"$libs" >&2
      exit 1
    fi
  done
done

# -- runs --------------------------------------------------------------------------

logs=$build/tsan-logs
rm -rf "$logs"
mkdir -p "$logs"
# Keep going after a report (the e2e harness expects a live server), write
# every report to $logs, and scan them after each run.
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4
  print_suppressions=1 suppressions=$root/tools/ci/tsan.supp log_path=$logs/tsan"

# Prints the reports in $logs and fails if there is one; lists the matched
# suppressions in any case.
scan_reports() {
  local what=$1 files
  shopt -s nullglob
  files=("$logs"/tsan.*)
  shopt -u nullglob
  if ((${#files[@]})) && grep -q "Matched" "${files[@]}"; then
    echo "tsan: $what: suppressed reports:"
    grep -h -A20 "^ThreadSanitizer: Matched" "${files[@]}" | grep -E '^[0-9]+ ' \
      | awk '{n[$2 " " $3] += $1} END {for (k in n) print "  " n[k] " " k}'
  fi
  if ((${#files[@]})) && grep -qE "(WARNING|ERROR): ThreadSanitizer" "${files[@]}"; then
    echo "tsan: $what: ThreadSanitizer reports:" >&2
    grep -c -E "(WARNING|ERROR): ThreadSanitizer" "${files[@]}" >&2
    cat "${files[@]}" >&2
    return 1
  fi
  echo "tsan: $what: no ThreadSanitizer report"
}

step "unit tests under TSan"
status=0
"$build/tests/unit_tests" || status=$?
scan_reports "unit tests" || status=1
((status == 0)) || { echo "tsan: unit tests failed ($status)" >&2; exit 1; }
mkdir -p "$logs/unit" && find "$logs" -maxdepth 1 -name 'tsan.*' -exec mv -t "$logs/unit" {} +

# Every e2e module (protocol, liveness and slow consumers, shutdown, the
# 500-client broadcast, HTTP and handshake timeouts, RFC 6455 close paths):
# cheap under TSan, and every cross-thread hand-off of the node is exercised
# (Asio threads <-> actors, corking, close on actor exit, timers, stop).
if [[ -n ${TSAN_E2E:-} ]]; then
  read -r -a selection <<<"$TSAN_E2E"
else
  selection=()
  for m in tests/e2e/test_*.py; do
    m=${m##*/}
    # testssl's scan checks the TLS policy (OpenSSL's side), not threads.
    [[ $m == test_testssl.py ]] && continue
    selection+=("${m%.py}")
  done
fi
step "e2e under TSan: ${selection[*]}"
status=0
(cd tests/e2e && SWITCHBOARD_BIN=$build/app/switchboard E2E_SLACK=${E2E_SLACK:-3} \
   E2E_RSS_FACTOR=5 \
   PYTHONDONTWRITEBYTECODE=1 timeout 900 /usr/bin/python3 -B -m unittest "${selection[@]}") \
  || status=$?
scan_reports "e2e" || status=1
((status == 0)) || { echo "tsan: e2e failed ($status)" >&2; exit 1; }
