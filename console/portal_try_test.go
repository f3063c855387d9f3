package console_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico/console"
)

// tryForm is a try-it form of sam's application with its key, to change
// field by field.
func tryForm(f catalogFixture, kv ...string) url.Values {
	v := url.Values{"application": {f.App}, "key": {f.Key}, "method": {"GET"}, "path": {"/today"}, "query": {"city=Paris"},
		"headers": {"Accept: application/json\r\nX-Trace: 1"}, "body": {""}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestPortalTry: the try-it form reaches the gateway's handler, and
// nothing else, with the subscriber's key, the path joined under the
// API's context, the query and headers typed; the page shows the status,
// headers, body and time. The key is not shown again.
func TestPortalTry(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	cl := e.portalSignIn(t, subName, subPW)
	cl.Get("/portal/apis/" + f.Weather)
	st, body, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f, "method", "POST", "path", "today/../tomorrow/", "body", `{"a":1}`,
		"query", "?city=S%C3%A3o+Paulo&units=metric&flag"))
	if st != http.StatusOK {
		t.Fatalf("try it: %d\n%s", st, mainOf(body))
	}
	calls := e.Gateway.Calls()
	if len(calls) != 1 {
		t.Fatalf("the gateway got %d requests, want 1", len(calls))
	}
	c := calls[0]
	if c.Method != "POST" || c.RequestURI != "/weather/tomorrow/?city=S%C3%A3o+Paulo&units=metric&flag" {
		t.Errorf("the gateway got %s %s", c.Method, c.RequestURI)
	}
	if c.Header.Get("X-Api-Key") != f.Key || c.Header.Get("Accept") != "application/json" || c.Header.Get("X-Trace") != "1" || c.Body != `{"a":1}` {
		t.Errorf("the gateway got headers %v, body %q", c.Header, c.Body)
	}
	if c.Host != "gateway.test:8080" || !strings.HasPrefix(c.RemoteAddr, "127.0.0.1:") {
		t.Errorf("the gateway got Host %q from %q", c.Host, c.RemoteAddr)
	}
	for _, want := range []string{`<strong id="try-status">200 OK</strong>`, "X-Backend", "{&#34;path&#34;:&#34;/weather/tomorrow/&#34;}", " ms</span>", "Body: 29 bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("the result lacks %q", want)
		}
	}
	if strings.Contains(body, f.Key) {
		t.Error("the page shows the key that was used")
	}
	if !strings.Contains(body, `value="today/../tomorrow/"`) {
		t.Error("the form does not keep the path typed")
	}

	// A Basic-only API gets the application's ID and the key as Basic
	// credentials.
	cl.Post("/portal/apis/"+f.Basic+"/try", tryForm(f))
	calls = e.Gateway.Calls()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.App+":"+f.Key))
	if len(calls) != 2 || calls[1].Header.Get("Authorization") != want || calls[1].Header.Get("X-Api-Key") != "" {
		t.Errorf("the Basic API's call: %v", calls[len(calls)-1].Header)
	}

	// A body over 1 MiB is cut at 1 MiB, and the page says so.
	e.Gateway.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", 1<<20)+strings.Repeat("y", 1000))
	}
	_, body, _ = cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f))
	out := between(body, `id="try-body-out">`, "</pre>")
	if !strings.Contains(body, "<strong>truncated</strong>") || !strings.Contains(body, "Body: 1049576 bytes") || len(out) != 1<<20 || strings.Contains(out, "y") {
		t.Errorf("a 1 MiB + 1000 bytes answer: truncated %v, %d bytes shown", strings.Contains(body, "truncated"), len(out))
	}
	// A response the gateway cuts off (http.ErrAbortHandler) is shown
	// as far as it came.
	e.Gateway.answer = func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	}
	st, body, _ = cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f))
	if st != http.StatusOK || !strings.Contains(body, "cut the response off") || !strings.Contains(body, "partial") {
		t.Errorf("an aborted answer: %d", st)
	}
}

