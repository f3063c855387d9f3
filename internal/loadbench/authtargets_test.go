package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
	"github.com/portico-gw/portico/jwtauth"
	"github.com/portico-gw/portico/openapi"
	"github.com/portico-gw/portico/threat"
)

func TestBenchJSON(t *testing.T) {
	for _, size := range []int{200, 1000, benchBodyBytes, 4096} {
		b := benchJSON(size)
		if len(b) != size {
			t.Errorf("benchJSON(%d) is %d bytes", size, len(b))
		}
		if !json.Valid(b) {
			t.Fatalf("benchJSON(%d) is not JSON: %s", size, b)
		}
		// The policy targets' API takes it: threat protection at its
		// defaults, and a conversion to XML.
		if _, err := io.Copy(io.Discard, threat.NewReader(bytes.NewReader(b), threat.JSON, nil)); err != nil {
			t.Errorf("benchJSON(%d): threat protection at its defaults refuses it: %v", size, err)
		}
		var x bytes.Buffer
		if err := jsonxml.JSONToXML(&x, bytes.NewReader(b), jsonxml.Options{}); err != nil {
			t.Errorf("benchJSON(%d) does not convert to XML: %v", size, err)
		}
		if !strings.Contains(x.String(), "<sku>SKU-00001</sku>") {
			t.Errorf("benchJSON(%d) as XML lacks the first item: %s", size, clip(x.Bytes(), 300))
		}
	}
	// And the portico-validate target's document takes it, and the
	// readiness check's GET.
	v, err := openapi.NewValidator([]byte(benchDocument))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{200, benchBodyBytes, 4096} {
		r := httptest.NewRequest("POST", "/bench/hello", nil)
		r.Header.Set("Content-Type", "application/json")
		if ps := v.Validate(r, "/hello", benchJSON(size)); len(ps) > 0 {
			t.Errorf("benchJSON(%d) does not match benchDocument: %+v", size, ps)
		}
	}
	if ps := v.Validate(httptest.NewRequest("GET", "/bench/hello", nil), "/hello", nil); len(ps) > 0 {
		t.Errorf("GET /hello does not match benchDocument: %+v", ps)
	}
	if ps := v.Validate(httptest.NewRequest("POST", "/bench/hello", nil), "/hello", []byte(`{"order":{}}`)); len(ps) == 0 {
		t.Error("benchDocument takes an empty order")
	}
	if !bytes.Equal(benchJSON(benchBodyBytes), benchJSON(benchBodyBytes)) {
		t.Error("benchJSON is not the same twice")
	}
}

