# Portico's developer tasks. Keep each target a one-liner over the Go tool
# or a script; the scripts and the README say more.

.PHONY: build test bench bench-auth bench-cluster bench-conns

build:
	go build -o bin/portico ./cmd/portico

test:
	./scripts/test.sh

# Load benchmark: the backend alone, nginx, bare fasthttp and
# httputil.ReverseProxy proxies and Portico driven by wrk, alternating
# (needs nginx, wrk and redis-server: apt-get install -y nginx wrk redis-server).
# Pass flags with BENCHFLAGS, e.g. make bench BENCHFLAGS='-rounds 5 -json'.
bench:
	go run ./internal/loadbench $(BENCHFLAGS)

# Auth and policy benchmark: nginx, portico (API key) and Portico with Basic,
# a cached JWT (HS256, RS256), an OAuth2 token, and threat protection or
# JSON→XML on a 2 KiB POSTed body, each as × nginx and × portico (needs
# nginx and wrk). A JWT's first sight: go test -bench FirstSight ./jwtauth.
bench-auth:
	go run ./internal/loadbench -targets nginx,portico,portico-basic,portico-jwt,portico-jwt-rs256,portico-oauth2,portico-threat,portico-validate,portico-json2xml $(BENCHFLAGS)

# Cluster benchmarks: a change on one of three built nodes until another's
# gateway enforces it (p50/p99/max), and what one change costs a node
# with 10,000 APIs and PORTICO_BENCH_KEYS keys (default 100,000).
bench-cluster:
	go test -run '^$$' -bench ClusterPropagation -benchtime 1000x ./cmd/portico
	go test -run '^$$' -bench Update -benchtime 2000x ./proxy

# Connections experiment: Portico's memory per idle and per slow client
# connection, and wrk's p99 with 10,000 idle + 1,000 slow connections held
# open and without them (needs wrk; raises RLIMIT_NOFILE).
bench-conns:
	go run ./internal/loadbench -conns $(BENCHFLAGS)
