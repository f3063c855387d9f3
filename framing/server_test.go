package framing

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// served records the requests an inner handler got, per client address.
type served struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (s *served) handler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	s.mu.Lock()
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	s.lines[r.RemoteAddr] = append(s.lines[r.RemoteAddr], r.Method+" "+r.RequestURI+" "+r.Proto)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Body", string(body[:min(len(body), 64)]))
	io.WriteString(w, "ok "+r.RequestURI)
}

// take returns and forgets what was served to the client at addr (a port
// is used again by later connections).
func (s *served) take(addr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lines[addr]
	delete(s.lines, addr)
	return l
}

// startServer serves h behind Listener, ConnContext and Handler, as
// cmd/portico wires them, on a loopback port.
func startServer(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           Handler(h),
		ConnContext:       ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.Serve(&Listener{Listener: l, MaxHeaderBytes: 64 << 10})
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// dialServer connects to addr with every read and write bounded by d.
func dialServer(t testing.TB, addr string, d time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(d))
	return c
}

// exchange writes in to a new connection in the given pieces, half-closes
// it and reads everything the server sends until it closes the connection.
// It fails the test if the server does not close within 10s.
func exchange(t testing.TB, addr string, pieces ...string) (out string, local string) {
	t.Helper()
	c := dialServer(t, addr, 10*time.Second)
	defer c.Close()
	go func() {
		for _, p := range pieces {
			if _, err := c.Write([]byte(p)); err != nil {
				return
			}
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("reading the responses: %v (got %q)", err, b)
	}
	return string(b), c.LocalAddr().String()
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// responses parses the responses in out; methods, when given, are the
// requests' methods in order (a response to HEAD has no body).
func responses(t testing.TB, out string, methods ...string) []*http.Response {
	t.Helper()
	var rs []*http.Response
	br := bufio.NewReader(strings.NewReader(out))
	for {
		if _, err := br.Peek(1); err != nil {
			return rs
		}
		var req *http.Request
		if len(rs) < len(methods) {
			req = &http.Request{Method: methods[len(rs)]}
		}
		res, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("parsing response %d: %v\n%s", len(rs), err, out)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(b))
		if res.StatusCode == http.StatusContinue {
			continue
		}
		rs = append(rs, res)
	}
}

func bodyOf(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// TestRefusesCLAndTE: a request with both Content-Length and
// Transfer-Encoding is answered 400 and the connection closed, and the
// handler never sees it, nor anything after it. Without Handler, net/http
// serves it (dropping Content-Length) and keeps the connection.
func TestRefusesCLAndTE(t *testing.T) {
	var s served
	addr := startServer(t, http.HandlerFunc(s.handler))
	out, local := exchange(t, addr, crlf("GET /first HTTP/1.1|Host: a||POST /x HTTP/1.1|Host: a|Content-Length: 5|Transfer-Encoding: chunked||0||GET /after HTTP/1.1|Host: a||"))
	rs := responses(t, out)
	if len(rs) != 2 {
		t.Fatalf("%d responses, want the first request's and a 400:\n%s", len(rs), out)
	}
	if rs[0].StatusCode != 200 {
		t.Errorf("first request: %d", rs[0].StatusCode)
	}
	res := rs[1]
	if res.StatusCode != 400 || !res.Close || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("refusal: %d, Connection: close %v, Content-Type %q", res.StatusCode, res.Close, res.Header.Get("Content-Type"))
	}
	if want := `{"error":{"code":"invalid","message":"the request has both Content-Length and Transfer-Encoding"}}` + "\n"; bodyOf(res) != want {
		t.Errorf("body %q, want %q", bodyOf(res), want)
	}
	if got := s.take(local); len(got) != 1 || got[0] != "GET /first HTTP/1.1" {
		t.Errorf("the handler saw %q, want only the first request", got)
	}
}

// TestRefusalClosesWithoutReadingTheBody: a refused request that asked
// for 100-continue is answered and the connection closed at once, though
// its body never comes (net/http alone would wait for the body).
func TestRefusalClosesWithoutReadingTheBody(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(new(served).handler))
	c := dialServer(t, addr, 10*time.Second)
	defer c.Close()
	io.WriteString(c, crlf("POST / HTTP/1.1|Host: a|Expect: 100-continue|Content-Length: 100|Transfer-Encoding: chunked||"))
	b, err := io.ReadAll(c) // the write side stays open: only the server can end this
	if err != nil {
		t.Fatalf("%v after %q", err, b)
	}
	if rs := responses(t, string(b)); len(rs) != 1 || rs[0].StatusCode != 400 {
		t.Fatalf("got %q", b)
	}
}

