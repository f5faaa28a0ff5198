#!/usr/bin/env bash
# Installs what the tests drive for real into the project's own virtual environment, .venv/
# (a system Python refuses `pip install` on Debian 12 and Homebrew: "externally-managed-
# environment"): the Python Cassandra driver and cqlsh (client compatibility of the CQL
# node), cargo-lambda (end-to-end through `cargo lambda watch`), cfn-lint and the SAM CLI
# (template checks; the SAM CLI brings samtranslator), Locust (the load test, scripts/load.sh,
# and its CI smoke run), Schemathesis (fuzzing the local API from openapi.yaml,
# scripts/checks/schemathesis.sh). Idempotent: skips what is there.
# Callers put .venv/bin first on PATH (scripts/test.sh, scripts/run-local.sh).
# `--only PACKAGE...`: just those (run-local.sh needs only cargo-lambda).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
# pip refuses outright to install anywhere but a virtual environment, here as on a
# Debian 12 or Homebrew Python: what works here works there.
export PIP_REQUIRE_VIRTUALENV=true

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || {
    echo "cannot create $venv: install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi
py="$venv/bin/python"

# package -> how to tell it is installed in the venv
present() {
  case "$1" in
    cassandra-driver) "$py" -c 'import cassandra' 2>/dev/null ;;
    # AWS's SigV4 plugin for that driver: the Keyspaces profile must accept exactly what it sends.
    cassandra-sigv4) "$py" -c 'import cassandra_sigv4' 2>/dev/null ;;
    cqlsh) [ -x "$venv/bin/cqlsh" ] ;;
    cargo-lambda) [ -x "$venv/bin/cargo-lambda" ] ;;
    cfn-lint) [ -x "$venv/bin/cfn-lint" ] ;;
    aws-sam-cli) [ -x "$venv/bin/sam" ] && "$py" -c 'import samtranslator' 2>/dev/null ;;
    locust) [ -x "$venv/bin/locust" ] ;;
    schemathesis) [ -x "$venv/bin/schemathesis" ] ;;
    *) echo "unknown package $1" >&2; exit 2 ;;
  esac
}
# package -> what pip is asked for
requirement() {
  case "$1" in
    # The load test reads Locust's CSV stats by column name: another major version may rename them.
    locust) echo 'locust>=2.20,<3' ;;
    # The check passes options of the 4.x CLI (--checks, --max-examples, --phases...).
    schemathesis) echo 'schemathesis>=4,<5' ;;
    *) echo "$1" ;;
  esac
}

wanted=(cassandra-driver cassandra-sigv4 cqlsh cargo-lambda cfn-lint aws-sam-cli locust schemathesis)
if [ "${1:-}" = "--only" ]; then
  shift
  wanted=("$@")
fi
need=()
for package in "${wanted[@]}"; do
  present "$package" || need+=("$(requirement "$package")")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing into $venv: ${need[*]}"
  "$py" -m pip install --quiet --disable-pip-version-check "${need[@]}"
fi