func TestLuaString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"POST", `"POST"`},
		{`{"a":"b\c"}`, `"{\034a\034:\034b\092c\034}"`},
		{"a\nb\x00é", `"a\010b\000\195\169"`},
	}
	for _, tt := range tests {
		if got := luaString([]byte(tt.in)); got != tt.want {
			t.Errorf("luaString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestWrkScript runs wrk with the script against a server that records
// what it receives: the body arrives byte for byte.
func TestWrkScript(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed (apt-get install -y wrk)")
	}
	body := append(benchJSON(benchBodyBytes), "\n\"quoted\" \\ \x00\xff]]"...)
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		if len(got) < 5 {
			got = append(got, r.Method+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Api-Key")+"\n"+string(b))
		}
		mu.Unlock()
	}))
	defer srv.Close()
	script := filepath.Join(t.TempDir(), "post.lua")
	if err := os.WriteFile(script, []byte(wrkScript(http.MethodPost, body)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", "-t", "1", "-c", "1", "-d", "1s", "--latency",
		"-H", "Content-Type: application/json", "-H", "X-API-Key: k", "-s", script, srv.URL+"/x").CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	if w, err := parseWrk(string(out)); err != nil || w.problem() != "" {
		t.Errorf("wrk's run: %v %s\n%s", err, w.problem(), out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the server received no request")
	}
	want := "POST application/json k\n" + string(body)
	for _, g := range got {
		if g != want {
			t.Fatalf("the server received\n%q\nwant\n%q", clip([]byte(g), 200), clip([]byte(want), 200))
		}
	}
}

func TestHeaderOf(t *testing.T) {
	h := headerOf([]string{"X-API-Key: k1", "authorization:Bearer a:b", "no colon"})
	if h.Get("X-Api-Key") != "k1" || h.Get("Authorization") != "Bearer a:b" || len(h) != 2 {
		t.Errorf("headerOf = %v", h)
	}
}

func TestBasicCredential(t *testing.T) {
	got, err := basicCredential(context.Background(), "", benchApp{id: "app_1", key: "pk_x:y"})
	if err != nil {
		t.Fatal(err)
	}
	enc, ok := strings.CutPrefix(got, "Authorization: Basic ")
	if !ok {
		t.Fatalf("basicCredential = %q", got)
	}
	if dec, err := base64.StdEncoding.DecodeString(enc); err != nil || string(dec) != "app_1:pk_x:y" {
		t.Errorf("Basic credentials %q, %v; want app_1:pk_x:y", dec, err)
	}
}

// TestJWTAPIs checks the JWT targets' issuers and tokens with jwtauth, as
// the gateway does: each issuer is valid, each token names the
// application and verifies, and is refused by another target's issuer.
func TestJWTAPIs(t *testing.T) {
	app := benchApp{id: "app_0123", key: "unused"}
	issuers := map[string][]portico.JWTIssuer{}
	tokens := map[string]string{}
	for name, newAPI := range map[string]func() (benchAPI, error){"hs256": hs256API, "rs256": rs256API} {
		api, err := newAPI()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(api.fields)
		if err != nil {
			t.Fatal(err)
		}
		var a portico.API
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if err := a.ValidateAuth(); err != nil {
			t.Errorf("%s: the API's auth does not validate: %v", name, err)
		}
		cred, err := api.credential(context.Background(), "", app)
		if err != nil {
			t.Fatal(err)
		}
		tok, ok := strings.CutPrefix(cred, "Authorization: Bearer ")
		if !ok {
			t.Fatalf("%s: credential %q", name, cred)
		}
		issuers[name], tokens[name] = a.JWTIssuers, tok
	}
	now := time.Now()
	for _, tt := range []struct{ issuer, token string }{{"hs256", "hs256"}, {"rs256", "rs256"}, {"hs256", "rs256"}, {"rs256", "hs256"}} {
		v := &jwtauth.Verifier{}
		if err := v.Update(issuers[tt.issuer]); err != nil {
			t.Fatal(err)
		}
		r, err := v.Verify(context.Background(), tokens[tt.token], now)
		if tt.issuer == tt.token {
			if err != nil || r.Application != app.id {
				t.Errorf("%s token: %+v, %v; want application %s", tt.token, r, err, app.id)
			}
			// Valid for a day, no longer.
			if _, err := v.Verify(context.Background(), tokens[tt.token], now.Add(25*time.Hour)); err == nil {
				t.Errorf("%s token verifies 25 hours on", tt.token)
			}
		} else if err == nil {
			t.Errorf("%s token verifies with the %s issuer", tt.token, tt.issuer)
		}
		v.Close()
	}
}

func TestBackendReadsBody(t *testing.T) {
	srv := httptest.NewServer(backendHandler())
	defer srv.Close()
	err := checkRequest(context.Background(), http.MethodPost, srv.URL+"/bench/hello",
		[]string{"Content-Type: application/json"}, benchJSON(benchBodyBytes), status200(backendBody))
	if err != nil {
		t.Error(err)
	}
	// A body that breaks off is a 400, not the answer.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/bench/hello", io.MultiReader(strings.NewReader("{"), errReader{}))
	backendHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || bytes.Equal(rec.Body.Bytes(), backendBody) {
		t.Errorf("a broken body: %d %q, want 400", rec.Code, rec.Body.Bytes())
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestAuthTargets(t *testing.T) {
	names := []string{"portico-basic", "portico-jwt", "portico-jwt-rs256", "portico-oauth2", "portico-threat", "portico-validate", "portico-json2xml"}
	o, err := parseFlags([]string{"-targets", "portico," + strings.Join(names, ",")}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets(o) {
		got = append(got, tg.name)
		if tg.name != "portico" && !tg.optIn {
			t.Errorf("%s is not opt-in", tg.name)
		}
	}
	if want := "portico," + strings.Join(names, ","); strings.Join(got, ",") != want {
		t.Errorf("-targets runs %v, want %s", got, want)
	}
	for _, name := range []string{"portico-basic", "portico-jwt"} {
		found := false
		for _, g := range goals {
			found = found || (g == goal{Target: name, Ref: "portico", Metric: metricRPS, Bound: 0.95})
		}
		if !found {
			t.Errorf("no goal %s ≥ 0.95 × portico", name)
		}
	}
}

func TestSummarizeAuth(t *testing.T) {
	ts := []*target{{name: "nginx"}, {name: "portico"}, {name: "portico-basic"}, {name: "portico-jwt"}}
	r := &results{
		Options: optionsOut{Rounds: 2},
		Facts:   facts{CPUs: 2},
		Runs: []runResult{
			rr("nginx", 1, 100, 1000, ""), rr("portico", 1, 50, 1000, ""), rr("portico-basic", 1, 48, 1000, ""), rr("portico-jwt", 1, 45, 1000, ""),
			rr("nginx", 2, 100, 1000, ""), rr("portico", 2, 60, 1000, ""), rr("portico-basic", 2, 60, 1000, ""), rr("portico-jwt", 2, 54, 1000, ""),
		},
	}
	r.summarize(ts)
	verdict := map[string]goalMet{}
	for _, g := range r.Goals {
		if g.Ref == "portico" {
			verdict[g.Target] = g
		}
	}
	// basic: rounds 0.96 and 1.0; jwt: 0.9 and 0.9.
	if g := verdict["portico-basic"]; !g.Known || !near(g.Ratio, 0.98) || !g.Met {
		t.Errorf("portico-basic goal = %+v, want 0.98, met", g)
	}
	if g := verdict["portico-jwt"]; !g.Known || !near(g.Ratio, 0.9) || g.Met {
		t.Errorf("portico-jwt goal = %+v, want 0.9, not met", g)
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"portico-basic / portico", "portico-jwt / nginx", "× portico ≥ 0.95", "NOT MET", "× portico |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
