#!/usr/bin/env bash
# `make load` / `make load-step`: Locust (load/locustfile.py), headless and bounded in time,
# against an API that already runs: `make run` in another terminal, or any base URL.
#
#   scripts/load.sh          LOAD_USERS users (100) for LOAD_TIME (60s), LOAD_SPAWN_RATE (10) a second
#   scripts/load.sh step     users raised in steps until the error rate passes 1% or p99 passes
#                            1 s (load/step.py, its LOAD_STEP_* knobs), bounded by
#                            LOAD_STEP_MAX_USERS and LOAD_STEP_MAX_TIME
#
# LOAD_HOST (http://127.0.0.1:9000) is the API's base URL. Writes Locust's HTML report (with its
# charts) and CSVs under LOAD_OUT (target/load/), then prints per route requests/s, p50/p95/p99
# and error rate (load/report.py), and for a step run the breaking point.
# Creates add products to the API's store (SKUs LOAD-...): run it against a development stack.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-fixed}
case "$mode" in fixed | step) ;; *) echo "usage: scripts/load.sh [step]" >&2; exit 2 ;; esac

host=${LOAD_HOST:-http://127.0.0.1:9000}
users=${LOAD_USERS:-100}
spawn_rate=${LOAD_SPAWN_RATE:-10}
run_time=${LOAD_TIME:-60s}
out=${LOAD_OUT:-target/load}

bash scripts/install-test-deps.sh --only locust
locust=.venv/bin/locust

# A clear message rather than a minute of connection errors when nothing answers. Bounded.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$host/products?limit=1" || true)
[ "$status" = "000" ] && status=""
if [ "$status" != "200" ]; then
  echo "load: $host/products answered ${status:-nothing} (expected 200): start the API first (make run), or set LOAD_HOST" >&2
  exit 1
fi

mkdir -p "$out"
if [ "$mode" = fixed ]; then
  prefix="$out/load"
  echo "load: $users users (spawn rate $spawn_rate/s) for $run_time against $host"
  # The hard bound on the whole run: Locust's run time plus its start and stop.
  seconds=$(python3 -c 'import re,sys; m=re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", sys.argv[1]); h,mi,s=(int(x or 0) for x in m.groups()); print(h*3600+mi*60+s)' "$run_time")
  set +e
  timeout --kill-after=10 $((seconds + 60)) "$locust" -f load/locustfile.py --headless --only-summary \
    --host "$host" -u "$users" -r "$spawn_rate" -t "$run_time" --stop-timeout 10 \
    --csv "$prefix" --html "$prefix.html" --loglevel WARNING
  locust_status=$?
  set -e
else
  prefix="$out/step"
  max_time=${LOAD_STEP_MAX_TIME:-600}
  echo "load-step: from ${LOAD_STEP_START:-25} users, +${LOAD_STEP_USERS:-25} every ${LOAD_STEP_TIME:-20} s, up to ${LOAD_STEP_MAX_USERS:-500} users or $max_time s, against $host"
  rm -f "$prefix.json"
  set +e
  LOAD_STEP_RESULT="$prefix.json" timeout --kill-after=10 $((${max_time%.*} + 60)) \
    "$locust" -f load/step.py --headless --only-summary --host "$host" --stop-timeout 10 \
    --csv "$prefix" --html "$prefix.html" --loglevel WARNING
  locust_status=$?
  set -e
fi

# Locust exits 1 when any request failed: the figures are still what the run is for.
if [ ! -f "${prefix}_stats.csv" ]; then
  echo "load: Locust wrote no statistics (exit $locust_status)" >&2
  exit 1
fi
echo
python3 load/report.py table "$prefix"
if [ "$mode" = step ]; then
  echo
  [ -f "$prefix.json" ] || { echo "load-step: no step result (exit $locust_status)" >&2; exit 1; }
  python3 load/report.py step "$prefix.json"
fi
echo
echo "report: $prefix.html (charts), CSVs: ${prefix}_*.csv"
