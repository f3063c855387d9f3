package policy_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

func mustCORS(t testing.TB, c portico.CORS) *policy.CORS {
	t.Helper()
	p, err := policy.NewCORS(&c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// hdr builds a header from name, value pairs; a name repeats for more
// field lines.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var appPolicy = portico.CORS{
	AllowedOrigins:   []string{"https://app.example.com", "http://localhost:8080", "https://*.example.org"},
	AllowedMethods:   []string{"PUT", "DELETE"},
	AllowedHeaders:   []string{"Authorization", "X-Api-Key", "Content-Type"},
	ExposedHeaders:   []string{"RateLimit-Remaining", "X-Request-Id"},
	AllowCredentials: true,
	MaxAge:           portico.Duration(10 * time.Minute),
}

// TestNewCORSRefuses: NewCORS returns Validate's error, naming the field.
func TestNewCORSRefuses(t *testing.T) {
	_, err := policy.NewCORS(&portico.CORS{AllowedOrigins: []string{"*"}, AllowCredentials: true})
	if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != "cors.allowed_origins[0]" {
		t.Fatalf("NewCORS(* with credentials) = %v, want invalid cors.allowed_origins[0]", err)
	}
}

// TestIsPreflight: only OPTIONS with both Origin and
// Access-Control-Request-Method.
func TestIsPreflight(t *testing.T) {
	for _, c := range []struct {
		method string
		h      http.Header
		want   bool
	}{
		{"OPTIONS", hdr("Origin", "https://a.example.com", "Access-Control-Request-Method", "PUT"), true},
		{"OPTIONS", hdr("Origin", "https://a.example.com"), false},
		{"OPTIONS", hdr("Access-Control-Request-Method", "PUT"), false},
		{"GET", hdr("Origin", "https://a.example.com", "Access-Control-Request-Method", "PUT"), false},
		{"options", hdr("Origin", "https://a.example.com", "Access-Control-Request-Method", "PUT"), false},
	} {
		if got := policy.IsPreflight(c.method, c.h); got != c.want {
			t.Errorf("IsPreflight(%s, %v) = %v", c.method, c.h, got)
		}
	}
}

// TestPreflight: allowed preflights get the policy's fields; each refusal
// (origin, method, header) is EForbidden naming the field, with no CORS
// field in the answer.
func TestPreflight(t *testing.T) {
	app := mustCORS(t, appPolicy)
	any := mustCORS(t, portico.CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}})
	varyAll := "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	allowed := func(origin string) http.Header {
		return hdr("Vary", varyAll, "Access-Control-Allow-Origin", origin, "Access-Control-Allow-Credentials", "true",
			"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE",
			"Access-Control-Allow-Headers", "Authorization, X-Api-Key, Content-Type", "Access-Control-Max-Age", "600")
	}
	for _, c := range []struct {
		name   string
		policy *policy.CORS
		req    http.Header
		field  string // of the refusal; "" when allowed
		want   http.Header
	}{
		{"exact origin", app, hdr("Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT",
			"Access-Control-Request-Headers", "authorization,x-api-key"), "", allowed("https://app.example.com")},
		{"wildcard origin", app, hdr("Origin", "https://eu.api.example.org", "Access-Control-Request-Method", "DELETE"), "", allowed("https://eu.api.example.org")},
		{"safelisted method", app, hdr("Origin", "http://localhost:8080", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type"), "", allowed("http://localhost:8080")},
		{"header in capitals", app, hdr("Origin", "http://localhost:8080", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "X-API-Key, Authorization"), "", allowed("http://localhost:8080")},
		{"header list over lines", app, hdr("Origin", "http://localhost:8080", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "authorization", "Access-Control-Request-Headers", ", content-type"), "", allowed("http://localhost:8080")},
		{"any origin and header", any, hdr("Origin", "https://anyone.test", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "x-custom,authorization"), "",
			hdr("Vary", varyAll, "Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "GET, HEAD, POST",
				"Access-Control-Allow-Headers", "x-custom,authorization")},
		{"origin refused", app, hdr("Origin", "https://evil.test", "Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
		{"origin missing", app, hdr("Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
		{"two origins", app, hdr("Origin", "https://app.example.com", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
		{"origin with other scheme", app, hdr("Origin", "http://app.example.com", "Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
		{"wildcard base domain", app, hdr("Origin", "https://example.org", "Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
		{"method refused", app, hdr("Origin", "https://app.example.com", "Access-Control-Request-Method", "PATCH"), "Access-Control-Request-Method", hdr("Vary", varyAll)},
		{"method case", app, hdr("Origin", "https://app.example.com", "Access-Control-Request-Method", "put"), "Access-Control-Request-Method", hdr("Vary", varyAll)},
		{"header refused", app, hdr("Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT",
			"Access-Control-Request-Headers", "authorization, x-secret"), "Access-Control-Request-Headers", hdr("Vary", varyAll)},
		{"any header still a token", any, hdr("Origin", "https://anyone.test", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "x-a, x b"), "Access-Control-Request-Headers", hdr("Vary", varyAll)},
		{"nil policy", nil, hdr("Origin", "https://app.example.com", "Access-Control-Request-Method", "GET"), "Origin", hdr("Vary", varyAll)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := http.Header{}
			err := c.policy.Preflight(c.req, dst)
			if c.field == "" && err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			if c.field != "" && (portico.ErrorCodeOf(err) != portico.EForbidden || portico.ErrorFieldOf(err) != c.field) {
				t.Fatalf("Preflight: %v, want forbidden on %s", err, c.field)
			}
			if !reflect.DeepEqual(dst, c.want) {
				t.Errorf("answer\n%v\nwant\n%v", dst, c.want)
			}
		})
	}
}

// TestCORSResponse: an allowed origin gets its fields; a refused or
// missing one none; Vary names Origin either way, once; the backend's CORS
// fields never survive.
func TestCORSResponse(t *testing.T) {
	app := mustCORS(t, appPolicy)
	any := mustCORS(t, portico.CORS{AllowedOrigins: []string{"*"}, ExposedHeaders: []string{"*"}})
	plain := mustCORS(t, portico.CORS{AllowedOrigins: []string{"https://app.example.com"}})
	fields := func(origin string) http.Header {
		return hdr("Content-Type", "application/json", "Vary", "Origin", "Access-Control-Allow-Origin", origin,
			"Access-Control-Allow-Credentials", "true", "Access-Control-Expose-Headers", "RateLimit-Remaining, X-Request-Id")
	}
	backend := func(kv ...string) http.Header {
		return hdr(append([]string{"Content-Type", "application/json"}, kv...)...)
	}
	for _, c := range []struct {
		name         string
		policy       *policy.CORS
		req, backend http.Header
		want         http.Header
	}{
		{"exact", app, hdr("Origin", "https://app.example.com"), backend(), fields("https://app.example.com")},
		{"wildcard", app, hdr("Origin", "https://a.example.org"), backend(), fields("https://a.example.org")},
		{"refused", app, hdr("Origin", "https://evil.test"), backend(), backend("Vary", "Origin")},
		{"lookalike", app, hdr("Origin", "https://app.example.com.evil.test"), backend(), backend("Vary", "Origin")},
		{"no origin", app, hdr(), backend(), backend("Vary", "Origin")},
		{"backend fields replaced", app, hdr("Origin", "https://app.example.com"),
			backend("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Origin", "https://other.test", "Access-Control-Max-Age", "1"),
			fields("https://app.example.com")},
		{"backend fields dropped when refused", app, hdr("Origin", "https://evil.test"),
			backend("Access-Control-Allow-Origin", "https://evil.test", "Access-Control-Allow-Credentials", "true"), backend("Vary", "Origin")},
		{"vary kept", plain, hdr("Origin", "https://app.example.com"), backend("Vary", "Accept-Encoding"),
			backend("Vary", "Accept-Encoding", "Vary", "Origin", "Access-Control-Allow-Origin", "https://app.example.com")},
		{"vary has origin", plain, hdr("Origin", "https://app.example.com"), backend("Vary", "accept-encoding, origin"),
			backend("Vary", "accept-encoding, origin", "Access-Control-Allow-Origin", "https://app.example.com")},
		{"vary star", plain, hdr(), backend("Vary", "*"), backend("Vary", "*")},
		{"any origin needs no vary", any, hdr("Origin", "https://anyone.test"), backend(),
			backend("Access-Control-Allow-Origin", "*", "Access-Control-Expose-Headers", "*")},
		{"any origin without origin", any, hdr(), backend(), backend("Access-Control-Allow-Origin", "*", "Access-Control-Expose-Headers", "*")},
		{"nil policy", nil, hdr("Origin", "https://app.example.com"), backend("Access-Control-Allow-Origin", "*"), backend("Access-Control-Allow-Origin", "*")},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.policy.Response(c.req, c.backend)
			if !reflect.DeepEqual(c.backend, c.want) {
				t.Errorf("response\n%v\nwant\n%v", c.backend, c.want)
			}
		})
	}
}

// TestCORSSharedValues: appending to a field the policy set does not
// change what the next response gets.
func TestCORSSharedValues(t *testing.T) {
	p := mustCORS(t, appPolicy)
	req := hdr("Origin", "https://app.example.com")
	h := http.Header{}
	p.Response(req, h)
	h.Add("Vary", "Accept")
	h.Add("Access-Control-Allow-Origin", "x")
	h.Add("Access-Control-Expose-Headers", "x")
	h2 := http.Header{}
	p.Response(req, h2)
	if !reflect.DeepEqual(h2, hdr("Vary", "Origin", "Access-Control-Allow-Origin", "https://app.example.com",
		"Access-Control-Allow-Credentials", "true", "Access-Control-Expose-Headers", "RateLimit-Remaining, X-Request-Id")) {
		t.Errorf("second response: %v", h2)
	}
}

// TestWildcardOrigins: a wildcard matches whole labels of the same scheme
// and port, and nothing that only looks like it.
func TestWildcardOrigins(t *testing.T) {
	p := mustCORS(t, portico.CORS{AllowedOrigins: []string{"https://*.example.com", "http://*.dev.example.net:8080"}})
	for o, want := range map[string]bool{
		"https://a.example.com":                true,
		"https://a.b.example.com":              true,
		"https://x-1_y.example.com":            true,
		"http://api.dev.example.net:8080":      true,
		"https://example.com":                  false,
		"https://.example.com":                 false,
		"https://a..example.com":               false,
		"https://.a.example.com":               false,
		"https://evilexample.com":              false,
		"https://evil-example.com":             false,
		"https://a.example.com.evil.test":      false,
		"https://a.example.comm":               false,
		"http://a.example.com":                 false,
		"https://a.example.com:8443":           false,
		"https://A.example.com":                false,
		"https://a.example.com/":               false,
		"https://evil.test/.example.com":       false,
		"https://evil.test?.example.com":       false,
		"https://u@a.example.com":              false,
		"https://a.example.com\r\nX-A: b":      false,
		"http://api.dev.example.net":           false,
		"http://api.dev.example.net:80":        false,
		"http://api.dev.example.net:8080.test": false,
	} {
		h := http.Header{}
		p.Response(hdr("Origin", o), h)
		if got := h.Get("Access-Control-Allow-Origin") == o; got != want {
			t.Errorf("origin %q allowed: %v, want %v", o, got, want)
		}
	}
}

// TestCORSHandler drives the functions as the gateway would, over a real
// connection: the preflight never reaches the backend, the actual request
// does and comes back with the fields.
func TestCORSHandler(t *testing.T) {
	var calls atomic.Int32
	p := mustCORS(t, appPolicy)
	srv := httptest.NewServer(corsHandler(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*") // the backend's own, replaced
		w.Write([]byte("ok"))
	})))
	defer srv.Close()

	pre, _ := http.NewRequest("OPTIONS", srv.URL, nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	res, err := srv.Client().Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Methods") == "" || calls.Load() != 0 {
		t.Errorf("preflight: %d %v, backend called %d times", res.StatusCode, res.Header, calls.Load())
	}
	pre.Header.Set("Origin", "https://evil.test")
	if res, err = srv.Client().Do(pre); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" || calls.Load() != 0 {
		t.Errorf("refused preflight: %d %v, backend called %d times", res.StatusCode, res.Header, calls.Load())
	}

	get, _ := http.NewRequest("PUT", srv.URL, nil)
	get.Header.Set("Origin", "https://app.example.com")
	if res, err = srv.Client().Do(get); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Values("Access-Control-Allow-Origin")[0] != "https://app.example.com" || len(res.Header.Values("Access-Control-Allow-Origin")) != 1 ||
		res.Header.Get("Vary") != "Origin" || calls.Load() != 1 {
		t.Errorf("actual request: %v, backend called %d times", res.Header, calls.Load())
	}
}

// corsHandler wraps next as the gateway would: preflights answered, the
// CORS fields set on the header before the backend's response is written.
func corsHandler(p *policy.CORS, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if policy.IsPreflight(r.Method, r.Header) {
			if err := p.Preflight(r.Header, w.Header()); err != nil {
				http.Error(w, portico.ErrorMessageOf(err), http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(&corsWriter{ResponseWriter: w, p: p, req: r.Header}, r)
	})
}

type corsWriter struct {
	http.ResponseWriter
	p     *policy.CORS
	req   http.Header
	wrote bool
}

func (w *corsWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.p.Response(w.req, w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
