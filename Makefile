# The README's commands. `make test` is what CI runs.
.PHONY: run test build bench fuzz

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

# Fuzzes every target for FUZZTIME each (default 10s); `make test` runs it too.
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),10s)
