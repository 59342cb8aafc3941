#!/usr/bin/env bash
# Cross-node fan-out, next to the single-node figure in the same run
# (docs/benchmarks.md, "Cluster"): one publisher on node A, SUBS subscribers
#   single: all on one node (no cluster);
#   cluster: spread over three clustered nodes A, B, C (a third on each).
#   cluster-tls (with TLS=1): the same three nodes over cluster TLS
#     (--cluster-tls-*, EC P-256 certificates from a CA made by openssl for
#     the run), right after the plain cluster in every repetition.
# Prints one JSON line of switchboard-bench per run (deliveries/s, p99, and
# A's CPU as server_cpu_pct, since --pid is node A), then A's CPU per publish.
#
# With SUB_NODES=bc the clustered runs put every subscriber on B and C: node
# A only receives the publishes and forwards them (its CPU per publish is then
# the cost of forwarding to two peers).
#
#   tools/cluster-bench.sh [BUILD_DIR] [REPS]     (env: SUBS=1000 MESSAGES=20000 RATE=0
#                                                 TLS=0 SUB_NODES=abc
#                                                 OUT=/tmp/cluster-bench.jsonl)
#
# Loopback only; every node is stopped when the script ends.
set -euo pipefail
build=${1:-build}
reps=${2:-3}
subs=${SUBS:-1000}
messages=${MESSAGES:-20000}
rate=${RATE:-0}
out=${OUT:-/tmp/cluster-bench.jsonl}
tls=${TLS:-0}
sub_nodes=${SUB_NODES:-abc}
[[ $sub_nodes == abc || $sub_nodes == bc ]] || { echo "SUB_NODES is abc or bc" >&2; exit 2; }
: >"$out"
node=$build/app/switchboard
bench=$build/tools/switchboard-bench
[[ -x $node && -x $bench ]] || { echo "build $build first (ninja switchboard switchboard-bench)" >&2; exit 2; }

pids=()
pki=$(mktemp -d)
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$pki"' EXIT

# A CA and a certificate per node (a, b, c) for cluster TLS.
if [[ $tls == 1 ]]; then
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 1 -subj /CN=bench-ca \
    -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign 2>/dev/null
  for n in a b c; do
    openssl req "${ec[@]}" -keyout "$pki/$n.key" -out "$pki/$n.csr" -subj "/CN=$n" 2>/dev/null
    openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
      -out "$pki/$n.pem" -days 1 2>/dev/null
  done
fi
tls_flags() { echo "--cluster-tls-cert=$pki/$1.pem --cluster-tls-key=$pki/$1.key --cluster-tls-ca=$pki/ca.pem"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME PORT [flags...]: starts a node, waits for its listening line.
start() {
  local name=$1 port=$2; shift 2
  "$node" --port="$port" --client-rate=0 --log-level=warn "$@" >"/tmp/cluster-bench.$name.out" 2>"/tmp/cluster-bench.$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q listening "/tmp/cluster-bench.$name.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "node $name did not start: $(cat /tmp/cluster-bench.$name.err)" >&2
  exit 1
}

# peers_up PORT: number of peers the node at PORT has up.
peers_up() {
  curl -s "http://127.0.0.1:$1/stats?scope=cluster" | /usr/bin/python3 -c \
    'import json,sys; print(sum(p["state"]=="up" for p in json.load(sys.stdin)["cluster"]["peers"]))' 2>/dev/null || echo 0
}

run() { # label pid url [bench flags]
  local label=$1 pid=$2 url=$3; shift 3
  "$bench" --mode=fanout --url="$url" --pid="$pid" --subs="$subs" --messages="$messages" \
    --rate="$rate" --timeout=120 "$@" 2>/dev/null | sed "s/^{/{\"label\":\"$label\",/" | tee -a "$out"
}

for rep in $(seq "$reps"); do
  # Single node.
  p=$(free_port)
  start single "$p"
  run single "${pids[-1]}" "ws://127.0.0.1:$p/ws"
  cleanup; pids=()

  # Three nodes, plain (and then over cluster TLS).
  variants=(cluster)
  [[ $tls == 1 ]] && variants+=(cluster-tls)
  for variant in "${variants[@]}"; do
    fa=() fb=() fc=()
    if [[ $variant == cluster-tls ]]; then
      read -r -a fa <<<"$(tls_flags a)"; read -r -a fb <<<"$(tls_flags b)"
      read -r -a fc <<<"$(tls_flags c)"
    fi
    wa=$(free_port) wb=$(free_port) wc=$(free_port)
    ca=$(free_port) cb=$(free_port) cc=$(free_port)
    seeds="127.0.0.1:$ca,127.0.0.1:$cb,127.0.0.1:$cc"
    start a "$wa" --cluster-port="$ca" --cluster-seeds="$seeds" "${fa[@]}"
    pid_a=${pids[-1]}
    start b "$wb" --cluster-port="$cb" --cluster-seeds="$seeds" "${fb[@]}"
    start c "$wc" --cluster-port="$cc" --cluster-seeds="$seeds" "${fc[@]}"
    for _ in $(seq 100); do
      [[ $(peers_up "$wa") == 2 && $(peers_up "$wb") == 2 && $(peers_up "$wc") == 2 ]] && break
      sleep 0.1
    done
    sub_urls="ws://127.0.0.1:$wb/ws,ws://127.0.0.1:$wc/ws"
    [[ $sub_nodes == abc ]] && sub_urls="ws://127.0.0.1:$wa/ws,$sub_urls"
    run "$variant" "$pid_a" "ws://127.0.0.1:$wa/ws" --sub-urls="$sub_urls"
    curl -s "http://127.0.0.1:$wa/stats?scope=cluster" | /usr/bin/python3 -c \
      'import json,sys; c=json.load(sys.stdin)["cluster"]; print(json.dumps({"label":sys.argv[1]+"-peers","peers":c["peers"]}))' \
      "$variant" | tee -a "$out"
    cleanup; pids=()
  done
done

# Summary: per run, deliveries/s, p99 publish-to-delivery, and node A's CPU
# per publish (server_cpu_pct_measure is A's share of one core).
/usr/bin/python3 - "$out" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "deliveries_per_s" not in r:
        continue
    cpu = r.get("server_cpu_pct_measure", -1)
    per_pub = cpu / 100 * r["duration_s"] / max(r["sent"], 1) * 1e6 if cpu >= 0 else float("nan")
    print(f'{r["label"]:11} deliveries/s {r["deliveries_per_s"]:>10.0f}  p99 {r["lat_p99_us"] / 1000:.1f} ms'
          f'  lost {r["lost"]}  node A cpu {cpu:.0f}%  A cpu/publish {per_pub:.1f} us')
PY
