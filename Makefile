# The two commands a newcomer needs: `make run` (the API locally) and `make test` (every test).
.PHONY: run test bench
run:
	bash scripts/run-local.sh
test:
	bash scripts/test.sh
bench:
	cargo run --release -p cql-node --example bench
