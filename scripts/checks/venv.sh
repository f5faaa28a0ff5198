#!/usr/bin/env bash
# The Python tools live in the project's .venv, never in a system Python (Debian 12 and
# Homebrew refuse that: "externally-managed-environment"): installing with pip forbidden
# outside a virtual environment works, every tool ends up in .venv/bin, and no script
# installs with a pip other than the venv's.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "venv check failed: $*" >&2; exit 1; }
PIP_REQUIRE_VIRTUALENV=true bash scripts/install-test-deps.sh || fail "install-test-deps.sh needs a pip outside .venv"
for tool in python3 cqlsh cfn-lint sam cargo-lambda locust schemathesis; do
  [ -x ".venv/bin/$tool" ] || fail "$tool is not in .venv/bin"
done
.venv/bin/python -c 'import cassandra, cassandra_sigv4, samtranslator' || fail "Python packages missing from .venv"
# Any pip install in the scripts goes through a virtual environment's interpreter: "$py" in
# install-test-deps.sh, /opt/tools in the compose image.
if grep -rnE '\bpip3? install' scripts/ docker/ Makefile \
  | grep -vE '^[^:]+:[0-9]+:\s*#' \
  | grep -vE '"\$py" -m pip install|/opt/tools/bin/pip install|^scripts/checks/venv\.sh:'; then
  fail "a script above installs with a pip outside a virtual environment"
fi
echo ".venv: every tool installed there, none elsewhere"
