#!/usr/bin/python3
"""Side-by-side benchmark: the same switchboard-bench load against switchboard and the peer
servers (gorilla/websocket hub, Node ws, uWebSockets), one after another on this machine,
interleaved (sb, gorilla, nodews, uws, sb, gorilla, ...) for --reps repetitions, each run on a
freshly started server. Prints the median of every metric per server and the ratio
switchboard/peer.

  tools/compare.py [--switchboard build/app/switchboard] [--bench build/tools/switchboard-bench]
                   [--reps 3] [--scenarios fanout-max,fanout-rate,idle]
                   [--servers switchboard,gorilla,nodews,uws] [--sb-flags="--io-threads=2 ..."]
                   [--out results.jsonl] [--tls]

--tls runs switchboard over TLS (wss://) with a self-signed certificate made with the openssl
CLI (the bench verifies it), and uws with its TLS mode (run.sh --tls CERT KEY PORT: uWebSockets'
SSLApp) on the same certificate; gorilla and nodews, which have no TLS mode, are skipped. Run
once without and once with --tls for the cost of TLS (docs/benchmarks.md, "TLS fan-out cost").

Peers live in shared/peers/ (found above the repository, or --peers-dir); each is started by
its run.sh, which builds or installs it once into a cache. A peer whose prerequisites are
missing is skipped with one line on stderr saying why; the others still run:
  gorilla  apt-get install golang-go golang-github-gorilla-websocket-dev
  nodews   node and npm
  uws      UWS_GIT and USOCKETS_GIT: git directories of uWebSockets and uSockets holding the
           commits named in shared/peers/uws/run.sh (see docs/benchmarks.md, "Peers");
           g++, gcc, libboost-json1.81-dev
Before any measurement every peer is started once, untimed, so that its build or install
does not count against a start timeout or a run.

Scenarios:
  fanout-max   1000 subscribers, 64-byte data, publisher as fast as possible, window 64
  fanout-rate  1000 subscribers at --rate 1000 and at 50 msg/s (two sub-scenarios)
  idle         10k idle subscribed connections: server RSS per connection, connections/s

Everything runs on 127.0.0.1; every server and bench run is bounded by a timeout and every
server this script starts is stopped (by its own process group) before the next starts.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = ("switchboard", "gorilla", "nodews", "uws")
START_TIMEOUT = 30  # s, for measured starts (peers were built by prepare_peers)
PEER_PREPARE_TIMEOUT = 900  # s, first start (uws: g++ -O3 -flto on a busy 2-core machine)

# metric -> (label, better) ; better: "high" or "low" or "" (informational)
FANOUT_METRICS = [
    ("deliveries_per_s", "high"),
    ("lat_p50_us", "low"),
    ("lat_p99_us", "low"),
    ("lat_p999_us", "low"),
    ("lat_max_us", "low"),
    ("lost", "low"),
    ("dropped", "low"),
    ("reordered", "low"),
    ("msgs_per_s", ""),
    ("server_cpu_pct_measure", ""),
    ("tool_cpu_pct_measure", ""),
    ("other_cpu_pct_measure", ""),
]
IDLE_METRICS = [
    ("rss_per_conn_bytes", "low"),
    ("conns_per_s", "high"),
    ("lost", "low"),
    ("dropped", "low"),
    ("connect_errors", "low"),
    ("verify_lat_p99_us", "low"),
    ("rss_after_kb", ""),
    ("tool_cpu_pct", ""),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    """One running server process (own process group), stdout+stderr into a temp file."""

    def __init__(self, name, argv, port, read_banner, start_timeout):
        self.name, self.port = name, port
        self.log = tempfile.NamedTemporaryFile(prefix=f"cmp-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=REPO)
        self.pid = self.proc.pid  # run.sh execs the server; switchboard is the binary itself
        deadline = time.monotonic() + start_timeout
        banner = re.compile(r"listening on wss?://127\.0\.0\.1:(\d+)/ws")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}: {self.tail()}")
            if read_banner:
                with open(self.log.name, errors="replace") as f:
                    first = f.readline()
                m = banner.search(first)
                if m:
                    self.port = int(m.group(1))
                    if port_open(self.port):
                        return
            elif port_open(port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} did not start listening within {start_timeout}s: {self.tail()}")

    def tail(self):
        try:
            with open(self.log.name, errors="replace") as f:
                return f.read()[-600:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        os.unlink(self.log.name)


def default_peers_dir():
    """shared/peers in the nearest ancestor of the repository that has one (the main checkout
    and the worktrees sit at different depths below it)."""
    d = REPO
    while True:
        cand = os.path.join(d, "shared", "peers")
        if os.path.isdir(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            return os.path.normpath(os.path.join(REPO, "..", "shared", "peers"))
        d = parent


def run_sh_var(run, name):
    """A NAME=value assignment in a peer's run.sh (the pinned commits live there only)."""
    try:
        with open(run) as f:
            m = re.search(rf"^{name}=([0-9A-Za-z._-]+)", f.read(), re.M)
    except OSError:
        return None
    return m.group(1) if m else None


