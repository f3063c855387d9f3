package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/ajptest"
)

// ajpClientIP is the client's address that the web server sends as
// remote_addr in the AJP tests.
const ajpClientIP = "203.0.113.7"

// recordTap is an analytics sink that keeps the records it is given and
// passes each batch on to next.
type recordTap struct {
	next portico.AnalyticsSink
	mu   sync.Mutex
	recs map[string]portico.Record // by request id
}

func (rt *recordTap) Write(ctx context.Context, batch []portico.Record) error {
	rt.mu.Lock()
	for _, r := range batch {
		rt.recs[r.RequestID] = r // a copy: the batch is not kept
	}
	rt.mu.Unlock()
	return rt.next.Write(ctx, batch)
}

func (rt *recordTap) get(id string) (portico.Record, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r, ok := rt.recs[id]
	return r, ok
}

// backendSeen is what the backend of TestAJPGateway saw of one request.
type backendSeen struct {
	xff, key, id string
}

// TestAJPGateway serves a node's gateway over AJP (--ajp-addr with
// --ajp-secret) and checks that an AJP request is a gateway request like
// an HTTP one: proxied with X-Forwarded-For from remote_addr, the key
// kept from the backend and a request id; refused without a key; limited
// by its plan on the counters HTTP requests use; bodies both ways byte
// for byte, streamed as the backend flushes; recorded in analytics with
// remote_addr as the client IP. A request without the secret gets a 403
// and its connection closed.
func TestAJPGateway(t *testing.T) {
	const secret = "ajp-gateway-test-secret"
	seen := make(chan backendSeen, 16)
	streamed := make(chan struct{}, 16) // one per chunk the AJP client saw
	chunked := randomBytes(1<<20 + 7)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			// Read whole first: Go's HTTP/1 server closes the request
			// body once the response is being written.
			b, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 5 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				http.NewResponseController(w).Flush()
				if i < 4 {
					select {
					case <-streamed:
					case <-time.After(10 * time.Second):
						fmt.Fprintf(w, "data: event %d not seen by the client\n\n", i)
						return
					}
				}
			}
		case "/chunked":
			// No Content-Length: chunked to the gateway, in writes of
			// 3,000 bytes, each flushed.
			for p := chunked; len(p) > 0; p = p[min(3000, len(p)):] {
				w.Write(p[:min(3000, len(p))])
				http.NewResponseController(w).Flush()
			}
		case "/probe":
			t.Errorf("a request without the AJP secret reached the backend")
		default:
			seen <- backendSeen{xff: r.Header.Get("X-Forwarded-For"), key: r.Header.Get("X-API-Key"), id: r.Header.Get("X-Request-Id")}
			io.WriteString(w, "ok")
		}
	}))
	defer backend.Close()
	m := startNodeWith(t, t.TempDir(), func(c *Config) {
		c.AJPAddr = "127.0.0.1:0"
		c.AJPSecret = secret
		c.AnalyticsFlushInterval = 100 * time.Millisecond
	})
	if m.AJPAddr == "" || strings.HasSuffix(m.AJPAddr, ":0") {
		t.Fatalf("Main.AJPAddr %q: want the bound address", m.AJPAddr)
	}
	// The admin API's analytics answer aggregates, without the client's
	// address: a tap in front of the node's store sees the records.
	tap := &recordTap{next: m.analytics.embedded, recs: map[string]portico.Record{}}
	m.analytics.recorder.SetSink(tap)

	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	limited := admin.call("POST", "/plans", map[string]any{"name": "ajp-limited", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 4, "per": "hour", "window": "rolling"}}, 201)["id"].(string)
	open := admin.call("POST", "/plans", map[string]any{"name": "ajp-open", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 1000000, "per": "second", "window": "fixed"}}, 201)["id"].(string)
	limKey, _ := keyedAPI(t, admin, "ajplim", backend.URL, limited)
	freeKey, _ := keyedAPI(t, admin, "ajpfree", backend.URL, open)

	jk := ajptest.Dial(t, m.AJPAddr, 0) // one connection, reused for every request below
	get := func(path, key string) *ajptest.Response {
		t.Helper()
		h := [][2]string{{"Host", "api.example"}, {"Accept", "*/*"}}
		if key != "" {
			h = append(h, [2]string{"X-API-Key", key})
		}
		r, err := jk.Do(ajptest.Request{URI: path, RemoteAddr: ajpClientIP, RemotePort: "41000",
			ServerName: "api.example", Headers: h, Secret: secret}, nil, 0)
		if err != nil {
			t.Fatalf("AJP GET %s: %v", path, err)
		}
		if !r.Reuse {
			t.Fatalf("AJP GET %s: %d, the connection not reusable", path, r.Status)
		}
		return r
	}
	httpGet := func(key string) (int, http.Header) {
		t.Helper()
		code, h, _ := gatewayGet(t, "http://"+m.GatewayAddr+"/ajplim/hello", key)
		if code == 200 {
			<-seen
		}
		return code, h
	}

	// Proxied, with the client's address from remote_addr.
	r := get("/ajplim/hello", limKey)
	if r.Status != 200 || string(r.Body) != "ok" {
		t.Fatalf("AJP GET with the key: %d %q", r.Status, r.Body)
	}
	firstID := r.Header.Get("X-Request-Id")
	select {
	case s := <-seen:
		if s.xff != ajpClientIP || s.key != "" || s.id == "" || s.id != firstID {
			t.Errorf("the backend saw X-Forwarded-For %q, X-API-Key %q, X-Request-Id %q (the client got %q); want %s, none, the same id",
				s.xff, s.key, s.id, firstID, ajpClientIP)
		}
	default:
		t.Fatal("the backend saw nothing")
	}

	// No key.
	if r := get("/ajplim/hello", ""); r.Status != 401 {
		t.Errorf("AJP GET without a key: %d %s, want 401", r.Status, r.Body)
	}

	// The plan's 4 an hour, over AJP and HTTP together.
	steps := []struct {
		ajp       bool
		status    int
		remaining string
	}{
		{false, 200, "2"}, // the first AJP request took one
		{true, 200, "1"},
		{false, 200, "0"},
		{true, 429, "0"},
		{false, 429, "0"},
	}
	for i, s := range steps {
		var code int
		var h http.Header
		if s.ajp {
			r := get("/ajplim/hello", limKey)
			code, h = r.Status, r.Header
			if code == 200 {
				<-seen
			}
		} else {
			code, h = httpGet(limKey)
		}
		if code != s.status || h.Get("RateLimit-Remaining") != s.remaining || (code == 429 && h.Get("Retry-After") == "") {
			t.Errorf("step %d (AJP %v): %d, RateLimit-Remaining %q, Retry-After %q; want %d, %s",
				i, s.ajp, code, h.Get("RateLimit-Remaining"), h.Get("Retry-After"), s.status, s.remaining)
		}
	}

	// Bodies both ways, with a Content-Length and chunked.
	for _, n := range []int{0, 1, 8191, 8192, 8193, 1 << 20} {
		body := randomBytes(n)
		for _, chunkedBody := range []bool{false, true} {
			h := [][2]string{{"Content-Type", "application/octet-stream"}, {"X-API-Key", freeKey}}
			length := int64(n)
			if chunkedBody {
				h, length = append(h, [2]string{"Transfer-Encoding", "chunked"}), -1
			} else {
				h = append(h, [2]string{"Content-Length", fmt.Sprint(n)})
			}
			r, err := jk.Do(ajptest.Request{Method: "POST", URI: "/ajpfree/echo", RemoteAddr: ajpClientIP, Headers: h, Secret: secret},
				bytes.NewReader(body), length)
			if err != nil || r.Status != 200 || !r.Reuse || !bytes.Equal(r.Body, body) {
				t.Fatalf("POST of %d bytes (chunked %v): %v, status %d, reuse %v, %d bytes back, equal %v",
					n, chunkedBody, err, r.Status, r.Reuse, len(r.Body), bytes.Equal(r.Body, body))
			}
		}
	}

	// A streamed response: each event reaches the client before the
	// backend writes the next.
	jk.OnChunk = func(data []byte) {
		if len(data) > 0 {
			select {
			case streamed <- struct{}{}:
			default:
			}
		}
	}
	r = get("/ajpfree/stream", freeKey)
	jk.OnChunk = nil
	if want := "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n"; r.Status != 200 || string(r.Body) != want {
		t.Errorf("streamed response: %d %q, want %q", r.Status, r.Body, want)
	}
	r = get("/ajpfree/chunked", freeKey)
	if r.Status != 200 || !bytes.Equal(r.Body, chunked) {
		t.Errorf("chunked response of %d bytes: %d, %d bytes, equal %v", len(chunked), r.Status, len(r.Body), bytes.Equal(r.Body, chunked))
	}

	// Without the secret, or with another: 403, connection closed.
	for _, s := range []string{"", "not-the-secret"} {
		c := ajptest.Dial(t, m.AJPAddr, 0)
		r, err := c.Do(ajptest.Request{URI: "/ajpfree/probe", RemoteAddr: ajpClientIP,
			Headers: [][2]string{{"X-API-Key", freeKey}}, Secret: s}, nil, 0)
		if err != nil || r.Status != 403 || r.Reuse {
			t.Errorf("secret %q: %v, status %d, reuse %v; want 403 without reuse", s, err, r.Status, r.Reuse)
		}
		if err := c.ExpectClosed(); err != nil {
			t.Errorf("secret %q: %v", s, err)
		}
	}

	// Analytics: the first AJP request's record has remote_addr as the
	// client IP; the admin API counts the AJP requests with the HTTP ones.
	var rec portico.Record
	waitFor(t, "the first AJP request's analytics record", 15*time.Second, func() bool {
		var ok bool
		rec, ok = tap.get(firstID)
		return ok
	})
	if rec.ClientIP != ajpClientIP || rec.Status != 200 || rec.API != "ajplim" || rec.Method != "GET" {
		t.Errorf("record of the first AJP request: client IP %q, status %d, API %q, method %q; want %s, 200, ajplim, GET",
			rec.ClientIP, rec.Status, rec.API, rec.Method, ajpClientIP)
	}
	want := map[string]int64{"200": 4, "401": 1, "429": 2}
	got := map[string]int64{}
	waitFor(t, "the admin API to count the 7 requests to ajplim", 15*time.Second, func() bool {
		res := admin.call("GET", "/analytics/requests?api=ajplim&group_by=status", nil, 200)
		items, _ := res["items"].([]any)
		clear(got)
		for _, it := range items {
			row := it.(map[string]any)
			got[row["group"].(string)] = int64(row["requests"].(float64))
		}
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
}

// randomBytes returns n bytes of a fixed pseudo-random sequence.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 8009))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestAJPConfig: an AJP listener off loopback needs a secret; the error
// says which setting.
func TestAJPConfig(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args    []string
		env     map[string]string
		wantErr bool
	}{
		{args: []string{"--ajp-addr", "0.0.0.0:0"}, wantErr: true},
		{args: []string{"--ajp-addr", ":8009"}, wantErr: true},
		{args: []string{"--ajp-addr", "[::]:8009"}, wantErr: true},
		{args: []string{"--ajp-addr", "192.0.2.1:8009"}, wantErr: true},
		{args: []string{"--ajp-addr", "0.0.0.0:0", "--ajp-secret", "s3cret-for-mod-jk"}},
		{args: []string{"--ajp-addr", "0.0.0.0:0"}, env: map[string]string{"PORTICO_AJP_SECRET": "s3cret-for-mod-jk"}},
		{args: []string{"--ajp-addr", "127.0.0.1:8009"}},
		{args: []string{"--ajp-addr", "[::1]:8009"}},
		{args: []string{"--ajp-addr", "localhost:8009"}},
		{args: []string{"--ajp-addr", "0.0.0.0:0", "--ajp-secret", "x"}, wantErr: true},
		{args: []string{"--ajp-addr", "0.0.0.0:0", "--ajp-secret", "sixteen chars ok"}, wantErr: true},
	} {
		lookup := none
		if c.env != nil {
			lookup = func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		}
		_, err := LoadConfig(append(c.args, "--data-dir", t.TempDir()), lookup)
		switch {
		case c.wantErr && (err == nil || !strings.Contains(err.Error(), "ajp-secret")):
			t.Errorf("LoadConfig(%q): %v; want an error naming ajp-secret", c.args, err)
		case !c.wantErr && err != nil:
			t.Errorf("LoadConfig(%q, env %v): %v", c.args, c.env, err)
		}
	}
}
