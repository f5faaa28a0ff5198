#!/usr/bin/env bash
# Starts Cassandra with password authentication and role-based authorization switched on
# (the image's cassandra.yaml allows everyone by default), then hands over to the image's
# own entrypoint.
set -euo pipefail
conf=/etc/cassandra/cassandra.yaml
sed -i -E 's/^authenticator:.*/authenticator: PasswordAuthenticator/; s/^authorizer:.*/authorizer: CassandraAuthorizer/' "$conf"
grep -q '^authenticator: PasswordAuthenticator' "$conf"
grep -q '^authorizer: CassandraAuthorizer' "$conf"
exec docker-entrypoint.sh cassandra -f