// teMutations are the Transfer-Encoding lines of request-smuggling
// scanners (smuggler.py's mutations and the like). Each is sent with a
// Content-Length, before or after it.
var teMutations = []string{
	"Transfer-Encoding: chunked",
	"Transfer-Encoding : chunked",
	"Transfer-Encoding:\tchunked",
	"Transfer-Encoding: xchunked",
	"Transfer-Encoding: chunkedx",
	"Transfer-Encoding:  chunked",
	"Transfer-Encoding\n: chunked",
	"Transfer-Encoding:\n chunked",
	"Transfer-Encoding:\r\n chunked",
	"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
	"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked",
	"Transfer-Encoding: chunked\r\nTransfer-encoding: chunked",
	"Transfer-Encoding: \"chunked\"",
	"Transfer-Encoding: chunked, identity",
	"Transfer-Encoding: identity, chunked",
	"Transfer-Encoding: CHUNKED",
	"TRANSFER-ENCODING: chunked",
	"Transfer_Encoding: chunked",
	"Transfer-Encoding: \x0bchunked",
	"Transfer-Encoding: \x0cchunked",
	"Transfer-Encoding: chunked\x00",
	"Transfer-Encoding: chunked\r",
	" Transfer-Encoding: chunked",
	"X: y\r\n Transfer-Encoding: chunked",
	"X: y\n Transfer-Encoding: chunked",
	"Transfer-Encoding: chu\r\n nked",
	"Foo: bar\r\n\tTransfer-Encoding: chunked",
	"Transfer-Encoding: chunked\r\nContent-Length: 6",
}

// clMutations are Content-Length lines net/http would read one way and
// some front end another. Each is sent alone.
var clMutations = []string{
	"Content-Length: 6, 6",
	"Content-Length: 6\r\nContent-Length: 5",
	"Content-Length: 6\r\nContent-Length: 6",
	"Content-Length: +6",
	"Content-Length: 6 6",
	"Content-Length: 0x6",
	"Content-Length:\r\n 6",
	"Content_Length: 6\r\nContent-Length: 0",
	"Content-Length: 6\nX: y",
}

// TestSmugglingPayloads: each probe carries "GET /smuggled" where one
// reading of its framing puts the next request. The handler must see
// neither the probe, nor the smuggled request, nor the request after;
// the probe is refused, by Handler or by net/http.
func TestSmugglingPayloads(t *testing.T) {
	var s served
	addr := startServer(t, http.HandlerFunc(s.handler))
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	clte := "0\r\n\r\n" + smuggled
	tecl := "2c\r\n" + smuggled[:len(smuggled)-2] + "\r\n0\r\n\r\n"
	type probe struct{ name, framing, body string }
	var probes []probe
	for _, m := range teMutations {
		probes = append(probes,
			probe{"CL.TE/" + m, "Content-Length: " + fmtInt(len(clte)) + "\r\n" + m, clte},
			probe{"TE.CL/" + m, m + "\r\nContent-Length: 4", tecl})
	}
	for _, m := range clMutations {
		probes = append(probes, probe{"CL/" + m, m, "0\r\n\r\n" + smuggled})
	}
	for _, p := range probes {
		t.Run(strings.ReplaceAll(p.name, "\r\n", "|"), func(t *testing.T) {
			in := "POST /probe HTTP/1.1\r\nHost: a\r\n" + p.framing + "\r\n\r\n" + p.body + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n"
			out, local := exchange(t, addr, in)
			if seen := s.take(local); len(seen) > 0 {
				t.Errorf("the handler saw %q", seen)
			}
			rs := responses(t, out)
			if len(rs) != 1 || rs[0].StatusCode != 400 && rs[0].StatusCode != 501 || !rs[0].Close {
				t.Errorf("want one refusal, got:\n%s", out)
			}
		})
	}
}

