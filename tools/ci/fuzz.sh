#!/usr/bin/env bash
# libFuzzer job (Debian bookworm, as root, non-interactive): builds every
# tests/fuzz/<name>_fuzz.cpp with clang-14 (-fsanitize=fuzzer,address,undefined)
# into build-fuzz and runs each for a bounded time on a copy of its seed corpus
# tests/fuzz/corpus/<name>/ (and tests/fuzz/<name>.dict when there is one).
# Any crash, leak, timeout or sanitizer report fails the job; the input that
# caused it is printed (base64) for tests/fuzz/corpus/<name>/.
#
# Usage: tools/ci/fuzz.sh [seconds per target, default 60]
# Environment: FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-60}
build=$root/${FUZZ_BUILD_DIR:-build-fuzz}
jobs=$(nproc)

step() { printf '\n--- fuzz: %s (at %ds)\n' "$*" "$SECONDS"; }

packages=(clang-14 libclang-rt-14-dev cmake ninja-build libcaf-dev libboost1.81-dev
          libboost-json1.81-dev libfmt-dev libspdlog-dev catch2 libssl-dev zlib1g-dev libhiredis-dev
          pkg-config)
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

shopt -s nullglob
sources=("$root"/tests/fuzz/*_fuzz.cpp)
shopt -u nullglob
if ((${#sources[@]} == 0)); then
  echo "fuzz: no tests/fuzz/*_fuzz.cpp" >&2
  exit 1
fi
names=()
for s in "${sources[@]}"; do
  n=$(basename "$s" _fuzz.cpp)
  if [[ ! -d $root/tests/fuzz/corpus/$n ]]; then
    echo "fuzz: $s has no seed corpus tests/fuzz/corpus/$n/" >&2
    exit 1
  fi
  names+=("$n")
done

step "configure and build ${names[*]/%/_fuzz} (clang-14)"
# -O1 -g1 (line tables): half the compile time of -O2 -g (tools/ci/asan.sh).
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DSWITCHBOARD_FUZZ=ON -DSWITCHBOARD_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${names[@]/%/_fuzz}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# UBSan aborts on the first report (the build also sets -fno-sanitize-recover),
# except for the known ones in CAF; leaks are checked after every input.
export ASAN_OPTIONS="detect_leaks=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tools/ci/ubsan.supp"
failed=()
for n in "${names[@]}"; do
  step "$n: ${seconds}s"
  mkdir -p "$work/$n/artifacts"
  cp -r "$root/tests/fuzz/corpus/$n" "$work/$n/corpus"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/$n/artifacts/")
  [[ -f $root/tests/fuzz/$n.dict ]] && args+=(-dict="$root/tests/fuzz/$n.dict")
  status=0
  # libFuzzer writes new inputs into the first corpus dir: the copy.
  "$build/tests/fuzz/${n}_fuzz" "${args[@]}" "$work/$n/corpus" >"$work/$n/log" 2>&1 \
    || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::new_units_added)' \
    "$work/$n/log" || true
  if ((status != 0)) || grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|deadly signal' \
       "$work/$n/log"; then
    echo "fuzz: $n FAILED (exit $status):" >&2
    tail -n 80 "$work/$n/log" >&2
    for a in "$work/$n/artifacts"/*; do
      [[ -f $a ]] || continue
      echo "fuzz: $n: input $(basename "$a") (base64):" >&2
      base64 -w 0 "$a" >&2
      echo >&2
    done
    failed+=("$n")
  else
    echo "fuzz: $n: no crash, leak or sanitizer report;" \
      "corpus grew from $(find "$root/tests/fuzz/corpus/$n" -type f | wc -l)" \
      "to $(find "$work/$n/corpus" -type f | wc -l) inputs"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
