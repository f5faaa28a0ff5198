#!/usr/bin/env bash
# `make run`: the whole API locally, no Docker. Starts the CQL node (a test double; data kept
# in .data/cql), applies the schema (store-schema, idempotent), then `cargo lambda watch` with
# the routes of Cargo.toml, on http://127.0.0.1:${API_PORT:-9000}.
#
# Against a real Cassandra: set STORE_CONTACT_POINTS (and STORE_USERNAME/STORE_PASSWORD, ...)
# in the environment or .env; the CQL node is then not started, and the schema is applied as
# STORE_SCHEMA_USERNAME/STORE_SCHEMA_PASSWORD (default: CASSANDRA_ADMIN_USER/_PASSWORD, the
# compose cluster's superuser; else the API's own role, which may lack CREATE).
# Knobs: API_PORT (9000), CQL_NODE_PORT (9042), CQL_NODE_DATA_DIR (.data/cql),
# CQL_NODE_BUILD (node: the node built optimised; dev: the debug build),
# STORE_DOTENV=off (do not read .env: what the tests use), STORE_AUTH (off here: no identity
# provider runs locally; `STORE_AUTH=gateway make run` checks the authorizer's claims as
# deployed, which `cargo lambda invoke` can send, see events/), API_CONCURRENCY (4: function
# processes per function, each serving one request at a time as a Lambda instance does),
# STORE_METRICS (prometheus: each process serves /metrics and announces itself in
# STORE_METRICS_TARGETS_DIR, default observability/targets, for observability/prometheus.yml).
# Several nodes (the node-down drill by hand, docs/REPLICATION.md): CQL_NODE_NODES=3 runs three
# nodes on 127.0.0.1-3 (Linux loopback; macOS needs `ifconfig lo0 alias 127.0.0.2` and .3),
# with the schema at CQL_NODE_RF (3; try 1 and 2) and data in .data/cql-3n-rf3 (one per RF,
# as the keyspace keeps the factor it was created with), and the admin API on CQL_NODE_ADMIN
# (127.0.0.1:9100): `curl -X POST 127.0.0.1:9100/nodes/2/kill`, `/nodes/2/start`, `GET /nodes`.
# `--dry-run`: resolve the configuration and check the ports, print what would run, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=false
[ "${1:-}" = "--dry-run" ] && dry_run=true

case "${STORE_DOTENV:-on}" in
  off | 0 | false) env_file="" ;;
  *) env_file=.env ;;
esac
if [ -n "$env_file" ] && [ -f "$env_file" ]; then
  # Variables already in the environment win over .env, as they do for the functions (dotenvy).
  environment=$(export -p)
  set -a; . "./$env_file"; set +a
  eval "$environment"
  echo "read $env_file (variables already set win)"
fi
# Everything below sees the resolved configuration exported: the functions and store-schema
# must not read .env again on their own.
export STORE_DOTENV=off
# The one place that turns write authorization off; the deployed template never sets it.
export STORE_AUTH=${STORE_AUTH:-off}
export STORE_METRICS=${STORE_METRICS:-prometheus}
export STORE_METRICS_TARGETS_DIR=${STORE_METRICS_TARGETS_DIR:-$PWD/observability/targets}
API_CONCURRENCY=${API_CONCURRENCY:-4}
[[ "$API_CONCURRENCY" =~ ^[1-9][0-9]*$ ]] || { echo "make run: API_CONCURRENCY must be a positive integer, got '$API_CONCURRENCY'" >&2; exit 1; }
# Several processes serve each function: they must sign cursors with one key, or a cursor
# from one would be refused by the next. One random key per run unless you set yours.
if [ -z "${STORE_CURSOR_KEY:-}" ]; then
  STORE_CURSOR_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  export STORE_CURSOR_KEY
fi
API_PORT=${API_PORT:-9000}
CQL_NODE_PORT=${CQL_NODE_PORT:-9042}
CQL_NODE_NODES=${CQL_NODE_NODES:-1}
[[ "$CQL_NODE_NODES" =~ ^[1-9][0-9]*$ ]] || { echo "make run: CQL_NODE_NODES must be a positive integer, got '$CQL_NODE_NODES'" >&2; exit 1; }
CQL_NODE_RF=${CQL_NODE_RF:-3}
[[ "$CQL_NODE_RF" =~ ^[1-9][0-9]*$ ]] || { echo "make run: CQL_NODE_RF must be a positive integer, got '$CQL_NODE_RF'" >&2; exit 1; }
CQL_NODE_ADMIN=${CQL_NODE_ADMIN:-127.0.0.1:9100}
if [ "$CQL_NODE_NODES" -gt 1 ]; then
  DATA_DIR=${CQL_NODE_DATA_DIR:-.data/cql-${CQL_NODE_NODES}n-rf$CQL_NODE_RF}
else
  DATA_DIR=${CQL_NODE_DATA_DIR:-.data/cql}
fi
TARGET_DIR=${CARGO_TARGET_DIR:-target}

# Something already answering there: another `make run`, the compose cluster (it publishes
# 9042), a Cassandra of your own. Refuse rather than use it unknowingly.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
refuse_busy() { # port what variable
  if listening "$1"; then
    echo "make run: port $1 ($2) is already in use on 127.0.0.1; stop what listens there or set $3 to a free port" >&2
    exit 1
  fi
}
refuse_busy "$API_PORT" "the API" API_PORT