func fmtInt(n int) string { return strconv.Itoa(n) }

// TestPipelinedInOrder: pipelined requests of every framing, sent in one
// write and split into single bytes, are all served, in order, on one
// connection.
func TestPipelinedInOrder(t *testing.T) {
	var s served
	addr := startServer(t, http.HandlerFunc(s.handler))
	in := crlf("GET /1 HTTP/1.1|Host: a||" +
		"POST /2 HTTP/1.1|Host: a|Content-Length: 5||hello" +
		"|" + // a CRLF after a POST body, as old clients send
		"PUT /3 HTTP/1.1|Host: a|Transfer-Encoding: chunked||5;ext=1;q=\"a b\"|hello|0A|0123456789|0|Checksum: x|X-T: y||" +
		"OPTIONS * HTTP/1.1|Host: a||" +
		"GET /5 HTTP/1.1|Host: a|Content-Length: 2||hi" +
		"HEAD /6 HTTP/1.1|Host: a||" +
		"DELETE /7 HTTP/1.1|Host: a|Transfer-Encoding: chunked||0||" +
		"GET /8 HTTP/1.1|Host: a|Connection: close||")
	want := []string{"GET /1 HTTP/1.1", "POST /2 HTTP/1.1", "PUT /3 HTTP/1.1", "GET /5 HTTP/1.1", "HEAD /6 HTTP/1.1", "DELETE /7 HTTP/1.1", "GET /8 HTTP/1.1"}
	for _, pieces := range [][]string{{in}, strings.Split(in, "")} {
		out, local := exchange(t, addr, pieces...)
		rs := responses(t, out, "GET", "POST", "PUT", "OPTIONS", "GET", "HEAD", "DELETE", "GET")
		if got := s.take(local); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("served %q, want %q\n%s", got, want, out)
		}
		if len(rs) != len(want)+1 { // OPTIONS * is answered by net/http
			t.Fatalf("%d responses, want %d\n%s", len(rs), len(want)+1, out)
		}
		for i, res := range rs {
			if res.StatusCode != 200 {
				t.Errorf("response %d: %d %s", i, res.StatusCode, bodyOf(res))
			}
		}
		if got := rs[2].Header.Get("X-Body"); got != "hello0123456789" {
			t.Errorf("chunked body read as %q", got)
		}
	}
}

// TestOptionsStarServedByHandler: with DisableGeneralOptionsHandler, an
// OPTIONS * request reaches the handler and takes its own verdict.
func TestOptionsStarServedByHandler(t *testing.T) {
	var s served
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{ConnContext: ConnContext, DisableGeneralOptionsHandler: true, Handler: Handler(http.HandlerFunc(s.handler))}
	go srv.Serve(&Listener{Listener: l})
	t.Cleanup(func() { srv.Close() })
	out, local := exchange(t, l.Addr().String(), crlf("OPTIONS * HTTP/1.1|Host: a||GET /2 HTTP/1.1|Host: a|Connection: close||"))
	if got := s.take(local); strings.Join(got, ",") != "OPTIONS * HTTP/1.1,GET /2 HTTP/1.1" {
		t.Errorf("served %q\n%s", got, out)
	}
}

// TestExpectContinue: the body follows the server's 100 Continue, and the
// connection goes on after it.
func TestExpectContinue(t *testing.T) {
	var s served
	addr := startServer(t, http.HandlerFunc(s.handler))
	c := dialServer(t, addr, 10*time.Second)
	defer c.Close()
	br := bufio.NewReader(c)
	for _, te := range []string{"Content-Length: 5||hello", "Transfer-Encoding: chunked||5|hello|0||"} {
		head, body, _ := strings.Cut(crlf("PUT /e HTTP/1.1|Host: a|Expect: 100-continue|"+te), "\r\n\r\n")
		io.WriteString(c, head+"\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("%q, %v", line, err)
		}
		br.ReadString('\n')
		io.WriteString(c, body)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 || res.Header.Get("X-Body") != "hello" || res.Close {
			t.Fatalf("%d %q close %v", res.StatusCode, res.Header.Get("X-Body"), res.Close)
		}
	}
}

