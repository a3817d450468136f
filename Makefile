# The README's commands. `make test` is what CI runs.
.PHONY: run test build fuzz

run:
	go run ./cmd/callbacksim serve

test:
	scripts/test.sh

build:
	CGO_ENABLED=0 go build -o bin/callbacksim ./cmd/callbacksim

# Fuzzes every target for FUZZTIME each (default 10s); `make test` runs it too.
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),10s)
