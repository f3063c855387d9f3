#!/usr/bin/env bash
# Runs Portico's whole test suite: gofmt, go vet, go test -race, and short
# fuzzing runs. On a fresh Debian machine it first installs what the tests
# talk to (real servers, never stand-ins).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, as "command:package".
needs=(curl:curl python3:python3 openssl:openssl clickhouse-server:clickhouse-server redis-server:redis-server
	nginx:nginx apache2:apache2 haproxy:haproxy chromium:chromium)
missing=()
for n in "${needs[@]}"; do
	cmd=${n%%:*}
	command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("${n##*:}")
done
# mod_jk has no command: look for the module.
[[ -e /usr/lib/apache2/modules/mod_jk.so ]] || missing+=(libapache2-mod-jk)
if ((${#missing[@]})); then
	echo "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

unformatted=$(gofmt -l .)
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go mod tidy -diff >/dev/null || { echo "go.mod/go.sum need go mod tidy"; exit 1; }
go vet ./...
go test -race -count=1 -timeout 20m ./...
# The gateway's tests once more on Go's net/http engine (the run above
# serves them on the fast engine, the default): both engines pass them.
go test -race -count=1 ./proxy -args -engine=std

# Short fuzzing runs of the parsers of outside input (the seed corpora
# also run in every go test above).
fuzztime=${FUZZTIME:-10s}
go test -run '^$' -fuzz '^FuzzLookup$' -fuzztime "$fuzztime" ./proxy
go test -run '^$' -fuzz '^FuzzServeHTTP$' -fuzztime "$fuzztime" ./proxy
go test -run '^$' -fuzz '^FuzzUpstreamResponse$' -fuzztime "$fuzztime" ./proxy
go test -run '^$' -fuzz '^FuzzServerParse$' -fuzztime "$fuzztime" ./proxy
go test -run '^$' -fuzz '^FuzzSniffer$' -fuzztime "$fuzztime" ./framing
go test -run '^$' -fuzz '^FuzzEngineFraming$' -fuzztime "$fuzztime" ./cmd/portico
go test -run '^$' -fuzz '^FuzzForwardRequest$' -fuzztime "$fuzztime" ./ajp
go test -run '^$' -fuzz '^FuzzServe$' -fuzztime "$fuzztime" ./ajp
go test -run '^$' -fuzz '^FuzzRender$' -fuzztime "$fuzztime" ./wsconfig
go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime "$fuzztime" ./admin
go test -run '^$' -fuzz '^FuzzSpool$' -fuzztime "$fuzztime" ./analytics
go test -run '^$' -fuzz '^FuzzParseURL$' -fuzztime "$fuzztime" ./clickhouse
go test -run '^$' -fuzz '^FuzzQuoteString$' -fuzztime "$fuzztime" ./clickhouse
# Its coverage is noisy (servers in the process): minimizing every new input would use the whole run.
go test -run '^$' -fuzz '^FuzzForms$' -fuzztime "$fuzztime" -fuzzminimizetime 5x ./console
go test -run '^$' -fuzz '^FuzzChartText$' -fuzztime "$fuzztime" ./console
go test -run '^$' -fuzz '^FuzzSearch$' -fuzztime "$fuzztime" ./admin
# The policy and auth building blocks (issue 11).
go test -run '^$' -fuzz '^FuzzJSONReader$' -fuzztime "$fuzztime" ./threat
go test -run '^$' -fuzz '^FuzzXMLReader$' -fuzztime "$fuzztime" ./threat
go test -run '^$' -fuzz '^FuzzJSONToXML$' -fuzztime "$fuzztime" -fuzzminimizetime 5s ./jsonxml
go test -run '^$' -fuzz '^FuzzXMLToJSON$' -fuzztime "$fuzztime" -fuzzminimizetime 5s ./jsonxml
go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime "$fuzztime" -fuzzminimizetime 5x ./jwtauth
go test -run '^$' -fuzz '^FuzzParseKeySet$' -fuzztime "$fuzztime" -fuzzminimizetime 5x ./jwtauth
go test -run '^$' -fuzz '^FuzzCIDRList$' -fuzztime "$fuzztime" ./policy
go test -run '^$' -fuzz '^FuzzClientIP$' -fuzztime "$fuzztime" ./policy
go test -run '^$' -fuzz '^FuzzHeaderValueTemplate$' -fuzztime "$fuzztime" ./policy
go test -run '^$' -fuzz '^FuzzTokenRequest$' -fuzztime "$fuzztime" ./oauth2