// TestUnreadBodies: net/http discards a body its handler did not read (up
// to 256 KiB) and serves the next request; the sniffer skips the same
// bytes. Past 256 KiB net/http closes the connection instead.
func TestUnreadBodies(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{}
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.RemoteAddr] = append(seen[r.RemoteAddr], r.RequestURI)
		mu.Unlock()
	}))
	chunked := func(n int) string {
		return "Transfer-Encoding: chunked||" + strings.Repeat("1000|"+strings.Repeat("c", 0x1000)+"|", n/0x1000) + "0||"
	}
	for _, tc := range []struct {
		name, in string
		want     string
	}{
		{"small", "POST /1 HTTP/1.1|Host: a|Content-Length: 1000||" + strings.Repeat("x", 1000) +
			"POST /2 HTTP/1.1|Host: a|" + chunked(64<<10) + "GET /3 HTTP/1.1|Host: a||", "/1 /2 /3"},
		{"over 256 KiB", "POST /1 HTTP/1.1|Host: a|" + chunked(300<<10) + "GET /2 HTTP/1.1|Host: a||", "/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, local := exchange(t, addr, crlf(tc.in))
			mu.Lock()
			got := strings.Join(seen[local], " ")
			delete(seen, local)
			mu.Unlock()
			if got != tc.want {
				t.Errorf("served %q, want %q", got, tc.want)
			}
			for _, res := range responses(t, out) {
				if res.StatusCode != 200 {
					t.Errorf("status %d: %s", res.StatusCode, bodyOf(res))
				}
			}
		})
	}
}

// TestKeepAlive: many requests one after the other on one connection.
func TestKeepAlive(t *testing.T) {
	var s served
	addr := startServer(t, http.HandlerFunc(s.handler))
	c := dialServer(t, addr, 20*time.Second)
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 500 {
		var req string
		switch i % 3 {
		case 0:
			req = "GET /k HTTP/1.1|Host: a|User-Agent: t||"
		case 1:
			req = "POST /k HTTP/1.1|Host: a|Content-Length: 3||abc"
		default:
			req = "POST /k HTTP/1.1|Host: a|Transfer-Encoding: chunked||3|abc|0||"
		}
		if _, err := io.WriteString(c, crlf(req)); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 || res.Close {
			t.Fatalf("request %d: %d, close %v", i, res.StatusCode, res.Close)
		}
	}
	if got := s.take(c.LocalAddr().String()); len(got) != 500 {
		t.Errorf("served %d", len(got))
	}
}

// TestLaterRequestsRefusedAfterBadChunk: after a malformed chunked body
// the sniffer no longer knows where the next request starts; a request
// the server would still serve on that connection is refused.
func TestLaterRequestsRefusedAfterBadChunk(t *testing.T) {
	var s served
	in := crlf("POST /1 HTTP/1.1|Host: a|Transfer-Encoding: chunked||5 ;x|hello|0||GET /2 HTTP/1.1|Host: a||")
	// The handler does not read the body: net/http discards it after the
	// response and closes the connection on the error.
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.lines == nil {
			s.lines = map[string][]string{}
		}
		s.lines[r.RemoteAddr] = append(s.lines[r.RemoteAddr], r.RequestURI)
	}))
	_, local := exchange(t, addr, in)
	if got := s.take(local); len(got) != 1 {
		t.Errorf("served %q", got)
	}
	// The sniffer alone: it stops at the bad chunk, so that a server that
	// went on (net/http in full-duplex mode) would find no verdict.
	if sn := sniffBytewise([]byte(in), hdrLimit); len(sn.fps) != 1 || sn.why != rChunked {
		t.Errorf("sniffer: %d heads, %q", len(sn.fps), sn.why)
	}
}

