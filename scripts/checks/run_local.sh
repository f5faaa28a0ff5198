#!/usr/bin/env bash
# What `make run` does with a developer's environment, without starting anything
# (scripts/run-local.sh --dry-run, from a scratch copy with its own .env):
# - following .env.example (copy it, fill the password it asks for) still gives a
#   configuration the functions accept, and the local node;
# - STORE_DOTENV=off (what the tests use) reads no .env at all, so no test reaches the
#   cluster a developer's .env points at;
# - credentials meant for another cluster are not sent to the local node;
# - against a cluster of yours, the schema is applied by the admin role, not the API's;
# - a port something already listens on is refused, saying which.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d)
listener_pid=""
cleanup() {
  [ -z "$listener_pid" ] || kill "$listener_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/scripts"
cp scripts/run-local.sh "$work/scripts/"
fail() { echo "run_local check failed: $*" >&2; exit 1; }
# Runs the dry run with exactly the variables given (a clean environment otherwise).
dry() { env -i PATH="$PATH" HOME="$HOME" "$@" bash "$work/scripts/run-local.sh" --dry-run 2>&1; }
expect() { # output pattern what
  grep -qF -- "$2" <<<"$1" || fail "$3: expected '$2' in:"$'\n'"$1"
}
refute() {
  ! grep -qF -- "$2" <<<"$1" || fail "$3: did not expect '$2' in:"$'\n'"$1"
}

# 1. The Docker guide's steps: copy .env.example, set the password it asks for.
sed 's/^CASSANDRA_API_PASSWORD=$/CASSANDRA_API_PASSWORD=s3cret/' .env.example >"$work/.env"
grep -q '^CASSANDRA_API_PASSWORD=s3cret$' "$work/.env" || fail ".env.example has no CASSANDRA_API_PASSWORD= line to fill"
out=$(dry)
expect "$out" "would start the CQL node on 127.0.0.1:9042" ".env.example: local node"
expect "$out" "STORE_CONTACT_POINTS=127.0.0.1 STORE_PORT=9042, credentials: none" ".env.example: no credentials for the local node"
# Writes need no token locally, said out loud; the deployed mode stays one variable away.
expect "$out" "STORE_AUTH=off" "make run turns write authorization off"
expect "$(dry STORE_AUTH=gateway)" "STORE_AUTH=gateway" "STORE_AUTH=gateway make run keeps the deployed check"
# The functions and store-schema read the same file through dotenvy: it must be valid for them.
(cd "$work" && env -i PATH="$PATH" HOME="$HOME" "$root/${CARGO_TARGET_DIR:-target}/debug/store-schema" --print >/dev/null) \
  || fail "store-schema refuses the configuration .env.example gives"

# The binaries honour the same switch (store-schema here; the functions share its helper).
printf 'STORE_KEYSPACE=from_dotenv\n' >"$work/.env"
schema_bin="$root/${CARGO_TARGET_DIR:-target}/debug/store-schema"
printed=$(cd "$work" && env -i PATH="$PATH" "$schema_bin" --print)
expect "$printed" "from_dotenv.products" "store-schema reads .env"
printed=$(cd "$work" && env -i PATH="$PATH" STORE_DOTENV=off "$schema_bin" --print)
refute "$printed" "from_dotenv" "store-schema with STORE_DOTENV=off"

# 2. A developer's .env pointing at their own cluster, and a test asking for no .env.
cat >"$work/.env" <<'ENV'
STORE_CONTACT_POINTS=192.0.2.10
STORE_USERNAME=store_api
STORE_PASSWORD=api-secret
CASSANDRA_ADMIN_USER=admin
CASSANDRA_ADMIN_PASSWORD=admin-secret
ENV
out=$(dry STORE_DOTENV=off)
refute "$out" "192.0.2.10" "STORE_DOTENV=off still read .env"
expect "$out" "would start the CQL node" "STORE_DOTENV=off: local node"
out=$(dry)
expect "$out" "would apply the schema to 192.0.2.10 (port 9042) as admin" "own cluster: schema by the admin role"
refute "$out" "would start the CQL node" "own cluster: no local node"
out=$(dry STORE_SCHEMA_USERNAME=owner STORE_SCHEMA_PASSWORD=x)
expect "$out" "as owner" "STORE_SCHEMA_USERNAME chooses the schema role"
out=$(dry STORE_CONTACT_POINTS=192.0.2.99)
expect "$out" "would apply the schema to 192.0.2.99" "the environment wins over .env"

# 3. An old .env with credentials only: not sent to the local node (which would be refused
# as a password without a username, or meant for another cluster).
printf 'STORE_PASSWORD=only-a-password\n' >"$work/.env"
out=$(dry)
expect "$out" "ignoring STORE_PASSWORD" "credentials ignored for the local node"
expect "$out" "credentials: none" "no credentials for the local node"

# 4. Busy ports are refused, naming the port and the knob.
rm "$work/.env"
port_file="$work/port"
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(600)' "$port_file" &
listener_pid=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
busy=$(cat "$port_file")
if out=$(dry CQL_NODE_PORT="$busy"); then fail "a busy CQL node port was accepted: $out"; fi
expect "$out" "port $busy (the CQL node) is already in use" "busy CQL port"
expect "$out" "CQL_NODE_PORT" "busy CQL port names the knob"
if out=$(dry API_PORT="$busy"); then fail "a busy API port was accepted: $out"; fi
expect "$out" "port $busy (the API) is already in use" "busy API port"
out=$(dry STORE_CONTACT_POINTS=192.0.2.10 CQL_NODE_PORT="$busy")
expect "$out" "would apply the schema to 192.0.2.10" "no local node: its port does not matter"

# 5. The end-to-end check asks for no .env and passes on nothing of the caller's.
# The checks that drive a local run all start it through lib/local_api.sh, which turns .env off.
grep -q 'STORE_DOTENV=off' scripts/checks/lib/local_api.sh || fail "lib/local_api.sh does not turn .env off"
for check in scripts/checks/*.sh; do
  if grep -q 'run-local.sh' "$check" && [ "$check" != scripts/checks/run_local.sh ]; then
    grep -q 'lib/local_api.sh' "$check" || fail "$check starts run-local.sh without lib/local_api.sh (and its STORE_DOTENV=off)"
  fi
done
grep -q 'STORE_DOTENV=off' scripts/test.sh || fail "test.sh does not turn .env off"
echo "run-local.sh: .env.example, STORE_DOTENV=off, schema role and busy ports behave"
