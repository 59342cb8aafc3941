#!/usr/bin/env bash
# Builds the Debian packages (cmake/package.cmake) and proves them on this
# machine (Debian bookworm, as root):
#   1. switchboard_VERSION_amd64.deb and libswitchboard-dev_VERSION_amd64.deb
#      into BUILD/deb/, from the Release build in build/ when there is one
#      (CI's), else from a Release build of its own in build-package/;
#   2. lintian: no error and no warning (the few overridden ones say why in
#      packaging/lintian/);
#   3. apt-get install of both; the installed node, run as user switchboard
#      with /etc/switchboard/switchboard.conf on a free loopback port, serves
#      a client and survives SIGHUP (tools/package_check.py); the consumer
#      project (tests/consumer/project) builds against the installed -dev
#      package with no prefix and its tests pass; systemd-analyze verify of
#      the installed unit, and its security exposure at most 2.0; a
#      reinstall keeps an edit of the config, its mode and the enabled unit;
#   4. apt-get purge of both, then nothing of them is left (binary, unit,
#      config, user, systemd state). A failed run purges as well, and so
#      does every run a switchboard package installed before it.
# Usage: tools/package.sh [--keep-build]   (exit 0: all passed)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

step() { printf '== package: %s\n' "$*"; }
die() { printf 'package.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (it installs and purges the packages)"
for tool in cpack lintian help2man systemd-analyze dpkg-shlibdeps dpkg-architecture setpriv; do
  command -v "$tool" >/dev/null || die "$tool missing: tools/setup.sh --tests installs it"
done

# -- 1. build ---------------------------------------------------------------------
build=build
if ! grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' build/CMakeCache.txt 2>/dev/null; then
  build="build-package"
fi
step "build ($build, Release)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# build/ keeps its own compile rules (a changed one would rebuild it all).
configure=(-DCMAKE_BUILD_TYPE=Release)
[[ $build == build ]] || configure+=("${launcher[@]}")
# A build dir configured before cmake/install.cmake chose Debian's multiarch
# libdir still caches "lib": lintian wants the -dev package's pkg-config files
# under lib/<triplet>, as a fresh configure has it.
libdir=()
if grep -qx 'CMAKE_INSTALL_LIBDIR:PATH=lib' "$build/CMakeCache.txt" 2>/dev/null; then
  libdir=(-DCMAKE_INSTALL_LIBDIR="lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)")
fi
cmake -S . -B "$build" -G Ninja "${configure[@]}" -DSWITCHBOARD_INSTALL=ON \
  -DSWITCHBOARD_PACKAGE=ON "${libdir[@]}" >/dev/null
# What the two components install, and the package's generated files.
cmake --build "$build" -j "$(nproc)" --target switchboard switchboard_lib \
  switchboard_testing switchboard_deb_files
out=$src/$build/deb
rm -rf "$out"
(cd "$build" && timeout 300 cpack -G DEB -B "$out" >"$src/$build/cpack.log" 2>&1) ||
  { cat "$src/$build/cpack.log" >&2; die "cpack failed"; }
rm -rf "$out/_CPack_Packages"
server_deb=$(ls "$out"/switchboard_*_amd64.deb)
dev_deb=$(ls "$out"/libswitchboard-dev_*_amd64.deb)
step "built $(basename "$server_deb") $(basename "$dev_deb")"

# -- 2. lintian ----------------------------------------------------------------------
step "lintian"
lint=$out/lintian.txt
timeout 600 lintian --fail-on error,warning --info "$server_deb" "$dev_deb" >"$lint" 2>&1 ||
  { cat "$lint" >&2; die "lintian found errors or warnings"; }
grep -v '^running with root privileges' "$lint" || true

# -- 3. install and use ----------------------------------------------------------------
tmp=$(mktemp -d)
purge() {
  local installed=()
  for p in switchboard libswitchboard-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed\|config-files' &&
      installed+=("$p")
  done
  if ((${#installed[@]})); then
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -o DPkg::Lock::Timeout=120 \
      purge -y -qq "${installed[@]}" >/dev/null
  fi
}
cleanup() {
  local rc=$?
  trap - EXIT
  purge || rc=1
  rm -rf "$tmp"
  ((rc == 0)) || echo "package.sh: FAILED (exit $rc); the packages were purged" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "apt-get install"
DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=120 \
  install -y -qq --no-install-recommends "$server_deb" "$dev_deb" >/dev/null

conf=/etc/switchboard/switchboard.conf
unit=/lib/systemd/system/switchboard.service
test -x /usr/bin/switchboard || die "/usr/bin/switchboard missing"
getent passwd switchboard >/dev/null || die "no user switchboard"
[[ $(stat -c '%U:%G %a' "$conf") == "root:switchboard 640" ]] ||
  die "$conf is $(stat -c '%U:%G %a' "$conf"), not root:switchboard 640"
dpkg-query -W -f='${Conffiles}\n' switchboard | grep -q " $conf " ||
  die "$conf is not a conffile"
test -L /etc/systemd/system/multi-user.target.wants/switchboard.service ||
  die "switchboard.service was not enabled"
# A minimal image's dpkg may leave man pages out (path-exclude): then
# neither this check nor systemd-analyze's of Documentation=man: can pass.
man_check=--man=yes
if grep -qs '^path-exclude=*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
  man_check=--man=no
  step "dpkg excludes /usr/share/man here: man page not checked"
else
  zcat /usr/share/man/man1/switchboard.1.gz | grep -q 'max\\-connections' ||
    die "the man page lacks the options"
fi

step "the installed node as user switchboard with $conf"
# Only the node runs as the package's user (setpriv execs it, so the signals
# reach it): the checker stays root, because the checkout it is read from
# may be private to root (a CI job's directory).
timeout 60 /usr/bin/python3 "$src/tools/package_check.py" -- \
  setpriv --reuid=switchboard --regid=switchboard --init-groups --inh-caps=-all \
  /usr/bin/switchboard --config-file="$conf" --port=0

step "the consumer project against the installed -dev package (no prefix)"
cmake -S tests/consumer/project -B "$tmp/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "${launcher[@]}" >/dev/null
timeout 900 cmake --build "$tmp/consumer" >/dev/null
timeout 60 "$tmp/consumer/greeter_test"
timeout 60 /usr/bin/python3 tests/consumer/consumer_test.py "$tmp/consumer/greeter"
pkg-config --exists switchboard switchboard-testing || die "pkg-config finds no switchboard"

step "reinstall (the upgrade path of the maintainer scripts)"
echo '; a local edit' >>"$conf"
DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=120 \
  install -y -qq --reinstall "$server_deb" >/dev/null
tail -1 "$conf" | grep -qx '; a local edit' || die "the reinstall lost an edit of $conf"
[[ $(stat -c '%U:%G %a' "$conf") == "root:switchboard 640" ]] ||
  die "$conf is $(stat -c '%U:%G %a' "$conf") after the reinstall"
test -L /etc/systemd/system/multi-user.target.wants/switchboard.service ||
  die "switchboard.service is no longer enabled after the reinstall"

step "systemd-analyze verify and security"
# Strict: an unknown key or a bad value is only a warning to systemd.
if ! verify=$(timeout 60 systemd-analyze verify "$man_check" "$unit" 2>&1) ||
   [[ -n $verify ]]; then
  die "systemd-analyze verify $unit: ${verify:-failed}"
fi

# The sandbox does not regress: systemd's exposure score (0 best, 10 worst;
# the threshold is in tenths) stays at most 2.0.
security=$(timeout 60 systemd-analyze security --offline=yes --threshold=20 "$unit" 2>&1) ||
  die "systemd-analyze security $unit: exposure above 2.0: ${security##*$'\n'}"
step "${security##*$'\n'}"

# -- 4. purge ----------------------------------------------------------------------
step "apt-get purge"
purge
left=()
for f in /usr/bin/switchboard "$unit" /etc/switchboard /usr/include/switchboard \
         /usr/share/doc/switchboard /usr/share/doc/libswitchboard-dev \
         /usr/share/man/man1/switchboard.1.gz \
         /etc/systemd/system/multi-user.target.wants/switchboard.service \
         /var/lib/systemd/deb-systemd-helper-enabled/switchboard.service.dsh-also \
         /var/lib/systemd/deb-systemd-helper-masked/switchboard.service; do
  [[ -e $f || -L $f ]] && left+=("$f")
done
getent passwd switchboard >/dev/null && left+=("user switchboard")
getent group switchboard >/dev/null && left+=("group switchboard")
dpkg-statoverride --list "$conf" >/dev/null && left+=("statoverride $conf")
((${#left[@]} == 0)) || die "left after purge: ${left[*]}"
step "ok: $server_deb $dev_deb"
