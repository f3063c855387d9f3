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
# fuzz PKG TARGET [FLAGS…] fuzzes one target. A failure is one that wrote
# a failing input (or any other error). A bare "context deadline
# exceeded" with no failing input is Go's race at the -fuzztime boundary
# (golang/go#51484), frequent on a busy 2-core machine: the target runs
# again, up to three times in all. Each run first replays the inputs
# found so far, so an input that hangs fails all three.
fuzz() {
	local out try
	for try in 1 2 3; do
		if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "${@:3}" "$1" 2>&1); then
			tail -n 2 <<<"$out"
			return 0
		fi
		echo "$out"
		if grep -q 'Failing input written' <<<"$out" || ! grep -q 'context deadline exceeded' <<<"$out"; then
			return 1
		fi
		echo "fuzz: $2 stopped at the -fuzztime boundary without a failing input (golang/go#51484; try $try of 3)"
	done
	return 1
}
fuzz ./proxy FuzzLookup
# Noisy coverage (a backend and the transport in the process), as FuzzForms below.
fuzz ./proxy FuzzServeHTTP -fuzzminimizetime 5x
fuzz ./proxy FuzzUpstreamResponse
fuzz ./proxy FuzzServerParse
fuzz ./proxy FuzzSOAPCall -fuzzminimizetime 5x
fuzz ./framing FuzzSniffer
fuzz ./cmd/portico FuzzEngineFraming
fuzz ./ajp FuzzForwardRequest
fuzz ./ajp FuzzServe
fuzz ./wsconfig FuzzRender
fuzz ./admin FuzzDecode
fuzz ./analytics FuzzSpool
fuzz ./clickhouse FuzzParseURL
fuzz ./clickhouse FuzzQuoteString
# Its coverage is noisy (servers in the process): minimizing every new input would use the whole run.
fuzz ./console FuzzForms -fuzzminimizetime 5x
fuzz ./console FuzzChartText
fuzz ./console FuzzPortalTry -fuzzminimizetime 5x
fuzz ./admin FuzzSearch
# The policy and auth building blocks (issue 11).
fuzz ./threat FuzzJSONReader
fuzz ./threat FuzzXMLReader
fuzz ./jsonxml FuzzJSONToXML -fuzzminimizetime 5s
fuzz ./jsonxml FuzzXMLToJSON -fuzzminimizetime 5s
fuzz ./jwtauth FuzzVerify -fuzzminimizetime 5x
fuzz ./jwtauth FuzzParseKeySet -fuzzminimizetime 5x
fuzz ./policy FuzzCIDRList
fuzz ./policy FuzzClientIP
fuzz ./policy FuzzHeaderValueTemplate
fuzz ./oauth2 FuzzTokenRequest
fuzz ./openapi FuzzParse -fuzzminimizetime 5x
fuzz ./openapi FuzzValidate -fuzzminimizetime 5x
fuzz ./configfile FuzzDecode -fuzzminimizetime 5x
fuzz ./soap FuzzParseWSDL -fuzzminimizetime 5x
