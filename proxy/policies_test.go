package proxy

import (
	"bufio"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

// captured is what a capturing backend got.
type captured struct {
	method string
	header http.Header
	length int64
	body   string
	err    error // reading the body
}

// capture is a backend that notes each request and answers with respond
// (a 200 "ok" when nil).
type capture struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []captured
}

func newCapture(t *testing.T, respond http.HandlerFunc) *capture {
	t.Helper()
	c := &capture{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{r.Method, r.Header.Clone(), r.ContentLength, string(b), err})
		c.mu.Unlock()
		if err != nil {
			return
		}
		if respond != nil {
			respond(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

func (c *capture) last(t *testing.T) captured {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		t.Fatal("the backend got no request")
	}
	return c.reqs[len(c.reqs)-1]
}

// withBody returns the latest request the backend got with body, and
// whether there is one: a request cut off earlier may be noted after a
// later one, so the last one noted is not always the one just answered.
func (c *capture) withBody(body string) (captured, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.reqs) - 1; i >= 0; i-- {
		if c.reqs[i].body == body && c.reqs[i].err == nil {
			return c.reqs[i], true
		}
	}
	return captured{}, false
}

// policyAPI puts an open API (or one of auth) with policies p.
func (w *world) policyAPI(id, ctx, target string, auth portico.AuthType, p *portico.Policies) {
	w.authAPI(id, ctx, target, portico.AuthMethods{auth}, func(a *portico.API) { a.Policies = p })
}

func TestIPRules(t *testing.T) {
	w := newWorld(t)
	tp, err := policy.NewTrustedProxies([]string{"127.0.0.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	trusting := newWorld(t)
	trusting.gw.TrustedProxies = tp
	rec := &recorded{}
	trusting.gw.Recorder = rec
	for _, w := range []*world{w, trusting} {
		be := newCapture(t, nil)
		w.policyAPI("deny", "/deny", be.URL, portico.AuthNone, &portico.Policies{IPRules: &portico.IPRules{Deny: []string{"127.0.0.0/8"}}})
		w.policyAPI("allow", "/allow", be.URL, portico.AuthNone, &portico.Policies{IPRules: &portico.IPRules{Allow: []string{"203.0.113.0/24"}}})
		w.policyAPI("none", "/none", be.URL, portico.AuthNone, nil)
	}
	tests := []struct {
		name   string
		w      *world
		path   string
		xff    string
		status int
	}{
		{"denied peer", w, "/deny/x", "", 403},
		{"denied peer, forged XFF", w, "/deny/x", "198.51.100.1", 403},
		{"not allowed", w, "/allow/x", "", 403},
		{"XFF of an untrusted peer ignored", w, "/allow/x", "203.0.113.7", 403},
		{"XFF of a trusted proxy", trusting, "/allow/x", "203.0.113.7", 200},
		{"XFF of a trusted proxy, client not allowed", trusting, "/allow/x", "198.51.100.1", 403},
		{"XFF spoofed left of the client", trusting, "/allow/x", "203.0.113.7, 198.51.100.1", 403},
		{"trusted proxy's client not denied", trusting, "/deny/x", "198.51.100.1", 200},
		{"no rules", w, "/none/x", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.xff != "" {
				hdr = []string{"X-Forwarded-For", tt.xff}
			}
			resp, body := do(t, "GET", tt.w.srv.URL+tt.path, nil, hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.w == trusting {
				if want := strings.TrimSpace(tt.xff[strings.LastIndexByte(tt.xff, ',')+1:]); rec.last(t).ClientIP != want {
					t.Errorf("recorded client %q, want %q", rec.last(t).ClientIP, want)
				}
			}
			if tt.status == 403 {
				e := decodeErr(t, body)
				if e.Error.Code != "forbidden" || strings.Contains(e.Error.Message, "127.") || strings.Contains(e.Error.Message, "/8") {
					t.Errorf("refusal %+v names a rule or is not forbidden", e.Error)
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	w := newWorld(t)
	w.gw.Limiter = admitAll{}
	be := newCapture(t, func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Access-Control-Allow-Origin", "*")
		rw.Header().Set("Vary", "Accept-Encoding")
		rw.Write([]byte("ok"))
	})
	w.policyAPI("api", "/api", be.URL, portico.AuthAPIKey, &portico.Policies{CORS: &portico.CORS{
		AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"X-Custom"},
		ExposedHeaders: []string{"X-Request-Id"}, MaxAge: portico.Duration(time.Hour),
	}})
	key := w.subscribe("app", "api", portico.Approved)
	u := w.srv.URL + "/api/x"

	resp, body := do(t, "OPTIONS", u, nil, "Origin", "https://app.example", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-custom")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example", "Access-Control-Request-Method", "PUT"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "PATCH"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-other"},
	} {
		resp, body := do(t, "OPTIONS", u, nil, hdr...)
		if resp.StatusCode != 403 || errorCode(t, body) != "forbidden" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %q: %d %v %s, want 403 without CORS fields", hdr, resp.StatusCode, resp.Header, body)
		}
	}
	if n := be.count(); n != 0 {
		t.Fatalf("%d preflights reached the backend", n)
	}

	resp, _ = do(t, "GET", u, nil, "Origin", "https://app.example", "X-API-Key", key)
	if resp.StatusCode != 200 || resp.Header.Values("Access-Control-Allow-Origin")[0] != "https://app.example" || len(resp.Header.Values("Access-Control-Allow-Origin")) != 1 ||
		resp.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Errorf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("Vary %q lacks Origin", resp.Header.Values("Vary"))
	}
	resp, _ = do(t, "GET", u, nil, "Origin", "https://evil.example", "X-API-Key", key)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused origin got the backend's CORS fields: %v", resp.Header)
	}
	resp, body = do(t, "GET", u, nil, "Origin", "https://app.example")
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("gateway error without CORS fields: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// A POST goes through httputil.ReverseProxy on either engine.
	resp, _ = do(t, "POST", u, strings.NewReader("x"), "Origin", "https://app.example", "X-API-Key", key)
	if resp.StatusCode != 200 || len(resp.Header.Values("Access-Control-Allow-Origin")) != 1 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("POST: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHeaderRules(t *testing.T) {
	w := newWorld(t)
	w.gw.Limiter = admitAll{}
	be := newCapture(t, func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Backend-Internal", "secret")
		rw.Header().Set("X-Old-Resp", "v")
		rw.Write([]byte("ok"))
	})
	rules := func(which string) *portico.HeaderRules {
		return &portico.HeaderRules{
			Request: []portico.HeaderOp{
				{Op: portico.HeaderSet, Name: "X-Caller", Value: "$(application)/$(subscriber)"},
				{Op: portico.HeaderAdd, Name: "X-Trace", Value: "$(request_id) $(api) $(client_ip)"},
				{Op: portico.HeaderRemove, Name: "X-Secret"},
				{Op: portico.HeaderRename, Name: "X-Old", To: "X-New"},
				{Op: portico.HeaderSet, Name: "X-Which", Value: which},
			},
			Response: []portico.HeaderOp{
				{Op: portico.HeaderSet, Name: "X-Served-By", Value: which},
				{Op: portico.HeaderRemove, Name: "X-Backend-Internal"},
				{Op: portico.HeaderRename, Name: "X-Old-Resp", To: "X-New-Resp"},
			},
		}
	}
	w.policyAPI("api", "/api", be.URL, portico.AuthAPIKey, &portico.Policies{
		Headers:   rules("base"),
		Resources: []portico.ResourcePolicies{{Pattern: "/special/**", Headers: rules("special")}},
	})
	key := w.subscribe("app", "api", portico.Approved)
	for _, tt := range []struct{ method, path, which string }{
		{"GET", "/api/x", "base"},
		{"GET", "/api/special/y", "special"},
		{"POST", "/api/special/y", "special"},
		{"POST", "/api/x", "base"},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader("{}")
			}
			resp, rb := do(t, tt.method, w.srv.URL+tt.path, body, "X-API-Key", key, "X-Secret", "s", "X-Old", "o", "X-Request-Id", "req-1")
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, rb)
			}
			h := be.last(t).header
			want := map[string]string{"X-Caller": "app/sub", "X-Trace": "req-1 api 127.0.0.1", "X-Secret": "", "X-Old": "", "X-New": "o", "X-Which": tt.which}
			for name, v := range want {
				if got := strings.Join(h[name], ","); got != v {
					t.Errorf("backend got %s %q, want %q", name, got, v)
				}
			}
			if resp.Header.Get("X-Served-By") != tt.which || resp.Header.Get("X-Backend-Internal") != "" ||
				resp.Header.Get("X-Old-Resp") != "" || resp.Header.Get("X-New-Resp") != "v" {
				t.Errorf("response header %v", resp.Header)
			}
		})
	}
}

