package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// world is a small configuration for gateway tests.
type world struct {
	cfg *portico.Config
	gw  *Gateway
	srv *httptest.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	gw := &Gateway{}
	srv := newGatewayServer(t, gw)
	return &world{cfg: portico.NewConfig(), gw: gw, srv: srv}
}

func (w *world) apply(ch ...portico.Change) {
	w.cfg = w.cfg.With(w.cfg.Version+1, ch...)
	w.gw.Update(w.cfg)
}

func (w *world) api(id, ctx string, auth portico.AuthType, targets ...string) *portico.API {
	a := &portico.API{ID: id, Name: id, Version: "v1", Context: ctx, State: portico.Published, Auth: portico.AuthMethods{auth},
		Endpoint: portico.Endpoint{Type: portico.Single}, Plans: []string{"plan"}, Owner: "pub"}
	if len(targets) > 1 {
		a.Endpoint.Type = portico.LoadBalancer
		a.Endpoint.Algorithm = portico.RoundRobin
	}
	for _, u := range targets {
		a.Endpoint.Targets = append(a.Endpoint.Targets, portico.Target{URL: u, Weight: 1})
	}
	w.apply(portico.Put(a))
	return a
}

// websocket lets the clients of API a upgrade to WebSocket.
func (w *world) websocket(a *portico.API) {
	b := *a
	b.WebSocket = true
	w.apply(portico.Put(&b))
}

// subscribe gives app a key and a subscription to api with status and
// returns the key.
func (w *world) subscribe(app, api string, status portico.SubscriptionStatus) string {
	key := "pk_" + app + "_" + api
	w.apply(
		portico.Put(&portico.Plan{ID: "plan", Name: "plan", RateLimit: &portico.RateLimit{Limit: 10, Per: portico.Second, Window: portico.Fixed}}),
		portico.Put(&portico.Application{ID: app, Name: app, Owner: "sub"}),
		portico.Put(&portico.Key{ID: "k-" + key, ApplicationID: app, Hash: portico.HashKey(key)}),
		portico.Put(&portico.Subscription{ID: "s-" + app + api, ApplicationID: app, APIID: api, PlanID: "plan", Status: status}),
	)
	return key
}

