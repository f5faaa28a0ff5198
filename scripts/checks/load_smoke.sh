#!/usr/bin/env bash
# A short real load run in CI: starts the API as `make run` does (scripts/run-local.sh, as
# e2e-local.sh does: free ports, a temporary data directory, its own process group, stopped
# at the end), runs Locust headless with the load test's mix (load/locustfile.py) for
# LOAD_SMOKE_TIME (20s) with LOAD_SMOKE_USERS (5) users, prints the per-route table and fails
# on any failed request: a 5xx, a connection error, or an answer the mix does not expect.
# Latency figures are printed, never asserted (this machine is shared). Bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/install-test-deps.sh --only locust cargo-lambda

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port)
CQL_NODE_PORT=$(free_port)
work=$(mktemp -d)
log="$work/run-local.log"

# Only what this check chose: no STORE_*/KEYSPACES_* from the caller's environment and no .env.
# One cursor key for every function process: the mix follows next_cursor, and a cursor signed
# by one process must verify in another if the API runs more than one.
unset_args=()
for v in $(compgen -e); do
  case "$v" in STORE_* | KEYSPACES_*) unset_args+=(-u "$v") ;; esac
done
cursor_key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
env ${unset_args[@]+"${unset_args[@]}"} STORE_DOTENV=off STORE_CURSOR_KEY="$cursor_key" \
  API_PORT="$API_PORT" CQL_NODE_PORT="$CQL_NODE_PORT" CQL_NODE_DATA_DIR="$work/data" \
  setsid bash scripts/run-local.sh >"$log" 2>&1 &
run_pid=$!
cleanup() {
  kill -- "-$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$API_PORT"
fail() { echo "load smoke: $*"; echo "--- run-local log (tail)"; tail -n 40 "$log"; exit 1; }

# Ready when both functions answer: a list (200) and a create (201), so the run measures
# warm functions. Polled, bounded (the first start may build).
deadline=$((SECONDS + 600))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$base/products" || true)" = "200" ]; do
  kill -0 "$run_pid" 2>/dev/null || fail "run-local.sh exited early"
  [ $SECONDS -lt $deadline ] || fail "API not ready within 600 s"
  sleep 1
done
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$base/products" \
  -H 'content-type: application/json' -d '{"name":"Warm-up","sku":"SMOKE-WARMUP","price":1}' || true)
[ "$status" = "201" ] || fail "warm-up create answered $status"

smoke_time=${LOAD_SMOKE_TIME:-20s}
users=${LOAD_SMOKE_USERS:-5}
echo "load smoke: $users users for $smoke_time against $base"
set +e
# The run's own bound is -t; timeout bounds Locust's start and stop as well.
timeout --kill-after=10 180 .venv/bin/locust -f load/locustfile.py --headless --only-summary \
  --host "$base" -u "$users" -r "$users" -t "$smoke_time" --stop-timeout 10 \
  --csv "$work/smoke" --loglevel WARNING
locust_status=$?
set -e
[ -f "$work/smoke_stats.csv" ] || fail "Locust wrote no statistics (exit $locust_status)"
python3 load/report.py table "$work/smoke" --check || fail "requests failed under load (table above)"
# Locust's own verdict too (it exits 1 when a request failed, other codes when it broke).
[ "$locust_status" = 0 ] || fail "Locust exited $locust_status"
echo "load smoke: no failed request, no 5xx"