def peer_unavailable(peer, run):
    """Why the peer cannot run on this machine, or None."""
    if not os.path.isfile(run):
        return f"{run} not found (--peers-dir)"
    if peer == "gorilla":
        missing = []
        if shutil.which("go") is None:
            missing.append("golang-go")
        if not os.path.isdir("/usr/share/gocode/src/github.com/gorilla/websocket"):
            missing.append("golang-github-gorilla-websocket-dev")
        if missing:
            return (f"missing Debian package(s) {' '.join(missing)} "
                    "(apt-get install golang-go golang-github-gorilla-websocket-dev)")
    elif peer == "nodews":
        missing = [t for t in ("node", "npm") if shutil.which(t) is None]
        if missing:
            return f"needs {' and '.join(missing)} (apt-get install nodejs npm)"
    elif peer == "uws":
        unset = [v for v in ("UWS_GIT", "USOCKETS_GIT") if not os.environ.get(v)]
        if unset:
            return (f"{' and '.join(unset)} not set (git directories of uWebSockets and uSockets "
                    "at the commits in shared/peers/uws/run.sh; see docs/benchmarks.md, Peers)")
        missing = [t for t in ("g++", "gcc", "git") if shutil.which(t) is None]
        if not os.path.isfile("/usr/include/boost/json.hpp"):
            missing.append("libboost-json1.81-dev")
        if missing:
            return f"needs {' '.join(missing)} to build"
        for var, commit_var in (("UWS_GIT", "UWS_COMMIT"), ("USOCKETS_GIT", "US_COMMIT")):
            commit = run_sh_var(run, commit_var)
            if not commit:
                continue  # run.sh changed shape; let it report
            git_dir = os.environ[var]
            r = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                return f"{var}={git_dir} is not a git directory holding commit {commit}"
    return None


def server_specs(args):
    """[(name, argv_of(port), reads_banner)] for the selected servers that can run here."""
    specs = []
    for name in args.servers:
        if name == "switchboard":
            sb = args.switchboard
            if os.path.isfile(sb) and os.access(sb, os.X_OK):
                extra = list(args.sb_flags)
                specs.append(("switchboard", lambda port, sb=sb, extra=extra: [sb, f"--port={port}"] + extra,
                              True))
            else:
                log(f"skipping switchboard: binary {sb} not found (tools/setup.sh builds it)")
            continue
        run = os.path.join(args.peers_dir, name, "run.sh")
        why = peer_unavailable(name, run)
        if why:
            log(f"skipping {name}: {why}")
            continue
        if TLS_CA:  # only uws is left with --tls (main)
            specs.append((name, lambda port, run=run: ["bash", run, "--tls", TLS_CA, TLS_KEY, str(port)],
                          False))
        else:
            specs.append((name, lambda port, run=run: ["bash", run, str(port)], False))
    return specs


def prepare_peers(specs):
    """Start every peer once, untimed, and stop it: run.sh builds (go, g++) or installs (npm)
    on its first start, which must not count against a start timeout or a measurement.
    Returns the specs whose server came up."""
    ready = []
    for spec in specs:
        name, argv_of, banner = spec
        if name == "switchboard":
            ready.append(spec)
            continue
        log(f"preparing {name} (a first start builds or installs it; not measured) ...")
        t0 = time.monotonic()
        port = free_port()
        try:
            srv = Server(name, ["nice", "-n", "10"] + argv_of(port), port, banner, PEER_PREPARE_TIMEOUT)
        except RuntimeError as e:
            log(f"skipping {name}: it did not come up: {e}")
            continue
        srv.stop()
        log(f"{name} ready ({time.monotonic() - t0:.1f} s)")
        ready.append(spec)
    return ready


