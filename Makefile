# The README's commands. `make test` is what CI runs.
.PHONY: run test build bench

run:
	go run ./cmd/callbacksim serve

test:
	scripts/test.sh

build:
	CGO_ENABLED=0 go build -o bin/callbacksim ./cmd/callbacksim

# The benchmark of BENCHMARKS.md: starts its own redis-server; ARGS passes
# flags, e.g. make bench ARGS='-only throughput -n 10000'.
bench:
	go run ./cmd/callbacksim-bench $(ARGS)