// echo is a backend that answers with what it received.
func echo(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"backend": name, "path": r.URL.Path, "rawquery": r.URL.RawQuery, "host": r.Host,
			"header": r.Header, "body": string(body), "method": r.Method,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

type echoed struct {
	Backend  string              `json:"backend"`
	Path     string              `json:"path"`
	RawQuery string              `json:"rawquery"`
	Header   map[string][]string `json:"header"`
	Body     string              `json:"body"`
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Error.Code
}

func TestRouting(t *testing.T) {
	w := newWorld(t)
	a, b := echo(t, "a"), echo(t, "b")
	w.api("a", "/a", portico.AuthNone, a.URL)
	w.api("ab", "/a/b", portico.AuthNone, b.URL+"/base")
	w.api("draft", "/draft", portico.AuthNone, a.URL)
	d := w.cfg.APIs.Get("draft")
	dd := *d
	dd.State = portico.Draft
	w.apply(portico.Put(&dd))

	tests := []struct {
		path, backend, upstreamPath string
		status                      int
	}{
		{"/a", "a", "/", 200},
		{"/a/", "a", "/", 200},
		{"/a/x/y", "a", "/x/y", 200},
		{"/a/b", "b", "/base", 200},
		{"/a/b/c?q=1", "b", "/base/c", 200},
		{"/a/bc", "a", "/bc", 200},
		{"/ab", "", "", 404},
		{"/", "", "", 404},
		{"/draft/x", "", "", 404},
		{"/nothing/here", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, w.srv.URL+tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get(HeaderRequestID) == "" {
				t.Error("no request id header")
			}
			if tt.status != 200 {
				if code := errorCode(t, body); code != "not_found" {
					t.Errorf("code %q", code)
				}
				return
			}
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if e.Backend != tt.backend || e.Path != tt.upstreamPath {
				t.Errorf("went to %s%s, want %s%s", e.Backend, e.Path, tt.backend, tt.upstreamPath)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	w.api("other", "/other", portico.AuthAPIKey, be.URL)
	good := w.subscribe("app", "api", portico.Approved)
	pending := w.subscribe("app2", "api", portico.Pending)
	evicted := w.subscribe("app3", "api", portico.Evicted)
	revoked := w.subscribe("app4", "api", portico.Approved)
	k := *w.cfg.Keys.Get("k-" + revoked)
	now := time.Now()
	k.RevokedAt = &now
	w.apply(portico.Put(&k))

	tests := []struct {
		name   string
		path   string
		hdr    []string
		status int
		code   string
	}{
		{"no key", "/api/x", nil, 401, "unauthorized"},
		{"bad key", "/api/x", []string{"X-API-Key", "nope"}, 401, "unauthorized"},
		{"revoked key", "/api/x", []string{"X-API-Key", revoked}, 401, "unauthorized"},
		{"pending", "/api/x", []string{"X-API-Key", pending}, 403, "forbidden"},
		{"evicted", "/api/x", []string{"X-API-Key", evicted}, 403, "forbidden"},
		{"other api", "/other/x", []string{"X-API-Key", good}, 403, "forbidden"},
		{"header key", "/api/x", []string{"X-API-Key", good}, 200, ""},
		{"query key", "/api/x?a=1&api_key=" + good + "&b=2", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, w.srv.URL+tt.path, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if c := errorCode(t, body); c != tt.code {
					t.Errorf("code %q, want %q", c, tt.code)
				}
				return
			}
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if _, ok := e.Header["X-Api-Key"]; ok {
				t.Error("X-API-Key forwarded to the backend")
			}
			if strings.Contains(e.RawQuery, "api_key") {
				t.Errorf("api_key forwarded in query %q", e.RawQuery)
			}
			if strings.Contains(tt.path, "?") && e.RawQuery != "a=1&b=2" {
				t.Errorf("query %q, want a=1&b=2", e.RawQuery)
			}
		})
	}
}

// fakeLimiter admits the first n requests of each key set.
type fakeLimiter struct {
	mu    sync.Mutex
	n     int64
	taken int64
	specs [][]portico.LimitSpec
	dec   portico.Decision
}

func (f *fakeLimiter) Take(_ context.Context, _ time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs = append(f.specs, specs)
	d := f.dec
	d.Limit = f.n
	if f.taken >= f.n {
		d.Allowed = false
		d.Rejected = specs[0].Key
		d.RetryAfter = 1500 * time.Millisecond
		d.Remaining = 0
		return d, nil
	}
	f.taken++
	d.Allowed = true
	d.Remaining = f.n - f.taken
	d.Reset = 300 * time.Millisecond
	return d, nil
}

func TestLimits(t *testing.T) {
	w := newWorld(t)
	lim := &fakeLimiter{n: 2}
	w.gw.Limiter = lim
	var notes []*portico.Notification
	var mu sync.Mutex
	w.gw.Notify = func(n *portico.Notification) { mu.Lock(); notes = append(notes, n); mu.Unlock() }
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	plan := *w.cfg.Plans.Get("plan")
	plan.Quota = &portico.Quota{Limit: 1000, Per: portico.Month, Mode: portico.Soft, Threshold: 50}
	plan.RateLimit = &portico.RateLimit{Limit: 5, Per: portico.Second, Window: portico.Fixed,
		Resources: []portico.ResourceLimit{{Pattern: "POST /orders/*", Limit: 1, Per: portico.Minute, Window: portico.Rolling}}}
	w.apply(portico.Put(&plan))

	lim.dec.Crossed = []string{"app/api/quota"}
	for i, want := range []string{"1", "0"} {
		resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if got := resp.Header.Get("RateLimit-Remaining"); got != want {
			t.Errorf("RateLimit-Remaining %q, want %q", got, want)
		}
		if resp.Header.Get("RateLimit-Limit") != "2" || resp.Header.Get("RateLimit-Reset") != "1" {
			t.Errorf("headers %v", resp.Header)
		}
	}
	resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key)
	if resp.StatusCode != 429 || errorCode(t, body) != "rate_limited" {
		t.Fatalf("over the limit: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q, want 2", resp.Header.Get("Retry-After"))
	}
	specs := lim.specs[0]
	if len(specs) != 2 || specs[0].Key != "app/api/rate" || specs[0].Limit != 5 || specs[1].Key != "app/api/quota" || !specs[1].Soft || specs[1].Threshold != 50 {
		t.Errorf("specs %+v", specs)
	}
	req, _ := http.NewRequest("POST", w.srv.URL+"/api/orders/17", strings.NewReader("x"))
	req.Header.Set("X-API-Key", key)
	http.DefaultClient.Do(req)
	if s := lim.specs[len(lim.specs)-1]; s[0].Key != "app/api/res-"+compilePattern("POST /orders/*").id || s[0].Window != portico.Rolling {
		t.Errorf("resource override not applied: %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) == 0 || notes[0].Kind != portico.NotifyQuotaThreshold || notes[0].Publisher != "pub" || notes[0].Subscriber != "sub" {
		t.Errorf("notifications %+v", notes)
	}
}

func TestResourcePattern(t *testing.T) {
	tests := []struct {
		pattern, method, path string
		want                  bool
	}{
		{"/orders", "GET", "/orders", true},
		{"/orders", "GET", "/orders/1", false},
		{"/orders/*", "GET", "/orders/1", true},
		{"/orders/*", "GET", "/orders", false},
		{"/orders/**", "GET", "/orders/1/items", true},
		{"/orders/**", "GET", "/orders", true},
		{"POST /orders", "POST", "/orders", true},
		{"POST /orders", "GET", "/orders", false},
		{"/**", "GET", "/anything/at/all", true},
		{"/*/items", "GET", "/7/items", true},
		{"/*/items", "GET", "/7/other", false},
	}
	for _, tt := range tests {
		if got := compilePattern(tt.pattern).match(tt.method, tt.path); got != tt.want {
			t.Errorf("%q.match(%s %s) = %v, want %v", tt.pattern, tt.method, tt.path, got, tt.want)
		}
	}
}

func TestForwarding(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthNone, be.URL)
	req, _ := http.NewRequest("POST", w.srv.URL+"/api/p", strings.NewReader(strings.Repeat("z", 1<<20)))
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "1")
	req.Header.Set("X-Forwarded-For", "10.1.1.1")
	req.Host = "public.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e echoed
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if len(e.Body) != 1<<20 {
		t.Errorf("body of %d bytes reached the backend", len(e.Body))
	}
	if _, ok := e.Header["X-Hop"]; ok {
		t.Error("hop-by-hop header forwarded")
	}
	if got := e.Header["X-Forwarded-For"]; len(got) != 1 || got[0] != "10.1.1.1, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", got)
	}
	if e.Header["X-Forwarded-Host"][0] != "public.example" || e.Header["X-Forwarded-Proto"][0] != "http" {
		t.Errorf("forwarded headers %v", e.Header)
	}
	if e.Header["X-Request-Id"][0] != resp.Header.Get("X-Request-Id") {
		t.Error("request id not forwarded")
	}
}

