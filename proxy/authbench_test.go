package proxy

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
	"github.com/portico-gw/portico/threat"
)

// nopWriter is a ResponseWriter that keeps nothing, for benchmarks of
// steps that write only on refusal.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// benchAuth measures authenticate, the auth step of the request path (4
// in doc.go), for one API taking method, with the request's credential in
// hdr (or key). The three BenchmarkAuth* put the methods side by side:
// what Basic or a cached JWT costs over an API key.
func benchAuth(b *testing.B, method portico.AuthType, key string, hdr ...string) {
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	vf := &verifierFactory{ids: map[string]portico.TokenIdentity{"tok": {Issuer: "https://idp.example", Application: "app"}}}
	w.gw.NewJWTVerifier = vf.new
	w.authAPI("api", "/api", "http://127.0.0.1:1", portico.AuthMethods{method}, nil)
	realKey := w.subscribe("app", "api", portico.Approved)
	if key == "key" {
		key = realKey
	}
	for i := range hdr {
		hdr[i] = strings.ReplaceAll(hdr[i], "KEY", base64.StdEncoding.EncodeToString([]byte("app:"+realKey)))
	}
	snap := w.gw.snap.Load()
	up := snap.routes["/api"].up
	req := httptest.NewRequest("GET", "/api/x", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rw := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if app, _, ok := w.gw.authenticate(rw, req, snap, up, key, jsonErrors); !ok || app.ID != "app" {
			b.Fatal("refused")
		}
	}
}

func BenchmarkAuthAPIKey(b *testing.B) { benchAuth(b, portico.AuthAPIKey, "key") }
func BenchmarkAuthBasic(b *testing.B) {
	benchAuth(b, portico.AuthBasic, "", "Authorization", "Basic KEY")
}

// BenchmarkAuthJWTCached: the verifier is a fake that answers at once, as
// jwtauth's cache does (jwtauth's BenchmarkVerifyCached measures that
// cache: add the two).
func BenchmarkAuthJWTCached(b *testing.B) {
	benchAuth(b, portico.AuthJWT, "", "Authorization", "Bearer tok")
}

// body2KiB is a JSON order of about 2 KiB.
var body2KiB = func() string {
	var sb strings.Builder
	sb.WriteString(`{"order":{"id":"ord-7f3a","customer":{"id":"c-19","name":"Ada Lovelace","email":"ada@example.com"},"items":[`)
	for i := 0; sb.Len() < 1900; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"sku":"SKU-10042","name":"Widget, large","qty":3,"price":19.99,"tags":["a","b"]}`)
	}
	sb.WriteString(`],"paid":true,"note":null}}`)
	return sb.String()
}()

// BenchmarkThreatJSON2KiB: threat protection's cost on a request (step 6):
// Check, then a 2 KiB JSON body read through the checker.
func BenchmarkThreatJSON2KiB(b *testing.B) {
	tp := &portico.ThreatProtection{}
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(body2KiB)))
	b.ReportAllocs()
	for b.Loop() {
		if err := threat.Check("POST", "application/json", int64(len(body2KiB)), tp); err != nil {
			b.Fatal(err)
		}
		cb := newCheckedBody(io.NopCloser(strings.NewReader(body2KiB)), threat.JSON, tp)
		if err := copyBody(io.Discard, cb, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertJSONToXML2KiB: request conversion (step 8) of a 2 KiB
// JSON body.
func BenchmarkConvertJSONToXML2KiB(b *testing.B) {
	c := &portico.Conversion{Request: portico.ConvertJSONToXML}
	st := &reqState{body: &bodyPolicies{conv: c, opts: jsonxml.OptionsFor(c)}}
	rw := &nopWriter{h: http.Header{}}
	b.SetBytes(int64(len(body2KiB)))
	b.ReportAllocs()
	for b.Loop() {
		r := &http.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body2KiB)), ContentLength: int64(len(body2KiB))}
		if !convertRequest(rw, r, st) {
			b.Fatal("refused")
		}
	}
}
