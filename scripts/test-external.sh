#!/usr/bin/env bash
# The API's integration tests (tests/api) and the end-to-end check (scripts/checks/e2e-local.sh)
# against an external cluster instead of the CQL node: Cassandra, ScyllaDB, the compose
# cluster (README, "Against the compose cluster"). Configure it with the STORE_* variables the
# functions read, spelt STORE_TEST_*: STORE_TEST_CONTACT_POINTS (required), STORE_TEST_PORT,
# STORE_TEST_USERNAME/STORE_TEST_PASSWORD, STORE_TEST_REPLICATION, STORE_TEST_LOCAL_DC,
# STORE_TEST_ADDRESS_TRANSLATION..., STORE_TEST_KEYSPACE (prefix of the fresh keyspace each
# test creates; default store_test), STORE_TEST_SCHEMA_USERNAME/_PASSWORD (the e2e check's
# schema role). Tests that need the CQL node (fault injection, its clock, stopping nodes) are
# skipped, each saying why; the list is printed at the end. Extra arguments go to cargo test
# (e.g. a test name). TEST_THREADS (4) bounds how many tests create keyspaces at once.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${STORE_TEST_CONTACT_POINTS:-}" ] || { echo "set STORE_TEST_CONTACT_POINTS (and the other STORE_TEST_* your cluster needs)" >&2; exit 2; }
export STORE_DOTENV=off
skipped=$(mktemp)
trap 'rm -f "$skipped"' EXIT
status=0
STORE_TEST_SKIPPED_FILE="$skipped" cargo test -p store-tests --test api "$@" -- --test-threads "${TEST_THREADS:-4}" || status=$?
if [ $# -eq 0 ]; then
  bash scripts/checks/e2e-local.sh || status=$?
fi
echo
echo "skipped against ${STORE_TEST_CONTACT_POINTS} (they need the CQL node): $(wc -l <"$skipped")"
sort "$skipped"
exit $status
