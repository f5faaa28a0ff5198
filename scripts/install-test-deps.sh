#!/usr/bin/env bash
# Installs what the tests drive for real: the Python Cassandra driver and cqlsh (client
# compatibility of the CQL node), cargo-lambda (end-to-end through `cargo lambda watch`),
# cfn-lint and the SAM CLI (template checks). Idempotent: skips what is already there.
set -euo pipefail
need=()
python3 -c 'import cassandra' 2>/dev/null || need+=(cassandra-driver)
# AWS's SigV4 plugin for that driver: the Keyspaces profile must accept exactly what it sends.
python3 -c 'import cassandra_sigv4' 2>/dev/null || need+=(cassandra-sigv4)
command -v cqlsh >/dev/null || need+=(cqlsh)
command -v cargo-lambda >/dev/null || need+=(cargo-lambda)
command -v cfn-lint >/dev/null || need+=(cfn-lint)
command -v sam >/dev/null || need+=(aws-sam-cli)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${need[@]}"
  # pyenv-managed Pythons expose new console scripts only after a rehash.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
