# The README's commands. `make test` is what CI runs.
.PHONY: run test build bench fuzz

run:
	go run ./cmd/callbacksim serve

test:
	scripts/test.sh

# The version make build stamps (callbacksim --version, callbacksim_build_info):
# the nearest tag and commit, e.g. v1.2.0-3-g1a2b3c4-dirty; dev outside git.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	CGO_ENABLED=0 go build -ldflags "-X github.com/callbacksim/callbacksim/internal/buildinfo.Version=$(VERSION)" -o bin/callbacksim ./cmd/callbacksim

# The benchmark of BENCHMARKS.md: starts its own redis-server; ARGS passes
# flags, e.g. make bench ARGS='-only throughput -n 10000'.
bench:
	go run ./cmd/callbacksim-bench $(ARGS)

# Fuzzes every target for FUZZTIME each (default 10s); `make test` runs it too.
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),10s)
