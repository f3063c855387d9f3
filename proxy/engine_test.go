package proxy

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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