// TestPortalTryRefusals: hostile or wrong try-it forms are refused, naming
// the field, and nothing reaches the gateway: another user's application
// or key, a revoked key, paths that leave the API's context, control
// characters, header injection, fields the portal sets, oversized inputs,
// a method not offered, and a form over 256 KiB.
func TestPortalTryRefusals(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	revoked := mustAPI(t, e.Console, subName, subPW, "POST", "/applications/"+f.App+"/keys", "", 201)
	mustAPI(t, e.Console, subName, subPW, "DELETE", "/applications/"+f.App+"/keys/"+revoked["id"].(string), "", 204)
	cl := e.portalSignIn(t, subName, subPW)
	cl.Get("/portal/apis/" + f.Weather)
	for _, tc := range []struct {
		name  string
		form  url.Values
		want  int
		field string
	}{
		{"sue's application", tryForm(f, "application", f.OtherApp, "key", f.OtherKey), 403, "application"},
		{"sue's key with sam's application", tryForm(f, "key", f.OtherKey), 403, "key"},
		{"a made-up key with sam's key's prefix", tryForm(f, "key", f.KeyPrefix+"0000000000000000000000000000000000000000"), 403, "key"},
		{"a revoked key", tryForm(f, "key", revoked["key"].(string)), 403, "key"},
		{"no key", tryForm(f, "key", ""), 400, "key"},
		{"a key with a newline", tryForm(f, "key", f.Key+"\r\nX-Evil: 1"), 400, "key"},
		{"no application", tryForm(f, "application", ""), 400, "application"},
		{"an unknown application", tryForm(f, "application", "nope"), 403, "application"},
		{"dot segments out of the context", tryForm(f, "path", "/../admin"), 400, "path"},
		{"deeper dot segments", tryForm(f, "path", "a/b/../../../oldweather/x"), 400, "path"},
		{"encoded dot segments", tryForm(f, "path", "/%2e%2e/oldweather"), 400, "path"},
		{"an encoded slash", tryForm(f, "path", "/..%2foldweather"), 400, "path"},
		{"a backslash", tryForm(f, "path", `/..\oldweather`), 400, "path"},
		{"a sibling context", tryForm(f, "path", "/../weatherX"), 400, "path"},
		{"an absolute URL", tryForm(f, "path", "http://169.254.169.254/latest"), 400, "path"},
		{"a query in the path", tryForm(f, "path", "/x?api_key=1"), 400, "path"},
		{"CRLF in the path", tryForm(f, "path", "/x\r\nHost: evil"), 400, "path"},
		{"encoded CRLF in the path", tryForm(f, "path", "/x%0d%0aHost:%20evil"), 400, "path"},
		{"NUL in the path", tryForm(f, "path", "/x%00"), 400, "path"},
		{"a path over 2 KiB", tryForm(f, "path", "/"+strings.Repeat("a", 2048)), 400, "path"},
		{"CRLF in the query", tryForm(f, "query", "a=1\r\nHost: evil"), 400, "query"},
		{"an api_key parameter", tryForm(f, "query", "api_key="+f.OtherKey), 400, "query"},
		{"an API-KEY parameter", tryForm(f, "query", "API-KEY=x"), 400, "query"},
		{"a bad escape in the query", tryForm(f, "query", "a=%zz"), 400, "query"},
		{"a query over 8 KiB", tryForm(f, "query", "a="+strings.Repeat("b", 8<<10)), 400, "query"},
		{"a CR within a header line", tryForm(f, "headers", "X-A: 1\rX-B: 2"), 400, "headers"},
		{"a NUL in a value", tryForm(f, "headers", "X-A: a\x00b"), 400, "headers"},
		{"a folded line", tryForm(f, "headers", "X-A: 1\r\n  continued"), 400, "headers"},
		{"a line without a colon", tryForm(f, "headers", "garbage"), 400, "headers"},
		{"a name with a space", tryForm(f, "headers", "X A: 1"), 400, "headers"},
		{"a name with a non-token byte", tryForm(f, "headers", "X(A): 1"), 400, "headers"},
		{"Host", tryForm(f, "headers", "Host: 169.254.169.254"), 400, "headers"},
		{"Authorization", tryForm(f, "headers", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(f.OtherApp+":"+f.OtherKey))), 400, "headers"},
		{"the key header", tryForm(f, "headers", "x-api-key: "+f.OtherKey), 400, "headers"},
		{"the key header with _", tryForm(f, "headers", "X_API_KEY: "+f.OtherKey), 400, "headers"},
		{"X-Forwarded-For", tryForm(f, "headers", "X-Forwarded-For: 10.0.0.1"), 400, "headers"},
		{"Forwarded", tryForm(f, "headers", "Forwarded: for=10.0.0.1"), 400, "headers"},
		{"X-Portico-Application", tryForm(f, "headers", "X-Portico-Application: "+f.OtherApp), 400, "headers"},
		{"Transfer-Encoding", tryForm(f, "headers", "Transfer-Encoding: chunked"), 400, "headers"},
		{"Content-Length", tryForm(f, "headers", "Content-Length: 5"), 400, "headers"},
		{"Upgrade", tryForm(f, "headers", "Upgrade: websocket"), 400, "headers"},
		{"51 headers", tryForm(f, "headers", strings.Repeat("X-A: 1\n", 51)), 400, "headers"},
		{"headers over 16 KiB", tryForm(f, "headers", "X-A: "+strings.Repeat("a", 16<<10)), 400, "headers"},
		{"a method not offered", tryForm(f, "method", "CONNECT"), 400, "method"},
		{"a method with CRLF", tryForm(f, "method", "GET /x HTTP/1.1\r\nHost: evil\r\n\r\nGET"), 400, "method"},
		{"a body over 128 KiB", tryForm(f, "body", strings.Repeat("a", 128<<10+1)), 413, "body"},
	} {
		st, body, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tc.form)
		if st != tc.want || !strings.Contains(body, "(field <code>"+tc.field+"</code>)") {
			t.Errorf("%s: %d, want %d naming field %s\n%s", tc.name, st, tc.want, tc.field, between(body, `class="error"`, "</p>"))
		}
		if k := tc.form.Get("key"); k != "" && strings.Contains(body, k) {
			t.Errorf("%s: the page shows the key typed in the key field", tc.name)
		}
	}
	if n := len(e.Gateway.Calls()); n != 0 {
		t.Errorf("refused forms reached the gateway %d times: %v", n, e.Gateway.Calls())
	}
	// A form over 256 KiB is refused before it is read.
	st, _, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f, "body", strings.Repeat("a", 256<<10)))
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over 256 KiB: %d, want 413", st)
	}
	// Without CSRF token or from another site, nothing is sent either.
	for _, form := range []url.Values{tryForm(f, "csrf", ""), tryForm(f, "csrf", "0000")} {
		if st, _, _ := cl.Post("/portal/apis/"+f.Weather+"/try", form); st != http.StatusForbidden {
			t.Errorf("try it without the CSRF token: %d, want 403", st)
		}
	}
	req, _ := http.NewRequest("POST", e.URL+"/portal/apis/"+f.Weather+"/try", strings.NewReader(tryForm(f, "csrf", cl.CSRF).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if st, _, _ := cl.Do(req); st != http.StatusForbidden {
		t.Errorf("try it from another origin: %d, want 403", st)
	}
	// A visitor cannot try at all; another subscriber cannot use sam's
	// application even with its key.
	if st, _, _ := e.NewClient(t).Post("/portal/apis/"+f.Weather+"/try", tryForm(f)); st != http.StatusSeeOther {
		t.Errorf("try it without a session: %d, want 303 to the sign-in page", st)
	}
	sue := e.portalSignIn(t, sub2Name, sub2PW)
	sue.Get("/portal/apis/" + f.Weather)
	if st, _, _ := sue.Post("/portal/apis/"+f.Weather+"/try", tryForm(f)); st != http.StatusForbidden {
		t.Errorf("sue trying with sam's application and key: %d, want 403", st)
	}
	if n := len(e.Gateway.Calls()); n != 0 {
		t.Errorf("refused forms reached the gateway %d times", n)
	}
	// The refusals above did not block the right form.
	if st, _, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f)); st != http.StatusOK || len(e.Gateway.Calls()) != 1 {
		t.Errorf("the right form after the refusals: %d, %d calls", st, len(e.Gateway.Calls()))
	}
}

