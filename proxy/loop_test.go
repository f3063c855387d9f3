package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestLoopDetected: an API whose target is the gateway itself answers 508
// after one extra hop instead of multiplying one request into thousands;
// so does a request whose Via shows more Portico gateways than maxVia.
func TestLoopDetected(t *testing.T) {
	w := newWorld(t)
	var served atomic.Int64
	inner := w.srv.Config.Handler
	w.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		served.Add(1)
		inner.ServeHTTP(rw, r)
	})
	w.api("loop", "/loop/v1", portico.AuthNone, w.srv.URL+"/loop/v1")
	resp, body := get(t, w.srv.URL+"/loop/v1/x")
	if resp.StatusCode != http.StatusLoopDetected || errorCode(t, body) != string(portico.ELoopDetected) {
		t.Fatalf("looping API: %d %s", resp.StatusCode, body)
	}
	if n := served.Load(); n != 2 {
		t.Errorf("the gateway served %d requests for one client request, want 2", n)
	}
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)
	chain := strings.TrimSuffix(strings.Repeat("1.1 portico-0123456789ab, ", maxVia+1), ", ")
	if resp, body := get(t, w.srv.URL+"/api/x", "Via", chain); resp.StatusCode != http.StatusLoopDetected {
		t.Errorf("Via with %d Portico entries: %d %s", maxVia+1, resp.StatusCode, body)
	}
	if resp, body := get(t, w.srv.URL+"/api/x", "Via", "1.1 nginx, 1.1 portico-0123456789ab"); resp.StatusCode != 200 {
		t.Errorf("Via through another gateway once: %d %s", resp.StatusCode, body)
	}
}

// TestForwardedHeadersHold: a client cannot keep X-Request-Id from the
// backend by naming it in Connection; the backend gets the gateway's Via
// entry and never the client's Proxy header (httpoxy); CONNECT and TRACE
// are not forwarded.
func TestForwardedHeadersHold(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)
	resp, body := get(t, w.srv.URL+"/api/x", "Connection", "X-Request-Id, Via", "X-Request-Id", "abc-123", "Proxy", "http://evil:3128")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var e echoed
	json.Unmarshal([]byte(body), &e)
	if got := e.Header["X-Request-Id"]; len(got) != 1 || got[0] != "abc-123" {
		t.Errorf("backend got X-Request-Id %q, want [abc-123]", got)
	}
	if got := e.Header["Via"]; len(got) != 1 || got[0] != via {
		t.Errorf("backend got Via %q, want [%s]", got, via)
	}
	if got, ok := e.Header["Proxy"]; ok {
		t.Errorf("backend got Proxy %q", got)
	}
	for _, m := range []string{"TRACE", "CONNECT", "Trace", "connect"} {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(w.srv.URL, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		target := "/api/x"
		if m == "CONNECT" || m == "connect" {
			target = "backend.internal:22"
		}
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", m, target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d %s, want 405", m, resp.StatusCode, b)
		}
	}
}
