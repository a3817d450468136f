# The README's commands. `make test` is what CI runs.
.PHONY: run test build

run:
	go run ./cmd/callbacksim serve

test:
	scripts/test.sh

build:
	CGO_ENABLED=0 go build -o bin/callbacksim ./cmd/callbacksim
