package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// countingServer is a backend that counts the connections it accepted.
func countingServer(t *testing.T, h http.HandlerFunc, idle time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.IdleTimeout = idle
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func TestH1Reuse(t *testing.T) {
	be, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := 0; i < 64; i++ {
				w.Write([]byte(strings.Repeat("x", 16<<10)))
				http.NewResponseController(w).Flush()
			}
		case "/empty":
			w.WriteHeader(204)
		case "/notmod":
			w.WriteHeader(304)
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(103)
			io.WriteString(w, "after hints")
		default:
			io.WriteString(w, "hello "+r.Method)
		}
	}, 0)
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, be.URL)
	check := func(method, path string, status int, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, w.srv.URL+"/api"+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status || string(b) != body {
			t.Fatalf("%s %s: %d %q, want %d %q", method, path, resp.StatusCode, trunc(b), status, trunc([]byte(body)))
		}
	}
	for i := 0; i < 20; i++ {
		check("GET", "/x", 200, "hello GET")
		check("HEAD", "/x", 200, "")
		check("GET", "/empty", 204, "")
		check("GET", "/notmod", 304, "")
		check("GET", "/chunked", 200, strings.Repeat("x", 64*16<<10))
		check("DELETE", "/x", 200, "hello DELETE")
		check("GET", "/hints", 200, "after hints")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("backend saw %d connections for 140 sequential requests, want 1", n)
	}
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// TestH1StaleConnection: the backend closes idle keep-alive connections;
// the next request must not fail.
func TestH1StaleConnection(t *testing.T) {
	be, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, 50*time.Millisecond)
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, be.URL)
	for i := 0; i < 5; i++ {
		resp, body := get(t, w.srv.URL+"/api/x")
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d after the backend closed the idle connection: %d %s", i, resp.StatusCode, body)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if n := conns.Load(); n < 5 {
		t.Errorf("backend saw %d connections, want 5 (one per request after idle close)", n)
	}
}

// TestH1EarlyClose: a client that goes away mid-body must not leave a
// half-read connection in the pool.
func TestH1EarlyClose(t *testing.T) {
	be, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			for i := 0; i < 1000; i++ {
				if _, err := w.Write(make([]byte, 64<<10)); err != nil {
					return
				}
			}
			return
		}
		io.WriteString(w, "small")
	}, 0)
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, be.URL)
	resp, err := http.Get(w.srv.URL + "/api/big")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 100<<10))
	resp.Body.Close()
	for i := 0; i < 10; i++ {
		if r, body := get(t, w.srv.URL+"/api/small"); r.StatusCode != 200 || body != "small" {
			t.Fatalf("after an early close: %d %q", r.StatusCode, trunc([]byte(body)))
		}
	}
}

func TestCanUseH1(t *testing.T) {
	tests := []struct {
		method, url, upgrade string
		body                 bool
		want                 bool
	}{
		{"GET", "http://h/x", "", false, true},
		{"HEAD", "http://h/x", "", false, true},
		{"DELETE", "http://h/x", "", false, true},
		{"POST", "http://h/x", "", false, false},
		{"GET", "http://h/x", "", true, false},
		{"GET", "https://h/x", "", false, false},
		{"GET", "http://h/x", "websocket", false, false},
	}
	for _, tt := range tests {
		var body io.Reader
		if tt.body {
			body = strings.NewReader("b")
		}
		req, _ := http.NewRequest(tt.method, tt.url, body)
		if tt.upgrade != "" {
			req.Header.Set("Upgrade", tt.upgrade)
		}
		if got := canUseH1(req); got != tt.want {
			t.Errorf("canUseH1(%s %s body=%v upgrade=%q) = %v", tt.method, tt.url, tt.body, tt.upgrade, got)
		}
	}
}

// TestH1PrunesOldIdle: the pool gives out its newest connection, so under
// steady traffic its oldest ones are never taken; get closes those past
// the idle timeout (a probe found connections the backend had closed held
// open for minutes).
func TestH1PrunesOldIdle(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tr := &h1Transport{dialer: net.Dialer{Timeout: time.Second}, idleTimeout: time.Minute, maxIdle: 8}
	host := l.Addr().String()
	now := time.Now()
	var conns []*h1Conn
	for i := range 4 {
		c, reused, err := tr.get(context.Background(), host, true, now)
		if err != nil || reused {
			t.Fatalf("dial %d: %v, reused %v", i, err, reused)
		}
		c.lastUsed = now.Add(-2 * time.Minute) // the two oldest are stale
		if i >= 2 {
			c.lastUsed = now
		}
		conns = append(conns, c)
		tr.release(c, func() bool { return true }, true)
	}
	c, reused, err := tr.get(context.Background(), host, false, now)
	if err != nil || !reused || c != conns[3] {
		t.Fatalf("get: %v, reused %v, the newest %v", err, reused, c == conns[3])
	}
	if left := tr.idle[host]; len(left) != 1 || left[0] != conns[2] {
		t.Errorf("idle after get: %d connections, want the one fresh other", len(left))
	}
	for _, old := range conns[:2] {
		if _, err := old.Conn.Write([]byte("x")); err == nil {
			t.Error("a stale idle connection is still open")
		}
	}
}
