#!/usr/bin/env bash
# AddressSanitizer + UBSan job (Debian bookworm, as root, non-interactive).
#
# One build (SWITCHBOARD_SANITIZE=address: ASan, and UBSan less five checks
# that double its compile time, see below) of exactly what
# runs here: the actor tests, the net tests, and the CLI node. Then:
#   1. unit_tests and net_unit_tests;
#   2. the e2e suites that stress the socket layer, against the ASan+UBSan
#      node: RFC 6455 close paths, hardening (floods, fds), liveness (slow
#      consumers, heartbeats), TLS, compression, stop, and the slow reader
#      (a client that stalls while pings and frames pile up behind a write),
#      and the Redis store, alone and in a cluster (a node's connections to
#      Redis, made, lost, and closed at its stop).
# Any ASan, LeakSanitizer or UBSan report fails the job; every report goes
# to <build>/asan-logs and is printed.
#
# Usage: tools/ci/asan.sh [build dir, default build-asan]
# Environment: ASAN_E2E overrides the e2e selection (unittest names relative
# to tests/e2e); E2E_SLACK the e2e timing slack (default 2 under ASan).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=$root/${1:-build-asan}
jobs=$(nproc)

step() { printf '\n--- asan: %s (at %ds)\n' "$*" "$SECONDS"; }

packages=(g++ cmake ninja-build libcaf-dev libboost1.81-dev libboost-json1.81-dev libfmt-dev
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

step "configure and build unit_tests net_unit_tests switchboard (SWITCHBOARD_SANITIZE=address)"
# Warnings are checked by the Release build (GCC 12 gives false
# maybe-uninitialized ones inside Catch2 under the sanitizers).
# -O1 -g1 (line tables): what ASan recommends, and half the compile time
# of -O2 -g here (hub.cpp: 30 s against 66 s), which keeps CI within budget.
# Five of UBSan's checks are left out: with GCC 12 they more than double the
# compile time (net/http/http_session_upgrade.cpp: 105 s with the full set,
# 45 s without them, 46 s with ASan alone; the ASan build was 21 of CI's 59
# minutes on a fresh machine). Most of what they find is still found here:
# a dereferenced null pointer is a SEGV that ASan reports (a member call
# through null that touches no member is not); an access out of an object
# (object-size) or through a pointer that wrapped (pointer-overflow) is an
# out-of-bounds access ASan reports when it happens. A bad downcast (vptr)
# and a misaligned access (alignment) are left to the libFuzzer build
# (tools/ci/fuzz.sh), which runs the whole UBSan set on what it fuzzes.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DSWITCHBOARD_SANITIZE=address \
  -DSWITCHBOARD_SANITIZE_SKIP=null,alignment,vptr,object-size,pointer-overflow \
  -DSWITCHBOARD_WERROR=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target unit_tests net_unit_tests switchboard

logs=$build/asan-logs
rm -rf "$logs"
mkdir -p "$logs"
# Every report goes to a file of its own ($logs/report.<pid>): the e2e
# harness keeps the node's stderr to itself. ASan and UBSan stop the process
# at the first report; LeakSanitizer reports at exit.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$logs/report"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tools/ci/ubsan.supp:log_path=$logs/report"

# Prints every report in $logs and fails if there is one.
scan_reports() {
  local what=$1 files
  shopt -s nullglob
  files=("$logs"/report.*)
  shopt -u nullglob
  if ((${#files[@]})) && grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" \
       "${files[@]}"; then
    echo "asan: $what: sanitizer reports:" >&2
    cat "${files[@]}" >&2
    return 1
  fi
  echo "asan: $what: no sanitizer report"
}

# Moves the reports of a finished run out of the way of the next one.
keep_reports() {
  mkdir -p "$logs/$1"
  find "$logs" -maxdepth 1 -name 'report.*' -exec mv -t "$logs/$1" {} +
}

for t in unit_tests net_unit_tests; do
  step "$t under ASan+UBSan"
  status=0
  "$build/tests/$t" || status=$?
  scan_reports "$t" || status=1
  ((status == 0)) || { echo "asan: $t failed ($status)" >&2; exit 1; }
  keep_reports "$t"
done

if [[ -n ${ASAN_E2E:-} ]]; then
  read -r -a selection <<<"$ASAN_E2E"
else
  selection=(test_rfc6455 test_hardening test_liveness test_tls test_compression test_shutdown
             test_slow_reader test_redis test_redis_cluster)
fi
step "e2e against the ASan+UBSan node: ${selection[*]}"
# (Hardening opens many connections; ASan's shadow memory and quarantine
# raise the node's RSS, which one hardening case bounds.)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
status=0
(cd tests/e2e && SWITCHBOARD_BIN=$build/app/switchboard E2E_SLACK=${E2E_SLACK:-2} \
   E2E_RSS_FACTOR=${E2E_RSS_FACTOR:-4} \
   PYTHONDONTWRITEBYTECODE=1 timeout 1200 /usr/bin/python3 -B -m unittest "${selection[@]}") \
  || status=$?
scan_reports "e2e" || status=1
((status == 0)) || { echo "asan: e2e failed ($status)" >&2; exit 1; }
