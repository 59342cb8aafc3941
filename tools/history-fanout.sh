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
set -euo pipefail
REPS=${1:-3} SUBS=${2:-10} MESSAGES=${3:-200000}
BUILD=${BUILD:-build}
DIR=$(mktemp -d)
trap 'kill $(cat "$DIR/pid" "$DIR/redis.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$DIR"' EXIT
printf '[namespaces]\nhist={history-size=100, history-ttl=5min}\n' > "$DIR/hist.ini"
STORE=()
if [[ -n "${REDIS:-}" ]]; then
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no > /dev/null &
  echo $! > "$DIR/redis.pid"
  for _ in $(seq 100); do redis-cli -p "$RPORT" ping > /dev/null 2>&1 && break; sleep 0.1; done
  STORE=(--redis="127.0.0.1:$RPORT")
fi
setsid "$BUILD/app/switchboard" --port=0 --client-rate=0 --config-file="$DIR/hist.ini" \
  "${STORE[@]}" --log-level=warn > "$DIR/node.out" 2>&1 &
echo $! > "$DIR/pid"
for _ in $(seq 100); do grep -q listening "$DIR/node.out" && break; sleep 0.1; done
PORT=$(sed -n 's#.*127.0.0.1:\([0-9]*\)/ws#\1#p' "$DIR/node.out")
for _ in $(seq "$REPS"); do
  for topic in bench-fanout hist:bench-fanout; do
    timeout 300 "$BUILD/tools/switchboard-bench" --url="ws://127.0.0.1:$PORT/ws" \
      --pid="$(cat "$DIR/pid")" --mode=fanout --subs="$SUBS" --messages="$MESSAGES" --size=64 \
      --window=64 --topic="$topic" --timeout=280 2>/dev/null
  done
done