func refusing(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// healthRR is a round robin that remembers targets marked down.
type healthRR struct {
	roundRobin
	mu   sync.Mutex
	down map[int]bool
}

func (h *healthRR) Pick(now time.Time, tried uint64) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.down {
		tried |= 1 << uint(i)
	}
	return h.roundRobin.Pick(now, tried)
}

func (h *healthRR) MarkDown(i int, _ time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.down[i]
	h.down[i] = true
	return !was
}

func (h *healthRR) Down(i int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down[i]
}

func TestFailover(t *testing.T) {
	w := newWorld(t)
	w.gw.NewBalancer = func(ep portico.Endpoint) Balancer {
		return &healthRR{roundRobin: roundRobin{n: len(ep.Targets)}, down: map[int]bool{}}
	}
	var notes atomic.Int32
	w.gw.Notify = func(n *portico.Notification) {
		if n.Kind == portico.NotifyEndpointDown {
			notes.Add(1)
		}
	}
	be := echo(t, "be")
	dead := refusing(t)
	w.api("api", "/api", portico.AuthNone, dead, be.URL)
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("POST", w.srv.URL+"/api/x", strings.NewReader("payload"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e echoed
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 200 || e.Body != "payload" {
			t.Fatalf("request %d: status %d body %q", i, resp.StatusCode, e.Body)
		}
	}
	if notes.Load() == 0 {
		t.Error("no endpoint_down notification")
	}
	if ts := w.gw.Targets(); len(ts) != 2 || ts[0].Up || !ts[1].Up {
		t.Errorf("target health %+v, want the dead one down", ts)
	}
	w.api("down", "/down", portico.AuthNone, dead, refusing(t))
	start := time.Now()
	resp, body := get(t, w.srv.URL+"/down/x")
	if resp.StatusCode != 502 || errorCode(t, body) != "bad_gateway" {
		t.Fatalf("all down: %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("all-down answer took %v", d)
	}
}

func TestTimeout(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	a := w.api("slow", "/slow", portico.AuthNone, slow.URL)
	b := *a
	b.Timeouts.Response = portico.Duration(100 * time.Millisecond)
	w.apply(portico.Put(&b))
	resp, body := get(t, w.srv.URL+"/slow/x")
	if resp.StatusCode != 504 || errorCode(t, body) != "gateway_timeout" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	w := newWorld(t)
	// A backend that upgrades and then echoes lines.
	be := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(rw, "want upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(rw).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo " + line)
			brw.Flush()
		}
	}))
	defer be.Close()
	w.websocket(w.api("ws", "/ws", portico.AuthNone, be.URL))
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	fmt.Fprintf(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}

