# Portico's developer tasks. Keep each target a one-liner over the Go tool
# or a script; the scripts and the README say more.

.PHONY: build test bench bench-cluster

build:
	go build -o bin/portico ./cmd/portico

test:
	./scripts/test.sh

# Load benchmark: the backend alone, nginx and Portico driven by wrk,
# alternating (needs nginx and wrk: apt-get install -y nginx wrk).
# Pass flags with BENCHFLAGS, e.g. make bench BENCHFLAGS='-rounds 5 -json'.
bench:
	go run ./internal/loadbench $(BENCHFLAGS)

# Cluster benchmarks: a change on one of three built nodes until another's
# gateway enforces it (p50/p99/max), and what one change costs a node
# with 10,000 APIs and PORTICO_BENCH_KEYS keys (default 100,000).
bench-cluster:
	go test -run '^$$' -bench ClusterPropagation -benchtime 1000x ./cmd/portico
	go test -run '^$$' -bench Update -benchtime 2000x ./proxy
