package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// naiveLookup is the obviously right longest-prefix match.
func naiveLookup(contexts []string, path string) string {
	best := ""
	for _, c := range contexts {
		if (path == c || strings.HasPrefix(path, c+"/")) && len(c) > len(best) {
			best = c
		}
	}
	return best
}

func FuzzLookup(f *testing.F) {
	f.Add("/a", "/a/b", "/a/b/c/d", "/a/b/x")
	f.Add("/weather/v1", "/weather", "/x", "/weather/v1/forecast?q=1")
	f.Add("/a/b/c", "/a", "/b", "/a/b")
	f.Fuzz(func(t *testing.T, c1, c2, c3, path string) {
		cfg := portico.NewConfig()
		var ctxs []string
		for i, c := range []string{c1, c2, c3} {
			if !strings.HasPrefix(c, "/") || strings.HasSuffix(c, "/") || strings.Contains(c, "//") {
				continue // the admin API rejects such contexts
			}
			ctxs = append(ctxs, c)
			cfg = cfg.With(cfg.Version+1, portico.Put(&portico.API{ID: string(rune('a' + i)), Context: c, State: portico.Published}))
		}
		s, _ := buildSnapshot(cfg, nil, func(a *portico.API) *upstream { return &upstream{api: a} })
		got := ""
		if r := s.lookup(path); r != nil {
			got = r.api.Context
		}
		if want := naiveLookup(ctxs, path); got != want {
			t.Fatalf("lookup(%q) in %q = %q, want %q", path, ctxs, got, want)
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	cfg := portico.NewConfig()
	for i := range 1000 {
		cfg = cfg.With(cfg.Version+1, portico.Put(&portico.API{ID: portico.NewID(), Context: "/svc" + itoa(i) + "/v1", State: portico.Published}))
	}
	s, _ := buildSnapshot(cfg, nil, func(a *portico.API) *upstream { return &upstream{api: a} })
	b.ReportAllocs()
	for b.Loop() {
		if s.lookup("/svc500/v1/some/resource/path") == nil {
			b.Fatal("no route")
		}
	}
}

// BenchmarkServeHTTP measures the whole request path (route, key auth,
// limiter, proxy) against a loopback backend.
func BenchmarkServeHTTP(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer be.Close()
	gw := &Gateway{Limiter: &fakeLimiter{n: 1 << 62}}
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