def scenario_runs(args):
    """(scenario name, bench args, metric list)."""
    out = []
    for sc in args.scenarios.split(","):
        sc = sc.strip()
        if sc == "fanout-max":
            out.append(("fanout-max", ["--mode=fanout", f"--subs={args.subs}", "--size=64", "--window=64",
                                       f"--messages={args.messages}", "--timeout=240"], FANOUT_METRICS))
        elif sc == "fanout-rate":
            for rate in (1000, 50):
                n = int(rate * args.rate_duration)
                out.append((f"fanout-rate-{rate}", ["--mode=fanout", f"--subs={args.subs}", "--size=64",
                                                    f"--rate={rate}", f"--messages={n}", "--timeout=240"],
                            FANOUT_METRICS))
        elif sc == "idle":
            out.append(("idle", ["--mode=idle", f"--conns={args.idle_conns}", "--settle=2", "--timeout=240"],
                        IDLE_METRICS))
        elif sc:
            sys.exit(f"unknown scenario {sc} (fanout-max, fanout-rate, idle)")
    return out


# --tls: the certificate the bench trusts and its key (make_tls_certificate).
TLS_CA = None
TLS_KEY = None


def make_tls_certificate(directory):
    """A self-signed P-256 certificate for 127.0.0.1; returns (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return cert, key


def run_bench(bench, bench_args, server):
    scheme = "wss" if TLS_CA else "ws"
    argv = [bench, f"--url={scheme}://127.0.0.1:{server.port}/ws", f"--pid={server.pid}"] + bench_args
    if TLS_CA:
        argv.append(f"--tls-ca={TLS_CA}")
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"error": "bench timed out"}
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"error": f"no JSON from bench (rc={p.returncode}): {p.stderr[-400:]}"}
    d = json.loads(lines[-1])
    d["bench_rc"] = p.returncode
    return d


def fmt_num(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switchboard", default=os.path.join(REPO, "build", "app", "switchboard"))
    # The peers limit no client's command rate; the fan-out publisher sends as fast
    # as it can, so switchboard's per-connection limit is off for the comparison.
    ap.add_argument("--sb-flags", "--sb-args", dest="sb_flags", default="--client-rate=0",
                    help='flags for the switchboard server, one shell-quoted string; write it '
                         'with "=": --sb-flags="--io-threads=2 --send-queue=512" (recorded as sb_flags '
                         'in every switchboard result; default: --client-rate=0)')
    ap.add_argument("--bench", default=os.path.join(REPO, "build", "tools", "switchboard-bench"))
    ap.add_argument("--servers", default=",".join(SERVERS),
                    help=f"comma-separated servers to run, in this order (of {','.join(SERVERS)})")
    ap.add_argument("--peers", default=None, help="old spelling: switchboard plus these peers")
    ap.add_argument("--peers-dir", default=default_peers_dir(), help="directory of the peer servers")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scenarios", default="fanout-max,fanout-rate,idle")
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=2000, help="fanout-max messages per run")
    ap.add_argument("--rate-duration", type=float, default=5.0, help="seconds of publishing in fanout-rate")
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--out", default="", help="append every raw JSON result to this file")
    ap.add_argument("--tls", action="store_true",
                    help="switchboard and uws over wss:// with a self-signed certificate "
                         "(gorilla and nodews skipped)")
    args = ap.parse_args()
    args.sb_flags = shlex.split(args.sb_flags)
    if args.tls:
        global TLS_CA, TLS_KEY
        tls_dir = tempfile.mkdtemp(prefix="cmp-tls-")
        TLS_CA, TLS_KEY = make_tls_certificate(tls_dir)
        args.sb_flags += [f"--tls-cert={TLS_CA}", f"--tls-key={TLS_KEY}"]
    wanted = args.servers if args.peers is None else "switchboard," + args.peers
    args.servers = []
    for name in (n.strip() for n in wanted.split(",")):
        if name and name not in SERVERS:
            sys.exit(f"unknown server {name} ({', '.join(SERVERS)})")
        if name and name not in args.servers:
            args.servers.append(name)
    if args.tls:
        for name in args.servers[:]:
            if name not in ("switchboard", "uws"):
                log(f"skipping {name}: it has no TLS mode")
                args.servers.remove(name)

    if not (os.path.isfile(args.bench) and os.access(args.bench, os.X_OK)):
        sys.exit(f"bench binary {args.bench} not found (build target switchboard-bench)")
    runs = scenario_runs(args)
    specs = prepare_peers(server_specs(args))
    if not specs:
        sys.exit("no server available")
    out = open(args.out, "a") if args.out else None
    results = {}  # (scenario, server) -> [json]
    broken = set()
    for sc, bench_args, _ in runs:
        for rep in range(args.reps):
            for name, argv_of, banner in specs:
                if name in broken:
                    continue
                port = free_port()
                try:
                    srv = Server(name, argv_of(port), port, banner, START_TIMEOUT)
                except RuntimeError as e:
                    log(f"warning: {e}; dropping {name} from the comparison")
                    broken.add(name)
                    continue
                try:
                    time.sleep(0.3)
                    d = run_bench(args.bench, bench_args, srv)
                finally:
                    srv.stop()
                d.update({"server": name, "scenario": sc, "rep": rep})
                if name == "switchboard":
                    d["sb_flags"] = args.sb_flags
                results.setdefault((sc, name), []).append(d)
                if out:
                    out.write(json.dumps(d) + "\n")
                    out.flush()
                if "error" in d:
                    log(f"{sc} rep {rep + 1} {name}: ERROR {d['error']}")
                elif d.get("mode") == "idle":
                    log(f"{sc} rep {rep + 1} {name}: {d.get('rss_per_conn_bytes', 0):.0f} B/conn, "
                        f"{d.get('conns_per_s', 0):.0f} conn/s, lost {d.get('lost')}")
                else:
                    log(f"{sc} rep {rep + 1} {name}: {d.get('deliveries_per_s', 0):.0f} deliveries/s, "
                        f"p99 {d.get('lat_p99_us', 0) / 1000:.1f} ms, lost {d.get('lost')}, "
                        f"dropped {d.get('dropped')}, tool cpu {d.get('tool_cpu_pct_measure', 0):.0f}%")
                time.sleep(0.5)

    names = [s[0] for s in specs if s[0] not in broken]
    if not names:
        sys.exit("no server could be started")
    sb = "switchboard" if "switchboard" in names else None
    peers = [n for n in names if n != sb]
    print(f"\nmedians over {args.reps} reps (latencies in microseconds; ratio = switchboard / peer)")
    if sb:
        print(f"switchboard flags: {shlex.join(args.sb_flags) if args.sb_flags else '(defaults)'}")
    for sc, _, metrics in runs:
        print(f"\n== {sc}")
        header = f"{'metric':26}{'better':>7}"
        for n in names:
            header += f"{n:>16}"
        for p in peers if sb else []:
            header += f"{'sb/' + p:>12}"
        print(header)
        med = {}
        for n in names:
            ok = [d for d in results.get((sc, n), []) if "error" not in d]
            for m, _ in metrics:
                vals = [d[m] for d in ok if isinstance(d.get(m), (int, float))]
                med[(n, m)] = statistics.median(vals) if vals else None
        for m, better in metrics:
            row = f"{m:26}{better:>7}"
            for n in names:
                row += f"{fmt_num(med[(n, m)]):>16}"
            if sb:
                for p in peers:
                    a, b = med[(sb, m)], med[(p, m)]
                    row += f"{a / b:>12.2f}" if a is not None and b else f"{'-':>12}"
            print(row)
        runs_line = "runs ok".ljust(33)
        for n in names:
            rs = results.get((sc, n), [])
            runs_line += f"{sum(1 for d in rs if 'error' not in d)}/{len(rs)}".rjust(16)
        print(runs_line)
        busy = [d.get("other_cpu_pct_measure", -1) for n in names for d in results.get((sc, n), [])
                if isinstance(d.get("other_cpu_pct_measure"), (int, float))]
        if busy and statistics.median(busy) > 100:
            print(f"note: median {statistics.median(busy):.0f}% of a core went to neither server nor bench "
                  "(other processes, softirq network work); the machine may not have been quiet")
        tool = [d.get("tool_cpu_pct_measure", -1) for n in names for d in results.get((sc, n), [])
                if isinstance(d.get("tool_cpu_pct_measure"), (int, float))]
        if tool and max(tool) > 80:
            print(f"note: the bench itself used up to {max(tool):.0f}% of a core: it may have been the bottleneck")
    if out:
        out.close()
        print(f"\nraw results appended to {args.out}")


if __name__ == "__main__":
    main()
