# Sourced by the checks that drive a local run of the API (e2e-local.sh, prometheus.sh...):
# starts it with the same script as `make run`, on free ports, with a temporary data
# directory, and stops the whole tree again.
#
# Only what the check chose reaches it: no STORE_*/KEYSPACES_* from the caller's environment
# and no .env (STORE_DOTENV=off, for run-local.sh and the functions alike), so a check never
# writes to a developer's cluster. Its own process group, so everything it started (node,
# cargo lambda, function processes) stops together.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_local_api [VAR=value...]: sets API_PORT, CQL_NODE_PORT, work (kept if already set),
# log and run_pid; the arguments are extra settings for run-local.sh.
start_local_api() {
  API_PORT=$(free_port)
  CQL_NODE_PORT=$(free_port)
  work=${work:-$(mktemp -d)}
  log="$work/run-local.log"
  local unset_args=() v
  for v in $(compgen -e); do
    case "$v" in STORE_* | KEYSPACES_*) unset_args+=(-u "$v") ;; esac
  done
  env ${unset_args[@]+"${unset_args[@]}"} STORE_DOTENV=off API_PORT="$API_PORT" CQL_NODE_PORT="$CQL_NODE_PORT" \
    CQL_NODE_DATA_DIR="$work/data" CQL_NODE_BUILD=${CQL_NODE_BUILD:-dev} "$@" setsid bash scripts/run-local.sh >"$log" 2>&1 &
  run_pid=$!
}

# external_target [NAME]: against an external cluster (STORE_TEST_CONTACT_POINTS set, as for
# the Rust tests: tests/support/target.rs) sets external_settings to the STORE_* settings for
# start_local_api, with a fresh keyspace (<STORE_TEST_KEYSPACE or store_test>_NAME_<time>) so
# runs never see each other's products; the schema is applied as STORE_TEST_SCHEMA_USERNAME
# (else the test user). Without it, external_settings stays empty: the local CQL node.
external_settings=()
external_target() {
  [ -n "${STORE_TEST_CONTACT_POINTS:-}" ] || return 0
  local v name
  for v in PORT USERNAME PASSWORD LOCAL_DC REPLICATION CONSISTENCY ADDRESS_TRANSLATION SCHEMA_USERNAME SCHEMA_PASSWORD; do
    name="STORE_TEST_$v"
    [ -n "${!name:-}" ] && external_settings+=("STORE_$v=${!name}")
  done
  external_settings+=("STORE_CONTACT_POINTS=$STORE_TEST_CONTACT_POINTS" "STORE_KEYSPACE=${STORE_TEST_KEYSPACE:-store_test}_${1:-check}_$(date +%s)")
  echo "against the external cluster $STORE_TEST_CONTACT_POINTS, keyspace ${external_settings[-1]#STORE_KEYSPACE=}"
}

stop_local_api() {
  kill -- "-$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
  rm -rf "$work"
}

# wait_until_listed URL: polls (bounded, 600 s) until the list route answers 200; the first
# call also starts its function process.
wait_until_listed() {
  local deadline=$((SECONDS + 600))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$1" || true)" = "200" ]; do
    kill -0 "$run_pid" 2>/dev/null || fail "run-local.sh exited early"
    [ $SECONDS -lt $deadline ] || fail "API not ready within 600 s"
    sleep 1
  done
}
