#!/usr/bin/env bash
# docker/cassandra-roles.sh without a cluster (no Docker engine here): runs it with stand-ins
# for cqlsh and nodetool that record what they are given, and checks that values reach CQL
# only as escaped literals and quoted identifiers (a mixed-case role keeps its case, a quote
# in the password cannot end the literal), that a rerun applies the configured password
# (ALTER ROLE), that a failed statement fails the job even when cqlsh exits 0, and that
# system_auth is repaired on every node after its replication is raised.
set -euo pipefail
cd "$(dirname "$0")/../.."
script=$PWD/docker/cassandra-roles.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "roles check failed: $*" >&2; exit 1; }
mkdir "$work/bin"
# cqlsh stand-in: keeps the -f file's statements; FAIL_CQL makes it report an error on
# stderr and still exit 0, as cqlsh does with some statement errors.
cat >"$work/bin/cqlsh" <<'STUB'
#!/usr/bin/env bash
while [ $# -gt 0 ]; do
  case "$1" in -f) cat "$2" >>"$WORK/cql.log"; shift ;; esac
  shift
done
if [ -n "${FAIL_CQL:-}" ]; then echo "<stdin>:2:InvalidRequest: Error from server" >&2; fi
exit 0
STUB
cat >"$work/bin/nodetool" <<'STUB'
#!/usr/bin/env bash
echo "$*" >>"$WORK/nodetool.log"
STUB
chmod +x "$work/bin/cqlsh" "$work/bin/nodetool"

run() {
  env -i PATH="$work/bin:$PATH" WORK="$work" CASSANDRA_ADMIN_USER=cassandra CASSANDRA_ADMIN_PASSWORD=cassandra \
    CASSANDRA_JMX_PASSWORD=jmx CASSANDRA_NODES="cassandra-1 cassandra-2 cassandra-3" CASSANDRA_DC=dc1 \
    STORE_KEYSPACE=Store "$@" bash "$script"
}

run STORE_USERNAME=Store_API "STORE_PASSWORD=it's \"quoted\"; DROP KEYSPACE store" >"$work/out" 2>&1 || fail "job failed: $(cat "$work/out")"
cql=$(cat "$work/cql.log")
grep -qF "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};" <<<"$cql" || fail "system_auth not at RF 3: $cql"
grep -qF "CREATE ROLE IF NOT EXISTS 'Store_API' WITH LOGIN = true AND PASSWORD = 'it''s \"quoted\"; DROP KEYSPACE store';" <<<"$cql" \
  || fail "role or password not passed as literals: $cql"
grep -qF "ALTER ROLE 'Store_API' WITH LOGIN = true AND PASSWORD = 'it''s \"quoted\"; DROP KEYSPACE store';" <<<"$cql" \
  || fail "no ALTER ROLE: a rerun would keep the old password: $cql"
grep -qF "GRANT SELECT ON KEYSPACE \"store\" TO 'Store_API';" <<<"$cql" || fail "keyspace not quoted (lower-cased as store-schema creates it): $cql"
grep -qF "GRANT MODIFY ON KEYSPACE \"store\" TO 'Store_API';" <<<"$cql" || fail "no MODIFY grant: $cql"
[ "$(grep -c '' <<<"$cql")" = 5 ] || fail "expected the five statements in one session: $cql"
for node in cassandra-1 cassandra-2 cassandra-3; do
  grep -qE "^-h $node -u controlRole -pwf [^ ]+ repair --full system_auth$" "$work/nodetool.log" || fail "no full repair of system_auth on $node: $(cat "$work/nodetool.log")"
done
grep -q "jmx" "$work/nodetool.log" && fail "the JMX password was passed on nodetool's command line"

# A rerun with another password applies it.
: >"$work/cql.log"
run STORE_USERNAME=Store_API STORE_PASSWORD=new-one >"$work/out" 2>&1 || fail "rerun failed"
grep -qF "ALTER ROLE 'Store_API' WITH LOGIN = true AND PASSWORD = 'new-one';" "$work/cql.log" || fail "rerun did not set the new password"

# An error reported by cqlsh fails the job, and nothing claims success.
: >"$work/nodetool.log"
if run STORE_USERNAME=api STORE_PASSWORD=x FAIL_CQL=1 >"$work/out" 2>&1; then fail "a CQL error was reported as success"; fi
grep -q "can read and write" "$work/out" && fail "success announced after a CQL error"
[ ! -s "$work/nodetool.log" ] || fail "repaired after a CQL error"

# Values CQL cannot carry safely are refused before anything runs.
: >"$work/cql.log"
if run STORE_USERNAME=api "STORE_PASSWORD=$(printf 'a\nb')" >"$work/out" 2>&1; then fail "a password with a newline was accepted"; fi
if run STORE_USERNAME=api STORE_PASSWORD=x STORE_KEYSPACE='store"; --' >"$work/out" 2>&1; then fail "a bad keyspace name was accepted"; fi
[ ! -s "$work/cql.log" ] || fail "CQL ran with a refused value"
echo "docker/cassandra-roles.sh: escaped values, ALTER ROLE on rerun, errors fail, system_auth repaired"
