#!/usr/bin/env bash
# Sets up, builds and starts a switchboard node on ws://127.0.0.1:8080/ws.
# Any arguments go to the node, e.g. tools/run-node.sh --port=9000
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec build/app/switchboard "$@"