// TestUntrackedRequestRefused: a request the server serves that the
// sniffer did not see (here: a handler in front of Handler answered the
// first one, so the verdicts are shifted) is refused rather than trusted.
func TestUntrackedRequestRefused(t *testing.T) {
	var s served
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	fh := Handler(http.HandlerFunc(s.handler))
	srv := &http.Server{ConnContext: ConnContext, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/skip" {
				return // answered without Handler: its verdict is never taken
			}
			fh.ServeHTTP(w, r)
		})}
	go srv.Serve(&Listener{Listener: l})
	t.Cleanup(func() { srv.Close() })
	out, local := exchange(t, l.Addr().String(), crlf("GET /skip HTTP/1.1|Host: a||GET /next HTTP/1.1|Host: a||"))
	rs := responses(t, out)
	if len(rs) != 2 || rs[1].StatusCode != 400 || !strings.Contains(bodyOf(rs[1]), "could not be followed") {
		t.Errorf("got\n%s", out)
	}
	if got := s.take(local); len(got) != 0 {
		t.Errorf("served %q", got)
	}
}

// TestUnsniffedConnections: behind TLS the sniffer sees nothing; a chunked
// request and an HTTP/1.0 keep-alive request are served and the
// connection closed after them; other requests keep it, and HTTP/2
// requests pass.
func TestUnsniffedConnections(t *testing.T) {
	var s served
	ts := httptest.NewUnstartedServer(Handler(http.HandlerFunc(s.handler)))
	ts.Config.ConnContext = ConnContext
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	dial := func() net.Conn {
		c, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	for _, tc := range []struct {
		name, in string
		close    bool
	}{
		{"plain", "GET / HTTP/1.1|Host: a||GET /2 HTTP/1.1|Host: a||", false},
		{"content-length", "POST / HTTP/1.1|Host: a|Content-Length: 1||xGET /2 HTTP/1.1|Host: a||", false},
		{"chunked", "POST / HTTP/1.1|Host: a|Transfer-Encoding: chunked||0||GET /2 HTTP/1.1|Host: a||", true},
		{"CL and TE", "POST / HTTP/1.1|Host: a|Content-Length: 5|Transfer-Encoding: chunked||0||GET /2 HTTP/1.1|Host: a||", true},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0|Connection: keep-alive||GET /2 HTTP/1.0|Connection: keep-alive||", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial()
			defer c.Close()
			io.WriteString(c, crlf(tc.in))
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			_, err = http.ReadResponse(br, nil)
			if closed := err != nil; closed != tc.close {
				t.Errorf("connection closed after the first response: %v, want %v (%v)", closed, tc.close, err)
			}
		})
	}
	c := ts.Client()
	res, err := c.Get(ts.URL + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 200 {
		t.Errorf("HTTP/2: %s %d", res.Proto, res.StatusCode)
	}
}

// TestUpgradeTunnel: after a 101 the connection carries another protocol;
// the sniffer watches it without changing a byte, in both directions.
func TestUpgradeTunnel(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(c, brw) // echo until the client half-closes
	}))
	// Tunnel bytes that look like HTTP, then ones that do not.
	tunnel := crlf("POST / HTTP/1.1|Content-Length: 5|Transfer-Encoding: chunked||0||") + "\x81\x85\x00\xff binary \r\n\n\x00"
	out, _ := exchange(t, addr, crlf("GET /ws HTTP/1.1|Host: a|Upgrade: echo|Connection: Upgrade||"), tunnel[:20], tunnel[20:])
	_, echoed, ok := strings.Cut(out, "\r\n\r\n")
	if !ok || echoed != tunnel {
		t.Errorf("echoed %q, want %q", echoed, tunnel)
	}
}

// TestConnContextLeavesOtherConns: ConnContext marks only Listener's
// connections.
func TestConnContextLeavesOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	if ConnContext(ctx, a) != ctx {
		t.Error("a plain net.Conn was marked")
	}
	if ConnContext(ctx, &conn{Conn: a}).Value(ctxKey{}) == nil {
		t.Error("a Listener connection was not marked")
	}
}
