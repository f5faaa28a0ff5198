#!/usr/bin/env bash
# `make bench-memory`: how much memory the CQL node needs per product, and how long a node with
# a data directory takes to come back after kill -9. A benchmark that prints figures, not a
# test: it asserts nothing. Builds the node and store-seed in profile `node` (as `make run` and
# `make seed` do), then, on a free port:
#   1. a node in memory: store-seed --count N, then the node's VmRSS and bytes per product;
#   2. a node with a fresh data directory: the same, plus the directory's size;
#   3. kill -9 of that node, restart on the same directory: seconds until it listens again,
#      VmRSS after recovery, and a count of one table read back (all N products there).
# Knobs: BENCH_COUNT (products, default 1,000,000; 100,000 is a quick run), BENCH_DIR (where
# the data directory goes, default a fresh temporary directory, removed at the end),
# BENCH_NODE_BIN (a node binary to measure instead of building this tree's: a baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_COUNT:-1000000}
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "bench-memory: BENCH_COUNT must be a positive integer, got '$N'" >&2; exit 1; }
TARGET_DIR=${CARGO_TARGET_DIR:-target}

node_bin=${BENCH_NODE_BIN:-$TARGET_DIR/node/cql-node}
[ -n "${BENCH_NODE_BIN:-}" ] || cargo build --quiet --profile node -p cql-node
cargo build --quiet --profile node -p store-seed -p store-schema
seed_bin="$TARGET_DIR/node/store-seed"
schema_bin="$TARGET_DIR/node/store-schema"

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/bench-memory.XXXXXX")
node_pid=""
stop_node() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill "$node_pid"
    wait "$node_pid" 2>/dev/null || true
  fi
  node_pid=""
}
trap 'stop_node; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$node_pid/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.0f MB", kb / 1024 }'; }
per_product() { awk -v kb="$1" -v base="$2" -v n="$N" 'BEGIN { printf "%.0f bytes/product", (kb - base) * 1024 / n }'; }

# Starts the node (extra arguments: --data-dir DIR) and waits until it listens; the seconds
# that took go in $started_secs (not printed: a subshell would lose $node_pid).
started_secs=""
start_node() {
  local t0
  t0=$(now)
  "$node_bin" --bind 127.0.0.1 --port "$port" "$@" >"$work/node.log" 2>&1 &
  node_pid=$!
  until listening; do
    kill -0 "$node_pid" 2>/dev/null || { echo "bench-memory: the node exited; see its log:" >&2; cat "$work/node.log" >&2; exit 1; }
    sleep 0.05
  done
  started_secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
}

export STORE_DOTENV=off STORE_CONTACT_POINTS="127.0.0.1:$port"
seed() {
  "$schema_bin" --wait-secs 30 >/dev/null 2>"$work/schema.log" || { cat "$work/schema.log" >&2; exit 1; }
  local before t0 out
  before=$(rss_kb)
  t0=$(now)
  "$seed_bin" --count "$N" --quiet 2>"$work/seed.log" || { cat "$work/seed.log" >&2; exit 1; }
  out=$(awk -v a="$t0" -v b="$(now)" -v n="$N" 'BEGIN { printf "%.0f products/s (%.0f s)", n / (b - a), b - a }')
  local after
  after=$(rss_kb)
  echo "  seeded $N products: $out"
  echo "  VmRSS: $(mb "$before") with the schema, $(mb "$after") after the load: $(per_product "$after" "$before")"
}

echo "CQL node memory, $N products (store-seed), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "in memory:"
start_node
seed
stop_node

echo "with a data directory:"
mkdir -p "$work/data"
start_node --data-dir "$work/data"
seed
echo "  on disk: $(du -sh "$work/data" | cut -f1)"
kill -9 "$node_pid"
wait "$node_pid" 2>/dev/null || true
node_pid=""
start_node --data-dir "$work/data"
echo "after kill -9: listening again in $started_secs s, VmRSS $(mb "$(rss_kb)") after recovery"
echo "  peak VmHWM during recovery: $(mb "$(awk '/^VmHWM:/ {print $2}' "/proc/$node_pid/status")")"
