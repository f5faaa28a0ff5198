#!/usr/bin/env bash
# Every test, in one command (`make test`): the workspace's Rust tests (which also drive the
# Python driver and cqlsh against the CQL node), then each check in scripts/checks/ in order.
# The Python tools come from the project's .venv (scripts/install-test-deps.sh), first on PATH.
# Nothing here reads a developer's .env or talks to a cluster it did not start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
export PATH="$PWD/.venv/bin:$PATH"
export STORE_DOTENV=off
cargo test --workspace --all-targets
for check in scripts/checks/*.sh; do
  [ -e "$check" ] || continue
  echo "== $check"
  bash "$check"
done
echo "all tests passed"
