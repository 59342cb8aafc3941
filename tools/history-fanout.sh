#!/bin/bash
# The cost of history on fan-out (docs/benchmarks.md, "History and recovery"): one node with
# a namespace `hist` (history-size=100), the same switchboard-bench fan-out on a plain topic
# and on a history topic, alternated REPS times. Loopback only; the node runs in a session of
# its own (setsid, see "Machine and method") and is stopped at the end.
#
#   tools/history-fanout.sh [REPS] [SUBS] [MESSAGES] > results.jsonl
#   (defaults 3, 10, 200000; e.g. 2 1000 20000 for the 1000-subscriber fan-out)
#   REDIS=1 tools/history-fanout.sh ...: the histories in a redis-server the script starts
#   (--redis, docs/cluster.md "History in Redis") instead of the node's memory.
#   REDIS=compare tools/history-fanout.sh ...: three variants in the same run, interleaved
#   (each repetition runs plain, memory, redis): a plain topic and a history topic on a node
#   with in-memory history, and a history topic on a second node with --redis. Each bench
#   line gets "variant" and the CPU seconds (utime+stime from /proc/PID/stat, before/after the
#   whole bench run, connects included) of the node it ran against and of redis-server, with
#   the same divided by the publishes (sent + warm-up).
set -euo pipefail
REPS=${1:-3} SUBS=${2:-10} MESSAGES=${3:-200000}
BUILD=${BUILD:-build}
DIR=$(mktemp -d)
trap 'kill $(cat "$DIR"/*pid 2>/dev/null) 2>/dev/null || true; wait; rm -rf "$DIR"' EXIT
printf '[namespaces]\nhist={history-size=100, history-ttl=5min}\n' > "$DIR/hist.ini"
RPORT=
if [[ -n "${REDIS:-}" ]]; then
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no > /dev/null &
  echo $! > "$DIR/redis-server.pid"
  for _ in $(seq 100); do redis-cli -p "$RPORT" ping > /dev/null 2>&1 && break; sleep 0.1; done
fi

# start_node NAME [OPTIONS...]: a node in a session of its own; its port in $DIR/NAME.port.
start_node() {
  local name=$1; shift
  setsid "$BUILD/app/switchboard" --port=0 --client-rate=0 --config-file="$DIR/hist.ini" \
    "$@" --log-level=warn > "$DIR/$name.out" 2>&1 &
  echo $! > "$DIR/$name.pid"
  for _ in $(seq 100); do grep -qs listening "$DIR/$name.out" && break; sleep 0.1; done
  sed -n 's#.*127.0.0.1:\([0-9]*\)/ws#\1#p' "$DIR/$name.out" > "$DIR/$name.port"
}

# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15; neither name has a space).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# bench NODE TOPIC: one fan-out run against node NODE; prints the bench's JSON line.
bench() {
  timeout 300 "$BUILD/tools/switchboard-bench" --url="ws://127.0.0.1:$(cat "$DIR/$1.port")/ws" \
    --pid="$(cat "$DIR/$1.pid")" --mode=fanout --subs="$SUBS" --messages="$MESSAGES" --size=64 \
    --window=64 --topic="$2" --timeout=280 2>/dev/null || true
}

if [[ "${REDIS:-}" == compare ]]; then
  start_node mnode
  start_node rnode --redis="127.0.0.1:$RPORT"
  TCK=$(getconf CLK_TCK)
  RPID=$(cat "$DIR/redis-server.pid")
  for _ in $(seq "$REPS"); do
    for variant in plain:mnode:bench-fanout memory:mnode:hist:bench-fanout \
                   redis:rnode:hist:bench-fanout; do
      IFS=: read -r name node topic <<< "$variant"
      NPID=$(cat "$DIR/$node.pid")
      n0=$(cpu_ticks "$NPID") r0=$(cpu_ticks "$RPID")
      line=$(bench "$node" "$topic")
      n1=$(cpu_ticks "$NPID") r1=$(cpu_ticks "$RPID")
      jq -c --arg v "$name" --argjson n "$(( n1 - n0 ))" --argjson r "$(( r1 - r0 ))" \
        --argjson t "$TCK" '. + {variant: $v, node_cpu_s_run: ($n / $t),
          redis_cpu_s_run: ($r / $t)} | . + {
          node_cpu_us_per_publish_run: (1e6 * .node_cpu_s_run / ((.sent // 0) + (.warmup_msgs // 0) | if . == 0 then 1 else . end)),
          redis_cpu_us_per_publish_run: (1e6 * .redis_cpu_s_run / ((.sent // 0) + (.warmup_msgs // 0) | if . == 0 then 1 else . end)),
          node_cpu_us_per_publish_measure: (1e4 * (.server_cpu_pct_measure // 0) * (.duration_s // 0) / ((.sent // 0) | if . == 0 then 1 else . end))}' <<< "$line"
    done
  done
  exit 0
fi

STORE=()
[[ -n "$RPORT" ]] && STORE=(--redis="127.0.0.1:$RPORT")
start_node node "${STORE[@]}"
for _ in $(seq "$REPS"); do
  for topic in bench-fanout hist:bench-fanout; do
    bench node "$topic"
  done
done
