# Portico's developer tasks. Keep each target a one-liner over the Go tool
# or a script; the scripts and the README say more.

.PHONY: build test bench

build:
	go build -o bin/portico ./cmd/portico

test:
	./scripts/test.sh

# Load benchmark: the backend alone, nginx and Portico driven by wrk,
# alternating (needs nginx and wrk: apt-get install -y nginx wrk).
# Pass flags with BENCHFLAGS, e.g. make bench BENCHFLAGS='-rounds 5 -json'.
bench:
	go run ./internal/loadbench $(BENCHFLAGS)
