#!/usr/bin/env bash
# The metrics, end to end with a real Prometheus: starts the API as `make run` does (two
# processes per function, free ports, a temporary data directory) and Prometheus with the
# repo's observability/prometheus.yml (copied beside its own targets directory), sends a
# known number of requests of each route and status, and asserts through Prometheus's HTTP
# query API that what it scraped from every process adds up to exactly what was sent.
# Bounded in time; waits by polling.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v prometheus >/dev/null || { echo "prometheus check: no prometheus binary (.ci/run installs Debian's package)" >&2; exit 1; }

. scripts/checks/lib/local_api.sh
work=$(mktemp -d)
mkdir -p "$work/prom/targets"
cp observability/prometheus.yml "$work/prom/prometheus.yml"
start_local_api API_CONCURRENCY=2 STORE_METRICS_TARGETS_DIR="$work/prom/targets"
PROM_PORT=$(free_port)
prometheus --config.file="$work/prom/prometheus.yml" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --storage.tsdb.path="$work/prom/data" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
cleanup() {
  kill "$prom_pid" 2>/dev/null || true
  wait "$prom_pid" 2>/dev/null || true
  stop_local_api
}
trap cleanup EXIT
fail() {
  echo "prometheus check: $*"
  echo "--- run-local log (tail)"; tail -n 20 "$log"
  echo "--- prometheus log (tail)"; tail -n 10 "$work/prometheus.log"
  exit 1
}

base="http://127.0.0.1:$API_PORT"
body="$work/body"
expected="$work/expected"
: >"$expected"
# Sends one request; when the function answered it (JSON or problem+json, not the local
# router's own error), notes its route and status as a request Prometheus must count.
send() { # route method path [curl args...]
  local route=$1 method=$2 path=$3; shift 3
  local out
  out=$(curl -s -o "$body" -w '%{http_code} %{content_type}' --max-time 60 -X "$method" "$base$path" "$@" || echo "000 none")
  case "${out#* }" in
    application/json* | application/problem+json*) echo "$route ${out%% *}" >>"$expected" ;;
  esac
  echo "${out%% *}"
}

# Ready when the list answers 200 (the first call also starts its process). Bounded.
deadline=$((SECONDS + 600))
until [ "$(send "GET /products" GET /products)" = 200 ]; do
  kill -0 "$run_pid" 2>/dev/null || fail "run-local.sh exited early"
  [ $SECONDS -lt $deadline ] || fail "API not ready within 600 s"
  sleep 1
done

json='content-type: application/json'
for sku in PROM-1 PROM-2 PROM-3; do
  [ "$(send "POST /products" POST /products -H "$json" -d "{\"name\":\"n\",\"sku\":\"$sku\",\"price\":1}")" = 201 ] || fail "create $sku"
done
id=$(python3 -c "import json; print(json.load(open('$body'))['id'])")
for _ in 1 2; do
  [ "$(send "POST /products" POST /products -H "$json" -d '{"name":"n","sku":"PROM-1","price":1}')" = 409 ] || fail "duplicate"
done
for _ in 1 2; do
  [ "$(send "POST /products" POST /products -H "$json" -d '{"name":"n","sku":"PROM-X","price":1.001}')" = 422 ] || fail "invalid price"
done
[ "$(send "POST /products" POST /products -H 'content-type: text/plain' -d 'x')" = 415 ] || fail "text body"
for _ in 1 2; do
  [ "$(send "POST /products" POST /products -H "$json" -H 'Idempotency-Key: prom-key' -d '{"name":"n","sku":"PROM-K","price":2}')" = 201 ] || fail "keyed create"
done
for _ in 1 2 3; do [ "$(send "GET /products" GET '/products?limit=2')" = 200 ] || fail "list"; done
for _ in 1 2; do [ "$(send "GET /products" GET '/products?limit=0')" = 400 ] || fail "bad limit"; done
for _ in 1 2; do [ "$(send "GET /products/{id}" GET "/products/$id")" = 200 ] || fail "read by id"; done
[ "$(send "GET /products/{id}" GET /products/00000000-0000-4000-8000-000000000000)" = 404 ] || fail "unknown id"

# What Prometheus must end up with, as JSON: {"route status": count}.
want=$(python3 -c "
import collections, json, sys
print(json.dumps(collections.Counter(l.strip() for l in open('$expected') if l.strip())))")
query() { curl -s --max-time 10 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
# Scraped every 5 s: poll (bounded) until the sums settle on the expected values.
deadline=$((SECONDS + 90))
while :; do
  got=$(query 'sum by (route, status) (http_requests_total{job="store-api"})' | python3 -c "
import json, sys
try:
    result = json.load(sys.stdin)['data']['result']
except Exception:
    result = []
print(json.dumps({f\"{r['metric']['route']} {r['metric']['status']}\": int(float(r['value'][1])) for r in result}))")
  [ "$(python3 -c "import json,sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))" "$got" "$want")" = True ] && break
  [ $SECONDS -lt $deadline ] || fail "requests counted by Prometheus $got, sent $want"
  sleep 1
done
scalar() { query "$1" | python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; print(int(float(r[0]['value'][1])) if r else 0)"; }
# The other counters, from the same scrape and the same processes.
[ "$(scalar 'sum(sku_conflicts_total)')" = 2 ] || fail "sku_conflicts_total is $(scalar 'sum(sku_conflicts_total)'), 2 sent"
[ "$(scalar 'sum(idempotent_replays_total)')" = 1 ] || fail "idempotent_replays_total is $(scalar 'sum(idempotent_replays_total)'), 1 sent"
sent=$(wc -l <"$expected")
[ "$(scalar 'sum(http_request_duration_seconds_count)')" = "$sent" ] || fail "latency histogram counted $(scalar 'sum(http_request_duration_seconds_count)') of $sent requests"
processes=$(scalar 'count(up{job="store-api"} == 1)')
[ "$(scalar 'sum(cold_starts_total)')" = "$processes" ] || fail "cold_starts_total is not one per process ($processes up)"
[ "$(scalar 'count(count by (function) (up{job="store-api"} == 1))')" = 2 ] || fail "both functions' processes should be scraped"
[ "$(scalar 'sum(db_connect_duration_seconds_count)')" -ge 2 ] || fail "no connect time recorded"
echo "prometheus check: $sent requests counted exactly by route and status across $processes processes; conflicts, replays, cold starts and latency counts agree"
