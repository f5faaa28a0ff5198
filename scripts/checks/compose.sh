#!/usr/bin/env bash
# docker-compose.yml cannot run here (no Docker engine): check its structure, and let
# `docker compose config` validate it too wherever the compose plugin is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 scripts/checks/compose_check.py
if docker compose version >/dev/null 2>&1; then
  CASSANDRA_API_PASSWORD=check CASSANDRA_JMX_PASSWORD=check GRAFANA_ADMIN_PASSWORD=check docker compose --env-file .env.example config --quiet
  echo "docker compose config: valid"
else
  echo "docker compose plugin not installed: structural check only"
fi
