#!/usr/bin/env bash
# End to end through `cargo lambda watch`: starts everything with the same script as `make run`
# (free ports, a temporary data directory), sends real HTTP requests with curl, checks status
# codes and bodies, and stops everything it started. Bounded in time; waits by polling.
# With STORE_TEST_CONTACT_POINTS (and the other STORE_TEST_* of the Rust tests) it runs against
# that cluster instead of a CQL node of its own, in a fresh keyspace.
set -euo pipefail
cd "$(dirname "$0")/../.."

. scripts/checks/lib/local_api.sh
external_target e2e
start_local_api ${external_settings[@]+"${external_settings[@]}"}
trap stop_local_api EXIT

base="http://127.0.0.1:$API_PORT/products"
fail() { echo "e2e-local: $*"; echo "--- run-local log (tail)"; tail -n 40 "$log"; exit 1; }

wait_until_listed "$base"

body="$work/body.json"

request() { # method url [data] [extra curl args...] -> prints status, body in $body
  local method=$1 url=$2; shift 2
  curl -s -o "$body" -w '%{http_code}' --max-time 60 -X "$method" "$url" "$@"
}
expect() { # expected actual what
  [ "$1" = "$2" ] || fail "$3: expected $1, got $2: $(cat "$body")"
}
json() { python3 -c "import json,sys; d=json.load(open('$body')); print($1)"; }

headers="$work/headers.txt"
status=$(request POST "$base" -H 'content-type: application/json' -d '{"name":"Green tea","sku":"E2E-TEA","price":19.99}' -D "$headers")
expect 201 "$status" "create"
expect "19.99" "$(json 'd["price"]')" "price kept exact, as a string"
id=$(json 'd["id"]')
location=$(tr -d '\r' <"$headers" | sed -n 's/^[Ll]ocation: //p')
expect "/products/$id" "$location" "Location of the created product"
# make run has no identity provider (STORE_AUTH=off): the creator is recorded as anonymous.
expect "anonymous" "$(json 'd["created_by"]')" "creator of a local create without a token"
created=$(cat "$body")

# Reads of one product, routed by cargo lambda watch to the list function as on API Gateway.
status=$(request GET "http://127.0.0.1:$API_PORT$location")
expect 200 "$status" "GET the product at its Location"
[ "$created" = "$(cat "$body")" ] || fail "GET by id answered another body than the create's"
status=$(request GET "$base/6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d")
expect 404 "$status" "unknown id"
expect "/problems/not-found" "$(json 'd["type"]')" "404 is a problem"
status=$(request GET "$base/not-a-uuid")
expect 400 "$status" "malformed id"
expect "id" "$(json 'd["field"]')" "problem names the id"
status=$(request GET "$base?sku=E2E-TEA")
expect 200 "$status" "by SKU"
expect "$id" "$(json '",".join(p["id"] for p in d["items"])')" "by SKU: a page of its one product"
expect None "$(json 'd["next_cursor"]')" "by SKU: no next page"
status=$(request GET "$base?sku=E2E-NONE")
expect 200 "$status" "unknown SKU"
expect 0 "$(json 'len(d["items"])')" "unknown SKU: an empty page"
status=$(request GET "$base?sku=-bad")
expect 400 "$status" "malformed SKU"
expect "sku" "$(json 'd["field"]')" "problem names the sku"

status=$(request POST "$base" -H 'content-type: application/json' -d '{"name":"Other","sku":"E2E-TEA","price":"1"}')
expect 409 "$status" "duplicate SKU"
expect "$id" "$(json 'd["existing_id"]')" "409 names the existing product"

status=$(request POST "$base" -H 'content-type: application/json' -d '{"name":"x","sku":"-bad","price":1}')
expect 422 "$status" "invalid SKU"
expect "sku" "$(json 'd["field"]')" "problem names the field"

status=$(request POST "$base" -H 'content-type: text/plain' -d 'hello')
expect 415 "$status" "non-JSON content type"

status=$(request POST "$base" -H 'content-type: application/json' -H 'Idempotency-Key: e2e-1' -d '{"name":"Mug","sku":"E2E-MUG","price":"7.5"}')
expect 201 "$status" "idempotent create"
first=$(cat "$body")
status=$(request POST "$base" -H 'content-type: application/json' -H 'Idempotency-Key: e2e-1' -d '{"name":"Mug","sku":"E2E-MUG","price":"7.5"}')
expect 201 "$status" "idempotent retry"
[ "$first" = "$(cat "$body")" ] || fail "retry did not replay the first answer"

status=$(request GET "$base?limit=1")
expect 200 "$status" "first page"
expect 1 "$(json 'len(d["items"])')" "page size"
cursor=$(json 'd["next_cursor"]')
status=$(request GET "$base?limit=1&cursor=$cursor")
expect 200 "$status" "second page"
expect None "$(json 'd["next_cursor"]')" "last page"

# Newest first: the Mug (created last) heads the first page, the tea follows on the next.
status=$(request GET "$base?order=newest&limit=1")
expect 200 "$status" "newest first: first page"
expect "E2E-MUG" "$(json 'd["items"][0]["sku"]')" "newest first: the latest product first"
newest_cursor=$(json 'd["next_cursor"]')
status=$(request GET "$base?order=newest&limit=1&cursor=$newest_cursor")
expect 200 "$status" "newest first: second page"
expect "$id" "$(json 'd["items"][0]["id"]')" "newest first: then the earlier product"
expect None "$(json 'd["next_cursor"]')" "newest first: last page"
status=$(request GET "$base?order=newest&cursor=$cursor")
expect 400 "$status" "a default-order cursor with order=newest"
expect "cursor" "$(json 'd["field"]')" "problem names the cursor"
status=$(request GET "$base?order=oldest")
expect 400 "$status" "unknown order"
expect "order" "$(json 'd["field"]')" "problem names the order"

# Unrouted methods are answered by the router, as on API Gateway: 404, never 405.
status=$(request PUT "$base" -H 'content-type: application/json' -d '{}')
expect 404 "$status" "unrouted method"

status=$(request GET "$base?limit=0")
expect 400 "$status" "limit out of range"
status=$(request GET "$base?cursor=tampered")
expect 400 "$status" "foreign cursor"

# The README's examples, pasted as a reader would (readme_examples.py also refuses non-ASCII
# in them): a create, a create with an Idempotency-Key, a list, newest first, a read by SKU
# (last: they add products the paging checks above do not expect).
readme_statuses=()
while IFS= read -r command; do
  readme_statuses+=("$(eval "$command" -s -o "$body" -w '%{http_code}' --max-time 60)")
done < <(python3 scripts/checks/readme_examples.py "127.0.0.1:$API_PORT")
[ "${readme_statuses[*]}" = "201 201 200 200 200" ] || fail "README examples answered ${readme_statuses[*]}, expected 201 201 200 200 200: $(cat "$body")"

# The authorised path as README shows it: an API Gateway event carrying an employee's claims,
# sent with cargo lambda invoke; the product records that employee.
PATH="$PWD/.venv/bin:$PATH" cargo lambda invoke create-product --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
  --data-file events/create-product.employee.json >"$body" 2>"$work/invoke.err" || fail "cargo lambda invoke: $(cat "$work/invoke.err")"
expect 201 "$(json 'd["statusCode"]')" "create from the employee event"
expect "3c5e7a10-0000-4000-8000-00000000e001" "$(json 'json.loads(d["body"])["created_by"]')" "creator from the event's claims"

echo "e2e-local: all checks passed"
