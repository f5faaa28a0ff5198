#!/usr/bin/env bash
# One-shot, idempotent, after the schema job: replicate the role tables to all three nodes
# (system_auth keeps one copy by default, so losing that node would lock everyone out), then
# create the API's own role, allowed to read and write the store keyspace and nothing else.
# Runs as the bootstrap superuser.
set -euo pipefail
: "${CASSANDRA_ADMIN_USER:?}" "${CASSANDRA_ADMIN_PASSWORD:?}" "${STORE_USERNAME:?}" "${STORE_PASSWORD:?}" "${STORE_KEYSPACE:?}"
host=${CASSANDRA_HOST:-cassandra-1}
dc=${CASSANDRA_DC:-dc1}
cql() { cqlsh "$host" -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -e "$1"; }
cql "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', '$dc': 3}"
cql "CREATE ROLE IF NOT EXISTS $STORE_USERNAME WITH LOGIN = true AND PASSWORD = '$STORE_PASSWORD'"
cql "GRANT SELECT ON KEYSPACE $STORE_KEYSPACE TO $STORE_USERNAME"
cql "GRANT MODIFY ON KEYSPACE $STORE_KEYSPACE TO $STORE_USERNAME"
echo "role $STORE_USERNAME can read and write keyspace $STORE_KEYSPACE"
