# The two commands a newcomer needs: `make run` (the API locally) and `make test` (every test).
.PHONY: run test bench bench-memory bench-functions load load-step seed
run:
	bash scripts/run-local.sh
test:
	bash scripts/test.sh
# The CQL node's own benchmark, in the node profile (optimised at opt-level 3 without LTO):
# the release profile is tuned for the Lambda zips' size (opt-level "s").
bench:
	cargo run --profile node -p cql-node --example bench
# The CQL node's memory per product (in memory, with a data directory) and its restart time
# after kill -9, with store-seed (BENCH_COUNT, default 1,000,000): README, "A million products".
bench-memory:
	bash scripts/bench-node-memory.sh
# Each function's release binary under a stand-in of the Lambda Runtime API, against the CQL
# node's Cassandra and Keyspaces profiles: init, latency, CPU, RSS (README, "Cold start").
bench-functions:
	cargo build --release -p create-product -p list-products
	cargo run --profile node -p function-bench -- --bin-dir "$${CARGO_TARGET_DIR:-target}/release" $(BENCH_ARGS)
# Locust against the API `make run` serves (or LOAD_HOST): see README.md, "Load".
load:
	bash scripts/load.sh
load-step:
	bash scripts/load.sh step
# One million fake products into the local run (`make run` first; SEED_COUNT, ARGS): README, "A million products".
seed:
	bash scripts/seed.sh