// TestPortalTryForwarding: the gateway sees the client's address as the
// front door reported it to the portal, never as the form typed it.
func TestPortalTryForwarding(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	cl := e.portalSignIn(t, subName, subPW)
	cl.Get("/portal/apis/" + f.Weather)
	req, _ := http.NewRequest("POST", e.URL+"/portal/apis/"+f.Weather+"/try", strings.NewReader(tryForm(f, "csrf", cl.CSRF).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	if st, body, _ := cl.Do(req); st != http.StatusOK {
		t.Fatalf("try it: %d\n%s", st, mainOf(body))
	}
	calls := e.Gateway.Calls()
	if len(calls) != 1 || calls[0].Header.Get("X-Forwarded-For") != "203.0.113.7" {
		t.Errorf("the gateway got X-Forwarded-For %q, want the browser request's", calls[0].Header.Get("X-Forwarded-For"))
	}
}

// TestPortalTryBounded: a node runs at most tryParallel try-it calls at
// once; one more is refused at once with 503 and Retry-After, never
// queued, and the slots come back when the calls end.
func TestPortalTryBounded(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	gateway := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})
	e := newPortal(t, func(c *console.Server) { c.Gateway = gateway })
	f := seedCatalog(t, e)
	// A client each: a Client is not for concurrent use.
	send := func() (int, string) {
		cl := e.portalSignIn(t, subName, subPW)
		cl.Get("/portal/apis/" + f.Weather)
		st, body, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f))
		return st, body
	}
	var done sync.WaitGroup
	for range 4 {
		done.Add(1)
		go func() { defer done.Done(); send() }()
	}
	for range 4 {
		<-started
	}
	if st, body := send(); st != http.StatusServiceUnavailable || !strings.Contains(body, "Too many calls") {
		t.Errorf("a fifth call at once: %d, want 503\n%s", st, mainOf(body))
	}
	close(release)
	done.Wait()
	if st, body := send(); st != http.StatusOK || !strings.Contains(body, "done") {
		t.Errorf("a call after the others ended: %d, want 200\n%s", st, mainOf(body))
	}
}
