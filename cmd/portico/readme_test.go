package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the shell blocks of the README's walkthrough
// with bash and curl against a real node, with the README's fixed ports
// and paths replaced by free ones, and checks what they print.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/test.sh installs it): %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	// The walkthrough, then the examples of "Authentication", "Policies",
	// "Import an API" and "SOAP", which go on from where it ends.
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, sec := range [][2]string{{"## Walkthrough", "## Running Portico"}, {"## Authentication", "## Admin API"}} {
		start, end := strings.Index(s, sec[0]), strings.Index(s, sec[1])
		if start < 0 || end < start {
			t.Fatalf("README has no section %q before %q", sec[0], sec[1])
		}
		for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(s[start:end], -1) {
			script.WriteString(m[1])
		}
	}
	m := startNode(t, t.TempDir())
	_, gwPort, _ := strings.Cut(m.GatewayAddr, ":")
	_, adminPort, _ := strings.Cut(m.AdminAddr, ":")
	backend := freeAddr(t)
	_, backendPort, _ := strings.Cut(backend, ":")
	dir := t.TempDir()
	sh := strings.NewReplacer(
		"localhost:9080", "127.0.0.1:"+adminPort,
		"localhost:8080", "127.0.0.1:"+gwPort,
		"127.0.0.1:7001", "127.0.0.1:"+backendPort,
		"7001 --bind", backendPort+" --bind",
		"/tmp/weather", filepath.Join(dir, "weather"),
		"admin:change-me-now", "admin:"+adminPassword,
		// Wait for the backend as long as a loaded machine needs.
		"& sleep 1\n", "& for i in $(seq 100); do curl -s -o /dev/null 127.0.0.1:"+backendPort+" && break; sleep 0.1; done\n",
	).Replace(script.String())
	sh += "\nkill %1\n"
	cmd := exec.Command("bash", "-c", sh)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("script:\n%s\noutput:\n%s", sh, out)
	if err != nil {
		t.Fatalf("walkthrough failed: %v", err)
	}
	for _, want := range []string{
		`"state":"published"`,
		"HTTP/1.1 200 OK",
		`{"city":"Paris","sky":"sunny"}`,
		"Ratelimit-Remaining: 4",
		"200 200 200 200 429",
		`"quota":{"limit":1000,"used":5,"remaining":995,"per":"month"`,
		`"status":"evicted"`,
		`"code":"forbidden"`,
		"<city>Paris</city><sky>sunny</sky>",
		"Access-Control-Allow-Origin: https://app.example",
		`"added":[{"pattern":"GET /today.json","path":"/today.json","operation_id":"todayWithHours"`,
		`"url": "/forecasts"`,
		`"field":"document"`,
		"<p:code>rate_limited</p:code><p:status>429</p:status></p:error></detail></soap:Fault></soap:Body></soap:Envelope> 429",
		"SOAP action names no operation of this API",
		"Body starts with &#34;{urn:booking}CancelBooking&#34;, but the request&#39;s action names the operation GetBooking",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	// The forecast through the API key, then through a JWT, HTTP Basic
	// and an OAuth2 token.
	if n := strings.Count(string(out), `{"city":"Paris","sky":"sunny"}`); n != 4 {
		t.Errorf("the forecast came %d times, want 4 (API key, JWT, Basic, OAuth2)", n)
	}
}
