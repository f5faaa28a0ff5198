# The two commands a newcomer needs: `make run` (the API locally) and `make test` (every test).
.PHONY: run test bench load load-step seed
run:
	bash scripts/run-local.sh
test:
	bash scripts/test.sh
bench:
	cargo run --release -p cql-node --example bench
# Locust against the API `make run` serves (or LOAD_HOST): see README.md, "Load".
load:
	bash scripts/load.sh
load-step:
	bash scripts/load.sh step
# One million fake products into the local run (`make run` first; SEED_COUNT, ARGS): README, "A million products".
seed:
	bash scripts/seed.sh
