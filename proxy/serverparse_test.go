package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// fastParse runs the fast engine's parser on data as Server does and
// returns the request when the fast path takes it.
func fastParse(data []byte) (*http.Request, bool) {
	if len(data) > readBufSize {
		data = data[:readBufSize]
	}
	n := requestHeadEnd(data, 0)
	if n < 0 {
		return nil, false
	}
	c := &conn{br: bufio.NewReaderSize(bytes.NewReader(data), readBufSize), req: &http.Request{}, remote: "192.0.2.1:1234"}
	c.br.Peek(len(data))
	if !c.parse(n) {
		return nil, false
	}
	return c.req, true
}

var parseSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /api/x?a=b&api_key=k HTTP/1.1\r\nHost: gw.example:8080\r\nX-API-Key: k\r\nAccept: */*\r\n\r\n",
	"HEAD /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n",
	"DELETE /a/b/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"OPTIONS /a? HTTP/1.1\r\nHost: a\r\nx-custom:  spaced value \t\r\nX-Custom: two\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
	"GET /a HTTP/1.1\nHost: a\n\n",
	"GET /a HTTP/1.0\r\nHost: a\r\n\r\n",
	"get /a HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a[b]!('*) HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n",
	"HEAD /a HTTP/1.1\r\nHost: a\r\ntransfer_encoding: chunked\r\n\r\n",
}

// TestFastParseRefusesTheAmbiguous: requests with a body, a framing
// field, folding, bare line feeds, another version, absolute form or a
// second Host are not the fast path's: net/http decides them.
func TestFastParseRefusesTheAmbiguous(t *testing.T) {
	for i, s := range parseSeeds {
		_, ok := fastParse([]byte(s))
		want := i < 5 || i == 16
		if ok != want {
			t.Errorf("%q: fast path takes it = %v, want %v", s, ok, want)
		}
	}
}

// FuzzServerParse: whatever the fast engine's parser takes, Go's own
// request reader reads the same way — method, target, Host, every
// field, no body, the same keep-alive — so the engine never reads a
// request otherwise than net/http would.
func FuzzServerParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastParse(data)
		if !ok {
			return
		}
		std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("fast path took %q, net/http refuses it: %v", data, err)
		}
		if fast.Method != std.Method || fast.Host != std.Host || fast.RequestURI != std.RequestURI ||
			fast.URL.Path != std.URL.Path || fast.URL.RawPath != std.URL.RawPath ||
			fast.URL.RawQuery != std.URL.RawQuery || fast.URL.ForceQuery != std.URL.ForceQuery ||
			fast.Close != std.Close || std.ContentLength != 0 || fast.ProtoMinor != std.ProtoMinor {
			t.Fatalf("%q read differently:\nfast %s %q host %q path %q raw %q query %q close %v\nstd  %s %q host %q path %q raw %q query %q close %v cl %d",
				data, fast.Method, fast.RequestURI, fast.Host, fast.URL.Path, fast.URL.RawPath, fast.URL.RawQuery, fast.Close,
				std.Method, std.RequestURI, std.Host, std.URL.Path, std.URL.RawPath, std.URL.RawQuery, std.Close, std.ContentLength)
		}
		if !reflect.DeepEqual(map[string][]string(fast.Header), map[string][]string(std.Header)) {
			t.Fatalf("%q: fields differ:\nfast %v\nstd  %v", data, fast.Header, std.Header)
		}
	})
}

// TestCanonicalName: canonicalName gives what http.CanonicalHeaderKey
// gives for every name of token characters.
func TestCanonicalName(t *testing.T) {
	for _, name := range []string{"x-api-key", "X-API-KEY", "X-Api-Key", "host", "HOST", "content-type", "a", "A", "-",
		"a-", "-a", "x--y", "x_y-z", "X-Forwarded-FOR", "accept", "Foo-bar-BAZ", "1a-2b", "soapaction", "SOAPAction",
		"a-very-long-field-name-of-more-than-forty-bytes", "WWW-authenticate", "~!#$%&'*+.^`|"} {
		if got, want := canonicalName(name), http.CanonicalHeaderKey(name); got != want {
			t.Errorf("canonicalName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestAppendField: appendField writes a value as net/http does, its CR
// and LF as spaces and the result trimmed as strings.TrimSpace trims.
func TestAppendField(t *testing.T) {
	for _, v := range []string{"", "a", " a ", "\ta\t", "a\r\nb", "\r\n", "é", " é ", "a\u00a0", "\u0085a", "x\u2003", "a b"} {
		want := "N: " + strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(v)) + "\r\n"
		if got := string(appendField(nil, "N", []string{v})); got != want {
			t.Errorf("appendField(%q) = %q, want %q", v, got, want)
		}
	}
}

// BenchmarkAppendField appends the fields of a typical response head.
func BenchmarkAppendField(b *testing.B) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Content-Length": {"100"},
		"Date": {"Thu, 03 Dec 2026 16:19:23 GMT"}, "X-Request-Id": {"094e6aad9f12-1"},
		"Ratelimit-Limit": {"1000000000"}, "Ratelimit-Remaining": {"999999999"}, "Ratelimit-Reset": {"1"}}
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = buf[:0]
		for name, vs := range h {
			buf = appendField(buf, name, vs)
		}
	}
}
