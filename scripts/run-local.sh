#!/usr/bin/env bash
# `make run`: the whole API locally, no Docker. Starts the CQL node (a test double; data kept
# in .data/cql), applies the schema (store-schema, idempotent), then `cargo lambda watch` with
# the routes of Cargo.toml, on http://127.0.0.1:${API_PORT:-9000}.
#
# Against a real Cassandra: set STORE_CONTACT_POINTS (and STORE_USERNAME/STORE_PASSWORD, ...)
# in the environment or .env; the CQL node is then not started.
# Knobs: API_PORT (9000), CQL_NODE_PORT (9042), CQL_NODE_DATA_DIR (.data/cql).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then
  # Variables already in the environment win over .env, as they do for the functions (dotenvy).
  environment=$(export -p)
  set -a; . ./.env; set +a
  eval "$environment"
fi
API_PORT=${API_PORT:-9000}
CQL_NODE_PORT=${CQL_NODE_PORT:-9042}
DATA_DIR=${CQL_NODE_DATA_DIR:-.data/cql}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

if ! command -v cargo-lambda >/dev/null; then
  echo "installing cargo-lambda (pip)"
  python3 -m pip install --quiet --disable-pip-version-check cargo-lambda
  command -v pyenv >/dev/null && pyenv rehash || true
fi

# Build once up front, so the first request does not wait for a compile.
cargo build --quiet -p cql-node -p store-schema -p create-product -p list-products

node_pid=""
stop_node() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill "$node_pid"
    wait "$node_pid" 2>/dev/null || true
  fi
}
trap stop_node EXIT
trap 'exit 130' INT TERM

if [ -z "${STORE_CONTACT_POINTS:-}" ]; then
  mkdir -p "$DATA_DIR"
  "$TARGET_DIR/debug/cql-node" --bind 127.0.0.1 --port "$CQL_NODE_PORT" --data-dir "$DATA_DIR" &
  node_pid=$!
  export STORE_CONTACT_POINTS=127.0.0.1 STORE_PORT="$CQL_NODE_PORT"
  echo "CQL node (test double) on 127.0.0.1:$CQL_NODE_PORT, data in $DATA_DIR"
fi

# Waits (bounded) for the cluster to accept connections, then applies the schema.
"$TARGET_DIR/debug/store-schema" --wait-secs 60

echo "API on http://127.0.0.1:$API_PORT/products"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT"