// TestSwapUnderLoad changes the config while requests stream through: no
// request on the unrelated API may fail.
func TestSwapUnderLoad(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("stable", "/stable", portico.AuthNone, be.URL)
	stop := make(chan struct{})
	var failed, served atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(w.srv.URL + "/stable/x")
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					served.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	var mu sync.Mutex
	for i := 0; i < 200; i++ {
		mu.Lock()
		w.api(fmt.Sprintf("api%d", i), fmt.Sprintf("/churn/%d", i), portico.AuthNone, be.URL)
		mu.Unlock()
		if resp, _ := get(t, w.srv.URL+fmt.Sprintf("/churn/%d/x", i)); resp.StatusCode != 200 {
			t.Fatalf("new API %d not routable at once: %d", i, resp.StatusCode)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Fatalf("served %d, failed %d", served.Load(), failed.Load())
	}
}

func TestResubscribeAfterEviction(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Evicted)
	resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key)
	if resp.StatusCode != 403 || !strings.Contains(body, "evicted") {
		t.Fatalf("evicted: %d %s", resp.StatusCode, body)
	}
	w.apply(portico.Put(&portico.Subscription{ID: "again", ApplicationID: "app", APIID: "api", PlanID: "plan", Status: portico.Approved}))
	if resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key); resp.StatusCode != 200 {
		t.Fatalf("new subscription after eviction: %d %s", resp.StatusCode, body)
	}
}

// TestHardening covers client input that must not slip through: dot
// segments, keys forwarded on open APIs or next to a header key, query
// rewriting, duplicate headers.
func TestHardening(t *testing.T) {
	w := newWorld(t)
	w.gw.Limiter = &fakeLimiter{n: 100}
	be := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Request-Id", "backend-id")
		rw.Header().Set("RateLimit-Limit", "999")
		json.NewEncoder(rw).Encode(map[string]any{"path": r.URL.Path, "rawquery": r.URL.RawQuery, "header": r.Header})
	}))
	defer be.Close()
	w.api("open", "/open", portico.AuthNone, be.URL+"/base")
	w.api("api", "/api", portico.AuthAPIKey, be.URL+"/base")
	key := w.subscribe("app", "api", portico.Approved)

	for _, p := range []string{"/open/../secret", "/open/%2e%2e/secret", "/open/x/./y", "/open//x", "/api/a/../b"} {
		resp, body := get(t, w.srv.URL+p)
		if resp.StatusCode != 400 || errorCode(t, body) != "invalid" {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	for _, tt := range []struct{ path, hdrKey, wantQuery string }{
		{"/open/x?z=2&api_key=secret&a=%20b", "also-secret", "z=2&a=%20b"},
		{"/api/x?z=2&api_key=" + key + "&a=%20b", key, "z=2&a=%20b"},
		{"/api/x?api_key=" + key, "", ""},
	} {
		var hdr []string
		if tt.hdrKey != "" {
			hdr = []string{"X-API-Key", tt.hdrKey}
		}
		resp, body := get(t, w.srv.URL+tt.path, hdr...)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tt.path, resp.StatusCode, body)
		}
		var e echoed
		json.Unmarshal([]byte(body), &e)
		if e.RawQuery != tt.wantQuery || e.Header["X-Api-Key"] != nil {
			t.Errorf("%s: backend got query %q and key header %q", tt.path, e.RawQuery, e.Header["X-Api-Key"])
		}
		if ids := resp.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "backend-id" {
			t.Errorf("%s: request ids %q", tt.path, ids)
		}
		rl := resp.Header.Values("RateLimit-Limit")
		if strings.HasPrefix(tt.path, "/api") && (len(rl) != 1 || rl[0] != "100") {
			t.Errorf("%s: RateLimit-Limit %q, want the gateway's only", tt.path, rl)
		}
		if strings.HasPrefix(tt.path, "/open") && (len(rl) != 1 || rl[0] != "999") {
			t.Errorf("%s: RateLimit-Limit %q, want the backend's on an open API", tt.path, rl)
		}
	}
}

