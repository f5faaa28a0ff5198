#!/usr/bin/env bash
# The deployment artefacts, everything short of AWS itself: the template lints clean
# (cfn-lint, sam validate --lint, and cfn-lint again on what the SAM transform makes of it,
# which is what CloudFormation evaluates), guards its routes, enables TTL itself, alarms on
# the API's errors and latency and on Keyspaces throttling (with a dashboard), declares
# the store's tables, `sam build` builds both
# functions (cargo lambda, arm64, release), and cargo lambda packages them as zips.
# Release builds for arm64 take minutes on a fresh clone; later runs reuse target/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SAM_CLI_TELEMETRY=0
# sam validate resolves the partition from a region; none is needed to reach AWS.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-west-1}

echo "-- cfn-lint"
cfn-lint template.yaml
echo "-- sam validate --lint"
sam validate --lint
echo "-- cfn-lint after the SAM transform"
transformed="$(mktemp -d)/template.json"
python3 scripts/checks/sam_transformed.py template.yaml "$transformed"
echo "-- least-privilege IAM and the cursor key"
python3 scripts/checks/template_iam.py "$transformed"
echo "-- who may call: JWT authorizer, write scope, throttling, CORS"
python3 scripts/checks/template_auth.py "$transformed"
echo "-- TTL: enabled by the stack on the tables written USING TTL"
python3 scripts/checks/deploy_ttl.py "$transformed"
python3 scripts/checks/ttl_custom_resource.py
echo "-- alarms and dashboard: API 5xx rate and p99, Keyspaces throttling and errors, real metrics"
python3 scripts/checks/template_alarms.py "$transformed"

echo "-- template tables = store schema"
# From a scratch directory, so a developer's .env cannot change the printed schema.
manifest="$PWD/Cargo.toml"
(cd "$(mktemp -d)" && cargo run --quiet --manifest-path "$manifest" -p store-schema -- --print) \
  | python3 scripts/checks/template_tables.py template.yaml

echo "-- the functions link no AWS credential chain (issue 11)"
# sam build selects the whole workspace, and Cargo unifies features over it: a tool's feature
# must not bring aws-config (its HTTPS client, a second TLS stack) into the Lambda zips.
if cargo tree --workspace --target aarch64-unknown-linux-gnu -e normal -i aws-config 2>/dev/null \
  | grep -E '(create-product|list-products) v'; then
  echo "aws-config reaches a Lambda function in the workspace build (cargo tree -i aws-config)" >&2
  exit 1
fi

echo "-- sam build"
# rust-cargolambda is a beta build method in the SAM CLI (also set in samconfig.toml).
sam build --beta-features --build-dir .aws-sam/build
for fn in CreateProductFunction ListProductsFunction; do
  test -x ".aws-sam/build/$fn/bootstrap" || { echo "sam build produced no bootstrap for $fn" >&2; exit 1; }
done

echo "-- cargo lambda build --release --arm64 --output-format zip"
# The same selection as sam build (--bin, whole-workspace features), so this reuses its work
# and the zips hold exactly what sam deploys.
cargo lambda build --release --arm64 --output-format zip --bin create-product --bin list-products
target=${CARGO_TARGET_DIR:-target}
for bin in create-product list-products; do
  zip="$target/lambda/$bin/bootstrap.zip"
  test -s "$zip" || { echo "no $zip" >&2; exit 1; }
  size=$(stat -c %s "$zip")
  echo "$bin: $size bytes zipped"
  # Issue 11: each arm64 zip at most 3 MB (README, "Cold start and size").
  test "$size" -le 3000000 || { echo "$zip is $size bytes, over the 3,000,000 allowed" >&2; exit 1; }
done
