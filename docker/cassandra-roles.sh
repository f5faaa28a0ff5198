#!/usr/bin/env bash
# One-shot, after the schema job, and safe to rerun: converges on the configured state.
# 1. Replicates the role tables to all three nodes (system_auth keeps one copy by default, so
#    losing that node would lock everyone out) and then repairs them, as Cassandra asks after
#    raising system_auth's replication: until repaired, the existing rows (the bootstrap
#    superuser's, read at QUORUM at login) are on one node only, and reads miss them.
# 2. Creates the API's role, or on rerun sets its password and LOGIN again, with SELECT and
#    MODIFY on the store keyspace and nothing else.
# Runs as the bootstrap superuser. Values are never pasted into CQL as they come: the role
# name and password are CQL string literals (quotes doubled, case kept), the keyspace a quoted
# identifier; all statements run in one cqlsh session whose errors fail the job.
set -euo pipefail
: "${CASSANDRA_ADMIN_USER:?}" "${CASSANDRA_ADMIN_PASSWORD:?}" "${CASSANDRA_JMX_PASSWORD:?}"
: "${STORE_USERNAME:?}" "${STORE_PASSWORD:?}" "${STORE_KEYSPACE:?}"
host=${CASSANDRA_HOST:-cassandra-1}
dc=${CASSANDRA_DC:-dc1}
nodes=${CASSANDRA_NODES:-cassandra-1 cassandra-2 cassandra-3}
replicas=$(wc -w <<<"$nodes")

literal() { printf "'%s'" "${1//\'/\'\'}"; }
identifier() { printf '"%s"' "${1//\"/\"\"}"; }

# The store creates its keyspace unquoted (store-schema), which Cassandra lower-cases: the
# same rule as store-schema's, and the same lower-cased name here.
if ! [[ $STORE_KEYSPACE =~ ^[A-Za-z][A-Za-z0-9_]{0,47}$ ]]; then
  echo "STORE_KEYSPACE: not a keyspace name (letter, then letters, digits, _; at most 48)" >&2
  exit 2
fi
for value in "$dc" "$STORE_USERNAME" "$STORE_PASSWORD"; do
  if [[ $value == *[[:cntrl:]]* ]]; then
    echo "CASSANDRA_DC, STORE_USERNAME and STORE_PASSWORD must not contain control characters" >&2
    exit 2
  fi
done
keyspace=$(identifier "$(tr '[:upper:]' '[:lower:]' <<<"$STORE_KEYSPACE")")
role=$(literal "$STORE_USERNAME")
password=$(literal "$STORE_PASSWORD")

statements=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$statements" "$errors"' EXIT
cat >"$statements" <<CQL
ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', $(literal "$dc"): $replicas};
CREATE ROLE IF NOT EXISTS $role WITH LOGIN = true AND PASSWORD = $password;
ALTER ROLE $role WITH LOGIN = true AND PASSWORD = $password;
GRANT SELECT ON KEYSPACE $keyspace TO $role;
GRANT MODIFY ON KEYSPACE $keyspace TO $role;
CQL
# cqlsh may exit 0 after a failed statement: anything on stderr fails the job.
if ! cqlsh "$host" -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -f "$statements" 2>"$errors" || [ -s "$errors" ]; then
  cat "$errors" >&2
  echo "roles: CQL failed (above); nothing was reported as done" >&2
  exit 1
fi

# The repair, node by node, over JMX (nodes run with remote JMX and a password file, see
# docker/cassandra-auth.sh). Full, so every row is compared, not only unrepaired data.
jmx_file=$(mktemp)
trap 'rm -f "$statements" "$errors" "$jmx_file"' EXIT
printf '%s %s\n' "${CASSANDRA_JMX_USER:-controlRole}" "$CASSANDRA_JMX_PASSWORD" >"$jmx_file"
chmod 600 "$jmx_file"
for node in $nodes; do
  echo "repairing system_auth on $node"
  nodetool -h "$node" -u "${CASSANDRA_JMX_USER:-controlRole}" -pwf "$jmx_file" repair --full system_auth
done
echo "role $STORE_USERNAME can read and write keyspace $STORE_KEYSPACE; system_auth on $replicas nodes, repaired"
