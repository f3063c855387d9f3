package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

type recorded struct {
	mu   sync.Mutex
	recs []portico.Record
}

func (r *recorded) Record(rec *portico.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, *rec)
	r.mu.Unlock()
}

func (r *recorded) last(t *testing.T) portico.Record {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		t.Fatal("nothing recorded")
	}
	return r.recs[len(r.recs)-1]
}

// TestRecord checks the analytics record of proxied and rejected requests.
func TestRecord(t *testing.T) {
	w := newWorld(t)
	rec := &recorded{}
	w.gw.Recorder = rec
	w.gw.Node = "node-a"
	w.gw.Limiter = &fakeLimiter{n: 2}
	be := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond)
		rw.Header().Set("Content-Type", "text/plain")
		io.WriteString(rw, "twelve bytes")
	}))
	defer be.Close()
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	plan := *w.cfg.Plans.Get("plan")
	plan.RateLimit = &portico.RateLimit{Limit: 5, Per: portico.Second, Resources: []portico.ResourceLimit{{Pattern: "POST /up/**", Limit: 9, Per: portico.Second}}}
	w.apply(portico.Put(&plan))

	req, _ := http.NewRequest("POST", w.srv.URL+"/api/up/load", io.MultiReader(strings.NewReader(strings.Repeat("x", 1000))))
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := rec.last(t)
	want := portico.Record{API: "api", APIVersion: "v1", APIID: "api", Publisher: "pub", Subscriber: "sub", Application: "app",
		Plan: "plan", Resource: "POST /up/**", Method: "POST", Status: 200, RequestBytes: 1000, ResponseBytes: 12,
		RequestType: "application/octet-stream", ResponseType: "text/plain", ClientIP: "127.0.0.1", Node: "node-a"}
	got := r
	got.Time, got.RequestID, got.Latency, got.UpstreamLatency = time.Time{}, "", 0, 0
	if got != want {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
	if r.RequestID != resp.Header.Get("X-Request-Id") || r.Time.IsZero() {
		t.Errorf("request id %q / time %v", r.RequestID, r.Time)
	}
	if r.UpstreamLatency < 20*time.Millisecond || r.Latency < r.UpstreamLatency {
		t.Errorf("latency %v, upstream %v", r.Latency, r.UpstreamLatency)
	}

	for _, tt := range []struct {
		path, key string
		status    int
		code      string
	}{
		{"/nowhere", "", 404, "not_found"},
		{"/api/x", "", 401, "unauthorized"},
		{"/api/x", key, 200, ""},
		{"/api/x", key, 429, "rate_limited"},
	} {
		resp, _ := get(t, w.srv.URL+tt.path, "X-API-Key", tt.key)
		r := rec.last(t)
		if resp.StatusCode != tt.status || r.Status != tt.status || r.ErrorCode != tt.code {
			t.Errorf("%s: status %d, recorded %d %q", tt.path, resp.StatusCode, r.Status, r.ErrorCode)
		}
		if tt.status == 429 && (r.Application != "app" || r.Plan != "plan" || r.UpstreamLatency != 0) {
			t.Errorf("limited request record %+v", r)
		}
	}
}

func BenchmarkServeHTTPRecorded(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer be.Close()
	gw := &Gateway{Limiter: &fakeLimiter{n: 1 << 62}, Recorder: discardRecorder{}}
	w := &world{cfg: portico.NewConfig(), gw: gw}
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/x", nil)
		req.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

type discardRecorder struct{}

func (discardRecorder) Record(*portico.Record) {}

// TestRecordAbortedAndUpgraded: a response cut off mid-body and a
// WebSocket upgrade are recorded too, once each.
func TestRecordAbortedAndUpgraded(t *testing.T) {
	w := newWorld(t)
	rec := &recorded{}
	w.gw.Recorder = rec
	be := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			conn, brw, _ := http.NewResponseController(rw).Hijack()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			conn.Close()
			return
		}
		// Promise 1000 bytes, send 10, then drop the connection.
		rw.Header().Set("Content-Length", "1000")
		rw.Write([]byte("0123456789"))
		http.NewResponseController(rw).Flush()
		conn, _, _ := http.NewResponseController(rw).Hijack()
		conn.Close()
	}))
	defer be.Close()
	w.websocket(w.api("api", "/api", portico.AuthNone, be.URL))

	resp, err := http.Get(w.srv.URL + "/api/cut")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	waitRecords(t, rec, 1)
	if r := rec.last(t); r.Status != 200 || r.ErrorCode != "aborted" || r.ResponseBytes != 10 {
		t.Errorf("cut-off response recorded as %+v", r)
	}

	req, _ := http.NewRequest("GET", w.srv.URL+"/api/ws", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	waitRecords(t, rec, 2)
	if r := rec.last(t); r.Status != 101 {
		t.Errorf("upgrade recorded as %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !w.gw.Wait(ctx) {
		t.Error("requests still in flight")
	}
}

func waitRecords(t *testing.T, rec *recorded, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.mu.Lock()
		got := len(rec.recs)
		rec.mu.Unlock()
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("%d records, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecordGET: the record of a GET, which the fast engine forwards
// itself, names the backend's Content-Type as the record of a request
// that net/http serves does.
func TestRecordGET(t *testing.T) {
	w := newWorld(t)
	rec := &recorded{}
	w.gw.Recorder = rec
	be := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		io.WriteString(rw, "twelve bytes")
	}))
	defer be.Close()
	w.api("api", "/api", portico.AuthNone, be.URL)
	resp, body := get(t, w.srv.URL+"/api/x")
	if resp.StatusCode != 200 || body != "twelve bytes" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if r := rec.last(t); r.ResponseType != "text/plain" || r.ResponseBytes != 12 || r.Status != 200 {
		t.Errorf("record: type %q, %d bytes, status %d; want text/plain, 12, 200", r.ResponseType, r.ResponseBytes, r.Status)
	}
}
