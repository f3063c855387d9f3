package proxy

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestTransportGuard: a backend answers requests with a 204 followed by
// another request's answer. Plain http.Transport pools the connection
// before it looks for such bytes, so the next request may read them as
// its own answer; the API's transport, with its guarded connections,
// never lets that happen.
func TestTransportGuard(t *testing.T) {
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.Copy(io.Discard, req.Body)
		tok := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
		if strings.HasPrefix(req.URL.Path, "/a/") {
			io.WriteString(c, "HTTP/1.1 204 No Content\r\nX-Token: "+tok+"\r\n\r\n"+answer(tok))
		} else {
			io.WriteString(c, answer(tok))
		}
		return true
	})
	const rounds = 2000
	run := func(rt http.RoundTripper, wrap func(*http.Request) *http.Request) (wrong int) {
		for i := range rounds {
			for _, step := range []string{"a", "b"} {
				tok := "T" + step + strings.Repeat("0", 10) + itoa(100000+i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+be.addr+"/"+step+"/"+tok, nil)
				resp, err := rt.RoundTrip(wrap(req))
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if step == "b" && checkOwn(tok, resp.StatusCode, resp.Header.Get("X-Token"), string(b), nil) != "" {
						wrong++
					}
				}
				cancel()
			}
		}
		return wrong
	}
	plain := &http.Transport{}
	defer plain.CloseIdleConnections()
	defer quietStdLog()()
	t.Logf("plain http.Transport: %d of %d requests got another's answer", run(plain, func(r *http.Request) *http.Request { return r }), rounds)

	up := (&Gateway{}).newUpstream(&portico.API{Endpoint: portico.Endpoint{Targets: []portico.Target{{URL: "http://" + be.addr}}}})
	defer up.close()
	if n := run(up.transport, guarded); n != 0 {
		t.Errorf("the API's transport: %d of %d requests got another's answer", n, rounds)
	}
}

// quietStdLog silences the standard logger, where http.Transport reports
// unsolicited responses, until the returned func is called.
func quietStdLog() func() {
	w := log.Writer()
	log.SetOutput(io.Discard)
	return func() { log.SetOutput(w) }
}

// TestTransportGuardKeepsReuse: the guard lets clean keep-alive
// connections be reused, over TLS too (it looks through tls.Conn).
func TestTransportGuardKeepsReuse(t *testing.T) {
	for _, tlsBackend := range []bool{false, true} {
		h := func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) }
		be, conns := countingServer(t, h, 0)
		gw := &Gateway{}
		if tlsBackend {
			be = httptest.NewUnstartedServer(http.HandlerFunc(h))
			conns = countConns(be)
			be.StartTLS()
			t.Cleanup(be.Close)
			gw.Transport = &http.Transport{TLSClientConfig: be.Client().Transport.(*http.Transport).TLSClientConfig}
		}
		w := &world{cfg: portico.NewConfig(), gw: gw}
		w.api("api", "/api", portico.AuthNone, be.URL)
		for i := range 20 {
			body := "body " + itoa(i)
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, httptest.NewRequest("POST", "/api/x", strings.NewReader(body)))
			if rec.Code != 200 || rec.Body.String() != body {
				t.Fatalf("tls %v, request %d: %d %q", tlsBackend, i, rec.Code, rec.Body.String())
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("tls %v: %d backend connections for 20 sequential requests, want 1", tlsBackend, n)
		}
	}
}

func countConns(s *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}