// TestClientGoneDoesNotMarkDown: a client that gives up while the gateway
// connects must not put the targets in cool-down.
func TestClientGoneDoesNotMarkDown(t *testing.T) {
	var downs atomic.Int32
	g := &Gateway{NewBalancer: func(ep portico.Endpoint) Balancer {
		return &countingDown{roundRobin: roundRobin{n: len(ep.Targets)}, downs: &downs}
	}}
	up := g.newUpstream(&portico.API{Context: "/x", Endpoint: portico.Endpoint{Type: portico.LoadBalancer,
		Targets: []portico.Target{{URL: refusing(t)}, {URL: refusing(t)}}}})
	for _, method := range []string{"GET", "POST"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client is gone before the gateway dials
		req, _ := http.NewRequestWithContext(ctx, method, "http://gateway/x", strings.NewReader("body"))
		if method == "GET" {
			req.Body = nil
		}
		if _, err := (*balancedTransport)(up).RoundTrip(req); err == nil {
			t.Fatal("round trip with a cancelled context succeeded")
		}
	}
	if n := downs.Load(); n != 0 {
		t.Fatalf("a client that left marked %d targets down", n)
	}
}

type countingDown struct {
	roundRobin
	downs *atomic.Int32
}

func (c *countingDown) MarkDown(int, time.Time) bool { c.downs.Add(1); return true }

func TestCleanPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/a": true, "/a/": true, "/a/b.c/..d": true,
		"": false, "a": false, "//": false, "/a//b": false, "/.": false, "/..": false, "/a/./b": false, "/a/../b": false, "/a/..": false,
		"/a;x/b": true, "/a/b;v=1": true, "/a/..;x/b": false, "/a/.;/b": false, "/a/;x/b": false, "/a/;x": false, "/..;": false,
	} {
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %v", p, got)
		}
	}
}

// TestSubscriptionThatCounts: of an application's subscriptions to one
// API the approved one counts, also when a newer one was cancelled (an
// older subscription reinstated by its publisher); a cancelled one alone
// is refused as cancelled.
func TestSubscriptionThatCounts(t *testing.T) {
	w := newWorld(t)
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Cancelled)
	resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key)
	if resp.StatusCode != 403 || !strings.Contains(body, "cancelled") {
		t.Fatalf("cancelled subscription: %d %s", resp.StatusCode, body)
	}
	now := time.Now()
	w.apply(
		portico.Put(&portico.Subscription{ID: "old", ApplicationID: "app", APIID: "api", PlanID: "plan", Status: portico.Approved, CreatedAt: now.Add(-time.Hour)}),
		portico.Put(&portico.Subscription{ID: "s-appapi", ApplicationID: "app", APIID: "api", PlanID: "plan", Status: portico.Cancelled, CreatedAt: now}),
	)
	if resp, body := get(t, w.srv.URL+"/api/x", "X-API-Key", key); resp.StatusCode != 200 {
		t.Fatalf("an approved and a newer cancelled subscription: %d %s", resp.StatusCode, body)
	}
}
