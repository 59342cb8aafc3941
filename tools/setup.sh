#!/usr/bin/env bash
# Installs what is missing (Debian bookworm, as root, non-interactive) and
# builds switchboard (Release) into build/. Usage: tools/setup.sh [--tests]
# Extra CMake arguments can be passed in $SWITCHBOARD_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libcaf-dev libboost1.81-dev libboost-json1.81-dev libfmt-dev
          libspdlog-dev catch2 libssl-dev zlib1g-dev
          # hiredis: the Redis history store's client (--redis); the node runs on libhiredis0.14
          libhiredis-dev pkg-config)
if [[ "${1:-}" == "--tests" ]]; then
  # python3-jwt and python3-cryptography: tokens and keys of tests/e2e/test_auth.py,
  # certificates of tests/e2e/test_tls.py and test_cluster_tls.py (openssl:
  # tools/compare.py --tls)
  packages+=(python3-websockets python3-prometheus-client procps curl pkg-config python3-jwt
             python3-cryptography)
  # testssl.sh: tests/e2e/test_testssl.py scans a TLS node (docs/security.md, TLS).
  packages+=(testssl.sh)
  # redis-server: the Redis history store's tests start their own (tests/net/redis_server.hpp).
  packages+=(redis-server redis-tools)
  # A real Prometheus server scrapes a TLS cluster and evaluates the alert
  # rules of docs/operations.md (tests/e2e/test_prometheus.py).
  packages+=(prometheus)
  # The JavaScript client's tests and the web console's in headless Chromium
  # (driven by playwright-core, which downloads no browser: Debian's).
  packages+=(chromium)
  # tools/package.sh: the Debian packages (dpkg-shlibdeps of dpkg-dev, the man
  # page by help2man), checked by lintian and systemd-analyze (systemd).
  packages+=(dpkg-dev help2man lintian systemd)
  # Node.js and npm: Debian's unless the machine has them already (another
  # packaging of nodejs brings its own npm, which Debian's would conflict with).
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's prometheus starts a server on :9090 where systemd runs; the
  # test starts its own, on a free port.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if [[ "${1:-}" == "--tests" ]]; then
  # The npm packages of those tests, exactly as the committed lockfiles say.
  for dir in clients/js console/test; do
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
fi

# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${SWITCHBOARD_CMAKE_ARGS:-} >/dev/null
cmake --build build -j "$(nproc)"
