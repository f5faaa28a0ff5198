#!/usr/bin/env bash
# Starts Cassandra with password authentication and role-based authorization switched on
# (the image's cassandra.yaml allows everyone by default), and JMX reachable from the compose
# network for nodetool (the roles job repairs system_auth), behind a password file; then
# hands over to the image's own entrypoint.
set -euo pipefail
conf=/etc/cassandra/cassandra.yaml
sed -i -E 's/^authenticator:.*/authenticator: PasswordAuthenticator/; s/^authorizer:.*/authorizer: CassandraAuthorizer/' "$conf"
grep -q '^authenticator: PasswordAuthenticator' "$conf"
grep -q '^authorizer: CassandraAuthorizer' "$conf"
# LOCAL_JMX=no makes cassandra-env.sh listen for remote JMX with authentication against
# /etc/cassandra/jmxremote.password; controlRole is read-write in the JDK's default access file.
if [ "${LOCAL_JMX:-yes}" = no ]; then
  : "${CASSANDRA_JMX_PASSWORD:?set CASSANDRA_JMX_PASSWORD (docker-compose.yml)}"
  if [[ $CASSANDRA_JMX_PASSWORD == *[[:space:]]* ]]; then
    echo "CASSANDRA_JMX_PASSWORD must not contain whitespace (JMX password file format)" >&2
    exit 2
  fi
  printf 'controlRole %s\n' "$CASSANDRA_JMX_PASSWORD" >/etc/cassandra/jmxremote.password
  chown cassandra:cassandra /etc/cassandra/jmxremote.password
  chmod 400 /etc/cassandra/jmxremote.password
fi
exec docker-entrypoint.sh cassandra -f