local_node=false
if [ -z "${STORE_CONTACT_POINTS:-}" ]; then
  local_node=true
  refuse_busy "$CQL_NODE_PORT" "the CQL node" CQL_NODE_PORT
  # The local node asks no password and has one data center: settings meant for another
  # cluster (a .env written for docker compose, say) do not apply to it.
  for v in STORE_USERNAME STORE_PASSWORD STORE_LOCAL_DC STORE_BACKEND STORE_REPLICATION; do
    if [ -n "${!v:-}" ]; then echo "ignoring $v: the local CQL node does not use it"; fi
    unset "$v"
  done
  export STORE_CONTACT_POINTS=127.0.0.1 STORE_PORT="$CQL_NODE_PORT"
  if [ "$CQL_NODE_NODES" -gt 1 ]; then
    contact=127.0.0.1
    for i in $(seq 2 "$CQL_NODE_NODES"); do contact="$contact,127.0.0.$i"; done
    export STORE_CONTACT_POINTS=$contact STORE_REPLICATION="SimpleStrategy:$CQL_NODE_RF"
  fi
fi
node_args=()
if [ "$CQL_NODE_NODES" -gt 1 ]; then
  node_args=(--nodes "$CQL_NODE_NODES" --admin "$CQL_NODE_ADMIN")
fi

# The schema needs CREATE, which the API's least-privilege role does not have.
schema_user=${STORE_SCHEMA_USERNAME:-${CASSANDRA_ADMIN_USER:-}}
schema_password=${STORE_SCHEMA_PASSWORD:-${CASSANDRA_ADMIN_PASSWORD:-}}
schema_env=()
if ! $local_node && [ -n "$schema_user" ]; then
  schema_env=(STORE_USERNAME="$schema_user" STORE_PASSWORD="$schema_password")
  schema_as="as $schema_user"
elif $local_node; then
  schema_as="on the local CQL node"
else
  schema_as="with the API's own credentials"
fi

if $dry_run; then
  if $local_node; then
    echo "would start the CQL node on 127.0.0.1:$CQL_NODE_PORT ($CQL_NODE_NODES node(s)${node_args[*]:+, admin API on $CQL_NODE_ADMIN, replication SimpleStrategy:$CQL_NODE_RF}), data in $DATA_DIR"
  fi
  echo "would apply the schema to $STORE_CONTACT_POINTS (port ${STORE_PORT:-9042}) $schema_as"
  echo "would serve the API on http://127.0.0.1:$API_PORT with STORE_CONTACT_POINTS=$STORE_CONTACT_POINTS STORE_PORT=${STORE_PORT:-}, credentials: ${STORE_USERNAME:-none}, STORE_AUTH=$STORE_AUTH, $API_CONCURRENCY processes per function, metrics: $STORE_METRICS"
  exit 0
fi

# The project's own tools (scripts/install-test-deps.sh puts cargo-lambda there).
bash scripts/install-test-deps.sh --only cargo-lambda
export PATH="$PWD/.venv/bin:$PATH"

# Build up front what runs, so the first request does not wait for a compile: the node and
# the schema tool, then the functions exactly as `cargo lambda watch` builds them (one
# `cargo build --bin` per function, whose features differ from a combined -p build).
# The node is built optimised by default (profile `node`: a debug node serves about a fifth
# as fast, too slow for `make seed` or `make load`); the checks, which send little, keep the
# debug build they share with the tests (CQL_NODE_BUILD=dev).
# (Not CQL_NODE_PROFILE: the node itself reads that as its --profile, cassandra or keyspaces.)
NODE_PROFILE=${CQL_NODE_BUILD:-node}
case "$NODE_PROFILE" in
  dev) node_bin="$TARGET_DIR/debug/cql-node" ;;
  *) node_bin="$TARGET_DIR/$NODE_PROFILE/cql-node" ;;
esac
[ "$NODE_PROFILE" = dev ] || echo "building the CQL node (profile $NODE_PROFILE; the first time takes a few minutes)"
cargo build --quiet --profile "$NODE_PROFILE" -p cql-node
cargo build --quiet -p store-schema
for bin in create-product list-products; do
  cargo build --quiet --bin "$bin"
done

node_pid=""
stop_node() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill "$node_pid"
    wait "$node_pid" 2>/dev/null || true
  fi
}
trap stop_node EXIT
trap 'exit 130' INT TERM

if $local_node; then
  mkdir -p "$DATA_DIR"
  "$node_bin" --bind 127.0.0.1 --port "$CQL_NODE_PORT" --data-dir "$DATA_DIR" ${node_args[@]+"${node_args[@]}"} &
  node_pid=$!
  # Ours once it listens while still running (a node that cannot bind exits at once).
  deadline=$((SECONDS + 30))
  until listening "$CQL_NODE_PORT"; do
    kill -0 "$node_pid" 2>/dev/null || { echo "make run: the CQL node could not start on port $CQL_NODE_PORT" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "make run: the CQL node did not listen on port $CQL_NODE_PORT within 30 s" >&2; exit 1; }
    sleep 0.2
  done
  kill -0 "$node_pid" 2>/dev/null || { echo "make run: the CQL node exited; port $CQL_NODE_PORT belongs to another process" >&2; exit 1; }
  echo "CQL node (test double) on 127.0.0.1:$CQL_NODE_PORT, data in $DATA_DIR"
  [ "$CQL_NODE_NODES" -gt 1 ] && echo "$CQL_NODE_NODES nodes ($STORE_CONTACT_POINTS), replication $STORE_REPLICATION; node control on http://$CQL_NODE_ADMIN/nodes (docs/REPLICATION.md)"
fi

# Waits (bounded) for the cluster to accept connections, then applies the schema.
echo "applying the schema $schema_as"
env ${schema_env[@]+"${schema_env[@]}"} "$TARGET_DIR/debug/store-schema" --wait-secs 60

echo "API on http://127.0.0.1:$API_PORT/products (STORE_AUTH=$STORE_AUTH, $API_CONCURRENCY processes per function, metrics: $STORE_METRICS)"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" --concurrency "$API_CONCURRENCY"