// rawRequest writes head (and body) on a new connection to srv and reads
// the response, within a deadline.
func rawRequest(t *testing.T, srvURL, head, body string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestThreatProtection(t *testing.T) {
	w := newWorld(t)
	be := newCapture(t, nil)
	tp := &portico.ThreatProtection{
		MaxBodyBytes: 4096, AllowedMethods: []string{"GET", "POST"}, AllowedContentTypes: []string{"application/json", "application/xml"},
		JSON: portico.ThreatJSONLimits{MaxDepth: 5}, XML: portico.ThreatXMLLimits{MaxDepth: 5},
	}
	w.policyAPI("api", "/api", be.URL, portico.AuthNone, &portico.Policies{
		ThreatProtection: tp,
		Resources:        []portico.ResourcePolicies{{Pattern: "POST /big", ThreatProtection: &portico.ThreatProtection{MaxBodyBytes: 1 << 20}}},
	})
	host := "Host: gw\r\n"

	t.Run("413 before the body", func(t *testing.T) {
		resp, body := rawRequest(t, w.srv.URL, "POST /api/x HTTP/1.1\r\n"+host+"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n", "")
		if resp.StatusCode != 413 || errorCode(t, body) != "too_large" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	for _, tt := range []struct {
		name, method, ct, body string
		status                 int
		code                   string
	}{
		{"method", "DELETE", "", "", 405, "method_not_allowed"},
		{"media type", "POST", "text/plain", "x", 415, "unsupported"},
		{"two media types", "POST", "", "x", 415, "unsupported"}, // see below: two Content-Type fields
		{"deep json", "POST", "application/json", strings.Repeat("[", 6) + strings.Repeat("]", 6), 400, "invalid"},
		{"deep xml", "POST", "application/xml", strings.Repeat("<a>", 6) + strings.Repeat("</a>", 6), 400, "invalid"},
		{"malformed json", "POST", "application/json", `{"a":}`, 400, "invalid"},
		{"over the size, chunked", "POST", "application/json", `["` + strings.Repeat("x", 5000) + `"]`, 413, "too_large"},
		{"good json", "POST", "application/json", `{"a":[[1]]}`, 200, ""},
		{"good xml", "POST", "application/xml", `<a><b>1</b></a>`, 200, ""},
		{"get", "GET", "", "", 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := be.count()
			var body io.Reader
			if tt.body != "" {
				// A reader of unknown length: sent chunked, checked as it streams.
				body = io.MultiReader(strings.NewReader(tt.body))
			}
			hdr := []string{}
			if tt.ct != "" {
				hdr = append(hdr, "Content-Type", tt.ct)
			} else if tt.name == "two media types" {
				hdr = append(hdr, "Content-Type", "application/json", "Content-Type", "application/xml")
			}
			resp, rb := do(t, tt.method, w.srv.URL+"/api/x", body, hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, rb)
			}
			if tt.status == 200 {
				// The request just answered, not the last noted: the
				// over-size one before it was cut off mid-body, and its
				// handler may note it after this one.
				if _, ok := be.withBody(tt.body); !ok || be.count() <= n {
					t.Errorf("the backend never got the whole body %q", tt.body)
				}
				return
			}
			if code := errorCode(t, rb); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
			be.mu.Lock()
			defer be.mu.Unlock()
			for _, r := range be.reqs[n:] {
				if r.err == nil {
					t.Errorf("the backend got a complete request: %q", r.body)
				}
			}
		})
	}
	t.Run("resource override", func(t *testing.T) {
		big := `["` + strings.Repeat("x", 8000) + `"]`
		resp, rb := do(t, "POST", w.srv.URL+"/api/big", io.MultiReader(strings.NewReader(big)), "Content-Type", "application/json")
		if _, ok := be.withBody(big); resp.StatusCode != 200 || !ok {
			t.Errorf("%d %s", resp.StatusCode, rb)
		}
	})

	// A deep document streamed slowly: the backend has begun reading
	// when the violation comes, and must see the request cut off.
	t.Run("deep json mid-stream", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"a":[1,2,3],"b":`))
			time.Sleep(50 * time.Millisecond)
			pw.Write([]byte(strings.Repeat("[", 10)))
			time.Sleep(50 * time.Millisecond)
			pw.Write([]byte(strings.Repeat("]", 10) + "}"))
			pw.Close()
		}()
		n := be.count()
		resp, rb := do(t, "POST", w.srv.URL+"/api/x", pr, "Content-Type", "application/json")
		if resp.StatusCode != 400 || errorCode(t, rb) != "invalid" {
			t.Errorf("%d %s", resp.StatusCode, rb)
		}
		// The backend's handler runs on its own goroutine: wait for it.
		deadline := time.Now().Add(5 * time.Second)
		for be.count() == n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		be.mu.Lock()
		defer be.mu.Unlock()
		if len(be.reqs) == n {
			t.Fatal("the request never reached the backend: the test checks nothing")
		}
		for _, r := range be.reqs[n:] {
			if r.err == nil {
				t.Errorf("the backend got a complete request: %q", r.body)
			}
		}
	})
}

func TestConversion(t *testing.T) {
	w := newWorld(t)
	w.gw.Limiter = admitAll{}
	var mu sync.Mutex
	reply, replyType := `{"order":{"id":7,"items":["a","b"]}}`, "application/json"
	be := newCapture(t, func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body, ct := reply, replyType
		mu.Unlock()
		rw.Header().Set("Content-Type", ct)
		rw.Write([]byte(body))
	})
	setReply := func(body, ct string) {
		mu.Lock()
		reply, replyType = body, ct
		mu.Unlock()
	}
	w.policyAPI("api", "/api", be.URL, portico.AuthNone, &portico.Policies{
		Conversion: &portico.Conversion{Request: portico.ConvertJSONToXML, Response: portico.ConvertJSONToXML, Root: "doc", MaxBytes: 2048},
		Resources: []portico.ResourcePolicies{{Pattern: "/raw/**", Conversion: &portico.Conversion{}},
			{Pattern: "/back/**", Conversion: &portico.Conversion{Request: portico.ConvertXMLToJSON, Response: portico.ConvertXMLToJSON}}},
	})
	u := w.srv.URL

	t.Run("request", func(t *testing.T) {
		resp, rb := do(t, "POST", u+"/api/x", strings.NewReader(`{"a":1,"b":"x"}`), "Content-Type", "application/json")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, rb)
		}
		got := be.last(t)
		if !strings.HasPrefix(got.header.Get("Content-Type"), "application/xml") || got.length != int64(len(got.body)) ||
			got.header.Get("Content-Length") != strconv.Itoa(len(got.body)) {
			t.Errorf("backend got %q with Content-Type %q, length %d", got.body, got.header.Get("Content-Type"), got.length)
		}
		if err := xml.Unmarshal([]byte(got.body), new(any)); err != nil || !strings.Contains(got.body, "<doc") {
			t.Errorf("backend got %q: %v", got.body, err)
		}
	})
	for _, method := range []string{"GET", "POST"} { // both engines' forwarding paths
		t.Run("response "+method, func(t *testing.T) {
			setReply(`{"order":{"id":7,"items":["a","b"]}}`, "application/json")
			var body io.Reader
			if method == "POST" {
				body = strings.NewReader(`{}`)
			}
			resp, rb := do(t, method, u+"/api/x", body, "Content-Type", "application/json")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") ||
				resp.Header.Get("Content-Length") != strconv.Itoa(len(rb)) || !strings.Contains(rb, "<doc") {
				t.Errorf("%d %v %q", resp.StatusCode, resp.Header, rb)
			}
		})
	}
	t.Run("xml to json override", func(t *testing.T) {
		setReply(`<r><id>7</id></r>`, "application/xml")
		resp, rb := do(t, "POST", u+"/api/back/x", strings.NewReader(`<q><n>1</n></q>`), "Content-Type", "application/xml")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(rb, `"id"`) {
			t.Errorf("%d %v %q", resp.StatusCode, resp.Header, rb)
		}
		if got := be.last(t); got.header.Get("Content-Type") != "application/json" || !strings.Contains(got.body, `"n"`) {
			t.Errorf("backend got %q as %q", got.body, got.header.Get("Content-Type"))
		}
	})
	t.Run("no conversion override", func(t *testing.T) {
		setReply(`{"a":1}`, "application/json")
		resp, rb := do(t, "POST", u+"/api/raw/x", strings.NewReader(`{"b":2}`), "Content-Type", "application/json")
		if resp.StatusCode != 200 || rb != `{"a":1}` || be.last(t).body != `{"b":2}` {
			t.Errorf("%d %q, backend got %q", resp.StatusCode, rb, be.last(t).body)
		}
	})
	t.Run("other types pass", func(t *testing.T) {
		setReply("plain", "text/plain")
		resp, rb := do(t, "POST", u+"/api/x", strings.NewReader("text"), "Content-Type", "text/plain")
		if resp.StatusCode != 200 || rb != "plain" || be.last(t).body != "text" {
			t.Errorf("%d %q", resp.StatusCode, rb)
		}
	})
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"request too large", `["` + strings.Repeat("x", 3000) + `"]`, 413, "too_large"},
		{"request malformed", `{"a":`, 400, "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := be.count()
			resp, rb := do(t, "POST", u+"/api/x", io.MultiReader(strings.NewReader(tt.body)), "Content-Type", "application/json")
			if resp.StatusCode != tt.status || errorCode(t, rb) != tt.code || be.count() != n {
				t.Errorf("%d %s; backend reached %v", resp.StatusCode, rb, be.count() != n)
			}
		})
	}
	// A hostile backend: its body too large or not JSON.
	for _, tt := range []struct{ name, body string }{
		{"too large", `["` + strings.Repeat("x", 5000) + `"]`},
		{"malformed", `{"a":[1,2`},
		{"huge", `["` + strings.Repeat("x", 4<<20) + `"]`},
		{"duplicate names", `{"a":1,"a":2}`},
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run("backend "+tt.name+" "+method, func(t *testing.T) {
				setReply(tt.body, "application/json")
				var body io.Reader
				if method == "POST" {
					body = strings.NewReader(`{}`)
				}
				resp, rb := do(t, method, u+"/api/x", body, "Content-Type", "application/json")
				if resp.StatusCode != 502 || errorCode(t, rb) != "bad_gateway" {
					t.Errorf("%d %.200s", resp.StatusCode, rb)
				}
			})
		}
	}
}

// TestPoliciesInvalid: an API whose policies do not compile (a store
// edited by hand) answers 503 instead of going unprotected.
func TestPoliciesInvalid(t *testing.T) {
	w := newWorld(t)
	be := newCapture(t, nil)
	w.policyAPI("api", "/api", be.URL, portico.AuthNone, &portico.Policies{IPRules: &portico.IPRules{Deny: []string{"not an address"}}})
	resp, body := do(t, "GET", w.srv.URL+"/api/x", nil)
	if resp.StatusCode != 503 || be.count() != 0 {
		t.Errorf("%d %s, backend reached %d times", resp.StatusCode, body, be.count())
	}
}
