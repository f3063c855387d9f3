package proxy

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// engine chooses how the package's tests serve the gateway: the fast
// engine (Server, handing over what it does not serve to net/http) or
// net/http alone. scripts/test.sh runs the package with both.
var engine = flag.String("engine", "fast", "gateway engine under test: fast (proxy.Server) or std (net/http)")

// newGatewayServer starts a test server for h on the engine chosen by
// -engine. Its Config.Handler is read for every request on either path,
// so a test may wrap it after the start.
func newGatewayServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if *engine == "std" {
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	fs := &Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Config.Handler.ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	ln := srv.Listener
	srv.Listener = fs.Fallback()
	srv.Start()
	srv.URL = "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- fs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.Shutdown(ctx)
		srv.Close()
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return srv
}

// BenchmarkEngines measures one keep-alive client connection through the
// gateway (API key, a subscription, a limiter that admits) to a canned
// backend, on each engine side by side: ns and allocations per request
// over loopback, client and backend in the same process (a raw client
// and a raw backend, which allocate next to nothing). `make bench`
// measures the engines against nginx and a bare fasthttp proxy.
func BenchmarkEngines(b *testing.B) {
	body := strings.Repeat("x", 100)
	addr := cannedBackend(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"+body)
	for _, eng := range []string{"std", "fast"} {
		b.Run(eng, func(b *testing.B) {
			saved := *engine
			*engine = eng
			defer func() { *engine = saved }()
			gw := &Gateway{Limiter: admitAll{}}
			srv := newGatewayServer(b, gw)
			w := &world{cfg: portico.NewConfig(), gw: gw, srv: srv}
			w.api("api", "/api", portico.AuthAPIKey, "http://"+addr)
			key := w.subscribe("app", "api", portico.Approved)
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := "GET /api/items?page=2 HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: bench\r\nAccept: */*\r\nX-Api-Key: " + key + "\r\n\r\n"
			br := bufio.NewReaderSize(c, 4096)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := io.WriteString(c, req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per operation as "cpu-ns/op": unlike ns/op, which is
// the wall time of a round trip, it holds up on a busy machine (the
// client, the gateway and the backend share the process; compare it
// between runs of one benchmark).
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// admitAll is a Limiter that admits every request with RateLimit
// figures, as a plan's limits that never trigger do.
type admitAll struct{}

func (admitAll) Take(_ context.Context, _ time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	return portico.Decision{Allowed: true, Limit: 1000, Remaining: 999, Reset: time.Second}, nil
}
