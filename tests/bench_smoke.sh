#!/bin/bash
# Smoke test of switchboard-bench against a real server (a few seconds).
# Usage: bench_smoke.sh BENCH_BINARY SERVER_BINARY
# Starts `SERVER --port=0`, reads its first stdout line
# "switchboard listening on ws://127.0.0.1:PORT/ws", runs a tiny fanout (5 subscribers x 200
# messages), a tiny idle run (20 connections) and two tiny topic-churn runs (0.3 s baseline,
# 0.3 s churn; the second with --churn-disconnect) and a 3 s soak on a namespace with history
# and join/leave (--churn-rate, --recover), checks that the JSON lines report no loss
# (and, for topic-churn, probes in both phases, churn replies and no drop; for the soak,
# recoveries, join events, no offset gap and a sampled hub mailbox), then stops the server.
# Everything stays on 127.0.0.1 and every step is time-bounded.
set -u

bench=${1:?usage: bench_smoke.sh BENCH SERVER}
server=${2:?usage: bench_smoke.sh BENCH SERVER}
tmp=$(mktemp -d)
pid=
passed=0
failed=0

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail_setup() {
  echo "bench_smoke: $*" >&2
  [ -s "$tmp/server.err" ] && { echo "--- server stderr:" >&2; tail -n 20 "$tmp/server.err" >&2; }
  echo "0 passed, 1 failed"
  exit 1
}

# check NAME JSON FIELD=VALUE|FIELD>0|FIELD>=0...: every "field":value must appear in the JSON
# line; FIELD>0: the field is a positive integer; FIELD>=0: it is a number, not -1 (unknown).
check() {
  local name=$1 json=$2 bad=""
  shift 2
  if [ -z "$json" ]; then
    bad="no JSON line"
  else
    for kv in "$@"; do
      if [[ $kv == *'>=0' ]]; then
        local g=${kv%'>=0'}
        grep -Eq "\"$g\":[0-9]+[,}]" <<<"$json" || bad="$bad $kv"
        continue
      fi
      if [[ $kv == *'>0' ]]; then
        local f=${kv%'>0'}
        grep -Eq "\"$f\":[1-9][0-9]*[,}]" <<<"$json" || bad="$bad $kv"
        continue
      fi
      local k=${kv%%=*} v=${kv#*=}
      grep -q "\"$k\":$v[,}]" <<<"$json" || bad="$bad $k!=$v"
    done
  fi
  if [ -z "$bad" ]; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name:$bad"
    echo "  $json"
    [ -s "$tmp/$name.err" ] && tail -n 5 "$tmp/$name.err" | sed 's/^/  /'
    failed=$((failed + 1))
  fi
}

[ -x "$bench" ] || fail_setup "bench binary '$bench' not executable"
[ -x "$server" ] || fail_setup "server binary '$server' not executable"

# The publisher floods on purpose: no command rate limit. The soak's topics live in namespace
# "smoke" (history, presence, join/leave).
printf '[namespaces]\nsmoke = {history-size = 50, history-ttl = 60s, presence = true, join-leave = true}\n' \
  >"$tmp/server.conf"
"$server" --port=0 --client-rate=0 --config-file="$tmp/server.conf" >"$tmp/server.out" 2>"$tmp/server.err" </dev/null &
pid=$!

# Wait (at most 10 s) for the complete first line.
port=
for _ in $(seq 1 100); do
  if [ "$(wc -l <"$tmp/server.out")" -ge 1 ]; then
    line=$(head -n 1 "$tmp/server.out")
    if [[ $line =~ ^switchboard\ listening\ on\ ws://127\.0\.0\.1:([0-9]+)/ws ]]; then
      port=${BASH_REMATCH[1]}
      break
    fi
    fail_setup "unexpected first line from server: '$line'"
  fi
  kill -0 "$pid" 2>/dev/null || fail_setup "server exited before listening"
  sleep 0.1
done
[ -n "$port" ] || fail_setup "server printed no 'listening' line within 10 s"
url="ws://127.0.0.1:$port/ws"

out=$(timeout 45 "$bench" --mode=fanout --url="$url" --subs=5 --messages=200 --size=64 --window=16 \
  --timeout=30 --drain=3 2>"$tmp/fanout.err" | tail -n 1)
check fanout "$out" 'mode="fanout"' lost=0 deliveries=1000 dropped=0 reordered=0 ok=true

out=$(timeout 45 "$bench" --mode=idle --url="$url" --conns=20 --topics=4 --settle=0.2 --pid="$pid" \
  --timeout=30 2>"$tmp/idle.err" | tail -n 1)
check idle "$out" 'mode="idle"' connected=20 lost=0 dropped=0 ok=true

out=$(timeout 45 "$bench" --mode=topic-churn --url="$url" --churners=2 --churn-topics=64 --baseline=0.3 \
  --duration=0.3 --probe-interval=5 --timeout=30 2>"$tmp/topic-churn.err" | tail -n 1)
check topic-churn "$out" 'mode="topic-churn"' 'base_rtt_count>0' 'churn_rtt_count>0' 'churn_ops>0' \
  dropped=0 probes_lost=0 ok=true

out=$(timeout 45 "$bench" --mode=topic-churn --url="$url" --churn-topics=64 --churn-disconnect --baseline=0.3 \
  --duration=0.3 --probe-interval=5 --timeout=30 2>"$tmp/topic-churn-disconnect.err" | tail -n 1)
check topic-churn-disconnect "$out" 'mode="topic-churn"' 'base_rtt_count>0' 'churn_rtt_count>0' \
  'reconnects>0' dropped=0 probes_lost=0 ok=true

out=$(timeout 45 "$bench" --mode=soak --url="$url" --conns=40 --topics=4 --duration=3 --rate=50 --churn-rate=40 \
  --mix=50:50:0 --namespace=smoke --join-leave --recover --stats-url="http://127.0.0.1:$port/stats" --pid="$pid" \
  --sample-every=1 --settle=5 --timeout=40 2>"$tmp/soak.err" | tail -n 1)
check soak "$out" 'mode="soak"' 'cycles>0' 'recovered>0' 'joins_seen>0' 'hub_mailbox>=0' 'history_messages>0' \
  live_dropped=0 stable_lost=0 offset_gaps=0 error_frames=0 ok=true

if kill -0 "$pid" 2>/dev/null; then
  echo "PASS server-alive"
  passed=$((passed + 1))
else
  echo "FAIL server-alive: server exited during the runs"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
