#!/usr/bin/env bash
# After `sam deploy` (every time; it is idempotent): turns on row TTLs on the Keyspaces tables
# the store writes USING TTL, then verifies them. CloudFormation cannot do it: the only TTL
# property of AWS::Cassandra::Table, DefaultTimeToLive, enables TTL only above 0, and would
# then expire every row, committed SKU claims included. Until this has run, Keyspaces refuses
# the creates ("TTL is not yet supported.").
# Needs the AWS CLI and credentials allowed cassandra:Select and cassandra:Alter on the
# tables (the deployer's). Usage: scripts/post-deploy.sh [STACK] (default: samconfig.toml's).
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-$(sed -n 's/^stack_name = "\(.*\)"/\1/p' samconfig.toml)}
# The tables whose rows carry a TTL (scripts/checks/deploy_ttl.py keeps this list in step
# with the store's statements).
ttl_tables=(products_by_sku idempotency_keys)

keyspace=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='KeyspaceName'].OutputValue" --output text)
[ -n "$keyspace" ] && [ "$keyspace" != None ] || { echo "stack $stack has no KeyspaceName output" >&2; exit 1; }
export AWS_REGION=${AWS_REGION:-$(aws configure get region)}

# Enables TTL where missing (UpdateTable), then waits until every table is ACTIVE again.
STORE_DOTENV=off STORE_KEYSPACE="$keyspace" cargo run --quiet -p store-schema -- --target keyspaces

failed=0
for table in "${ttl_tables[@]}"; do
  status=$(aws keyspaces get-table --keyspace-name "$keyspace" --table-name "$table" --query 'ttl.status' --output text)
  echo "$keyspace.$table: TTL $status"
  [ "$status" = ENABLED ] || failed=1
done
[ $failed = 0 ] || { echo "TTL is not enabled on every table above: creates will fail" >&2; exit 1; }
echo "post-deploy: TTL enabled on ${ttl_tables[*]}"
