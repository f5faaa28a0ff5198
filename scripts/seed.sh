#!/usr/bin/env bash
# `make seed`: one million fake products (SEED_COUNT) into the database `make run` serves,
# with store-seed (tools/seed): committed SKU claims, the products and newest-first rows,
# a progress bar. Interrupt it and run it again: it finishes the same catalogue.
#
# Run `make run` first (in another terminal). With STORE_CONTACT_POINTS set (your cluster,
# as for `make run`) it seeds there instead; STORE_BACKEND=keyspaces seeds Keyspaces, paced.
# Extra arguments go to store-seed (`make seed ARGS="--count 1000 --prefix DEMO"`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${STORE_CONTACT_POINTS:-}" ] && [ "${STORE_BACKEND:-}" != keyspaces ]; then
  export STORE_CONTACT_POINTS=127.0.0.1:${CQL_NODE_PORT:-9042}
  # The local node, not whatever .env points at.
  export STORE_DOTENV=off
  if ! (exec 3<>"/dev/tcp/127.0.0.1/${CQL_NODE_PORT:-9042}") 2>/dev/null; then
    echo "make seed: nothing listens on 127.0.0.1:${CQL_NODE_PORT:-9042}; start \`make run\` first" >&2
    exit 1
  fi
fi
# Optimised as `make run` builds the node (profile node: release without LTO).
cargo build --quiet --profile node -p store-seed
# shellcheck disable=SC2086 # ARGS is meant to split into arguments
exec "${CARGO_TARGET_DIR:-target}/node/store-seed" --count "${SEED_COUNT:-1000000}" ${ARGS:-} "$@"
