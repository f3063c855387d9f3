package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// rawBackend is a backend on a raw TCP listener. serve is called for each
// request read on a connection (n counts them from 0) and writes what it
// likes on c; it returns false to close the connection.
type rawBackend struct {
	addr  string
	conns atomic.Int64
}

func newRawBackend(tb testing.TB, serve func(c net.Conn, req *http.Request, n int) bool) *rawBackend {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &rawBackend{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if !serve(c, req, n) {
						return
					}
				}
			})
		}
	})
	return b
}

// answer is a well-framed response to the request with token tok: the
// token in the X-Token header and in the body "tok:<token>".
func answer(tok string) string {
	body := "tok:" + tok
	return "HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// hostile is one way a backend answers. parts are written one after the
// other, with a short pause between when there are several (a slow
// trickle); bytes beyond the response's framing always travel in the
// last part, with the response's last framing byte, so that they are in
// the gateway's socket by the time the response is complete. A bad
// answer must give the client a 502 (or a cut-off body), never bytes of
// another answer.
type hostile struct {
	name  string
	parts func(tok string, rng *rand.Rand) []string
	// headParts, when set, answers a HEAD request instead of parts.
	headParts func(tok string, rng *rand.Rand) []string
	close     bool // close the connection after writing
	bad       bool // the client must not get a 2xx/3xx…
	headOK    bool // …except to a HEAD request
}

func one(s string) []string { return []string{s} }

var hostiles = []hostile{
	{name: "ok", parts: func(tok string, _ *rand.Rand) []string { return one(answer(tok)) }},
	{name: "chunked", parts: func(tok string, _ *rand.Rand) []string {
		body := "tok:" + tok
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n")
	}},
	{name: "extra", parts: func(tok string, _ *rand.Rand) []string { return one(answer(tok) + answer(tok)) }},
	{name: "short-length", parts: func(tok string, _ *rand.Rand) []string {
		return one(answer(tok) + "XYZ" + answer(tok)) // the length says less than is sent
	}},
	{name: "long-length", close: true, bad: true, headOK: true, parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: 100\r\n\r\ntok:" + tok)
	}},
	{name: "body-after-head", parts: func(tok string, _ *rand.Rand) []string {
		smug := answer(tok)
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(smug)) + "\r\n\r\n" + smug)
	}},
	{name: "body-after-204", parts: func(tok string, _ *rand.Rand) []string {
		smug := answer(tok)
		return one("HTTP/1.1 204 No Content\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(smug)) + "\r\n\r\n" + smug)
	}},
	{name: "body-after-304", parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 304 Not Modified\r\nX-Token: " + tok + "\r\n\r\n" + answer(tok))
	}},
	{name: "informational", parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + answer(tok))
	}},
	{name: "body-after-100", parts: func(tok string, _ *rand.Rand) []string {
		smug := answer(tok)
		return one("HTTP/1.1 100 Continue\r\nContent-Length: " + strconv.Itoa(len(smug)) + "\r\n\r\n" + smug + answer(tok))
	}},
	{name: "many-100", bad: true, parts: func(tok string, _ *rand.Rand) []string {
		return one(strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 10) + answer(tok))
	}},
	{name: "double-length", parts: func(tok string, _ *rand.Rand) []string {
		body := "tok:" + tok
		cl := "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\n" + cl + cl + "\r\n" + body)
	}},
	{name: "chunked-and-length", parts: func(tok string, _ *rand.Rand) []string {
		body := "tok:" + tok
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n")
	}},
	{name: "http10-keep-alive", parts: func(tok string, _ *rand.Rand) []string {
		return one(strings.Replace(answer(tok), "HTTP/1.1 200 OK\r\n", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", 1))
	}},
	{name: "bad-length", bad: true, parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: 1x\r\n\r\n" + answer(tok))
	}},
	{name: "other-coding", bad: true, parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + answer(tok))
	}},
	{name: "garbage", bad: true, close: true, parts: func(tok string, rng *rand.Rand) []string {
		b := make([]byte, 1+rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return one("\x00" + string(b) + answer(tok))
	}},
	{name: "early-close", bad: true, close: true, parts: func(string, *rand.Rand) []string { return nil }},
	{name: "close-after", close: true, parts: func(tok string, _ *rand.Rand) []string { return one(answer(tok)) }},
	{name: "read-to-close", close: true, parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\n\r\ntok:" + tok)
	}},
	{name: "switch-unasked", bad: true, parts: func(tok string, _ *rand.Rand) []string {
		return one("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Token: " + tok + "\r\n\r\n" + answer(tok))
	}},
	{name: "trickle", parts: func(tok string, rng *rand.Rand) []string {
		return trickle(answer(tok), len(answer(tok)), answer(tok), rng)
	}, headParts: func(tok string, rng *rand.Rand) []string {
		// To a HEAD the answer ends with its header: the body is junk.
		a := answer(tok)
		end := strings.Index(a, "\r\n\r\n") + 4
		return trickle(a, end, answer(tok), rng)
	}},
}

// trickle cuts a into up to 6 parts, all cuts before end (where a's
// framing ends), and appends junk to the last part.
func trickle(a string, end int, junk string, rng *rand.Rand) []string {
	var parts []string
	for end > 1 && len(parts) < 5 {
		i := 1 + rng.IntN(end-1)
		parts, a, end = append(parts, a[:i]), a[i:], end-i
	}
	return append(parts, a+junk)
}

func hostileByName(name string) *hostile {
	for i := range hostiles {
		if hostiles[i].name == name {
			return &hostiles[i]
		}
	}
	return nil
}

// serveHostile answers requests for "/<hostile name>/<token>".
func serveHostile(c net.Conn, req *http.Request, _ int) bool {
	io.Copy(io.Discard, req.Body)
	name, tok, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	h := hostileByName(name)
	if h == nil {
		io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return true
	}
	seed, _ := strconv.ParseUint(strings.TrimPrefix(tok, "T"), 16, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	parts := h.parts
	if req.Method == "HEAD" && h.headParts != nil {
		parts = h.headParts
	}
	for i, p := range parts(tok, rng) {
		if i > 0 {
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Microsecond) // a slow backend, not a wait for sync
		}
		if _, err := io.WriteString(c, p); err != nil {
			return false
		}
	}
	return !h.close
}

// checkOwn returns why the answer (status, X-Token, what of the body
// arrived, the read error) is not the request's own answer or an error,
// or "" when it is.
func checkOwn(tok string, status int, xtoken, body string, readErr error) string {
	for rest := body; ; {
		i := strings.Index(rest, "tok:")
		if i < 0 {
			break
		}
		rest = rest[i+4:]
		got := rest[:min(len(rest), len(tok))]
		if got != tok && (readErr == nil || !strings.HasPrefix(tok, got)) {
			return fmt.Sprintf("body has token %q, want only %q: %q", got, tok, trunc([]byte(body)))
		}
	}
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		return ""
	}
	if xtoken != tok {
		return fmt.Sprintf("status %d with X-Token %q, want %q", status, xtoken, tok)
	}
	return ""
}

// TestHostileBackend drives concurrent clients (GET and HEAD through the
// lean client, POST through http.Transport) through the gateway to a
// backend that answers with malformed and ambiguous responses (extra
// bytes, wrong lengths, bodies after HEAD/204/304/1xx, repeated or
// conflicting framing fields, HTTP/1.0, early closes, slow trickles,
// unasked protocol switches): every client gets its own answer, or a
// 502/504 or cut-off body where the backend's answer is bad, never bytes
// of another request's answer.
func TestHostileBackend(t *testing.T) {
	defer quietStdLog()()
	be := newRawBackend(t, serveHostile)
	w := newWorld(t)
	w.gw.Logger = slog.New(slog.NewTextHandler(tWriter{t}, nil))
	a := w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	a2 := *a
	a2.Timeouts.Response = portico.Duration(5 * time.Second)
	w.apply(portico.Put(&a2))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()

	const workers, perWorker = 8, 150
	var seq atomic.Uint64
	var mu sync.Mutex
	var failures []string
	counts := map[string]int{}
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(wk), 7))
			for range perWorker {
				h := &hostiles[rng.IntN(len(hostiles))]
				tok := fmt.Sprintf("T%016x", seq.Add(1)<<20|uint64(rng.IntN(1<<20)))
				method, body := "GET", io.Reader(nil)
				switch rng.IntN(4) {
				case 0:
					method = "HEAD"
				case 1:
					method, body = "POST", strings.NewReader("through http.Transport")
				}
				req, _ := http.NewRequest(method, w.srv.URL+"/api/"+h.name+"/"+tok, body)
				resp, err := client.Do(req)
				bad := h.bad && !(method == "HEAD" && h.headOK)
				// http.Transport carries POSTs: it passes any number of 1xx,
				// and cannot retry a POST with a body on a new connection
				// when a reused one turns out closed, so only the first
				// check holds for them.
				lax := method == "POST"
				var why string
				if err != nil {
					if !bad && !lax {
						why = fmt.Sprintf("request failed: %v", err)
					}
				} else {
					body, readErr := io.ReadAll(resp.Body)
					resp.Body.Close()
					why = checkOwn(tok, resp.StatusCode, resp.Header.Get("X-Token"), string(body), readErr)
					if why == "" && !bad && !lax && (resp.StatusCode >= 500 || readErr != nil) {
						why = fmt.Sprintf("a good answer became %d, %v", resp.StatusCode, readErr)
					}
					if why == "" && bad && !lax && resp.StatusCode < 400 && readErr == nil {
						why = fmt.Sprintf("a bad answer passed as %d", resp.StatusCode)
					}
				}
				mu.Lock()
				counts[h.name]++
				if why != "" {
					failures = append(failures, method+" "+h.name+": "+why)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, f := range failures {
		if i == 20 {
			t.Errorf("… and %d more", len(failures)-i)
			break
		}
		t.Error(f)
	}
	t.Logf("%d requests over %d backend connections; by kind %v", workers*perWorker, be.conns.Load(), counts)
}

// TestH1NoReuseAfterDoubt checks each reuse defence of the lean client on
// its own: request A gets an answer that leaves a doubt, then request B
// must get its own answer on a new connection. Where the doubt is in the
// framing, the backend answers any later request on A's connection with
// A's answer (the rest of a response the gateway framed differently), so
// a reused connection shows as B getting A's token.
func TestH1NoReuseAfterDoubt(t *testing.T) {
	type step struct {
		name   string
		method string
		first  func(tokA string) string
		late   bool // later requests on A's connection get A's answer
		idle   bool // A's answer is sent again while the connection is idle
		reuse  bool // the connection may carry B (the control case)
	}
	length := func(tok string) string { return strconv.Itoa(len("tok:" + tok)) }
	steps := []step{
		{name: "clean answer", method: "GET", first: answer, reuse: true},
		{name: "clean answer to HEAD", method: "HEAD", reuse: true, first: func(a string) string {
			return strings.TrimSuffix(answer(a), "tok:"+a)
		}},
		{name: "bytes after the body", method: "GET", first: func(a string) string { return answer(a) + answer(a) }},
		{name: "body after HEAD", method: "HEAD", first: func(a string) string { return answer(a) + answer(a) }},
		{name: "body after 204", method: "GET", first: func(a string) string {
			return strings.Replace(answer(a), "200 OK", "204 No Content", 1) + answer(a)
		}},
		{name: "body after 304", method: "GET", first: func(a string) string {
			return "HTTP/1.1 304 Not Modified\r\nX-Token: " + a + "\r\n\r\n" + answer(a)
		}},
		{name: "bytes while idle", method: "GET", first: answer, idle: true},
		{name: "chunked and a length", method: "GET", late: true, first: func(a string) string {
			return "HTTP/1.1 200 OK\r\nX-Token: " + a + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n" +
				strconv.FormatInt(int64(len("tok:"+a)), 16) + "\r\ntok:" + a + "\r\n0\r\n\r\n"
		}},
		{name: "two lengths", method: "GET", late: true, first: func(a string) string {
			return "HTTP/1.1 200 OK\r\nX-Token: " + a + "\r\nContent-Length: " + length(a) + "\r\nContent-Length: " + length(a) + "\r\n\r\ntok:" + a
		}},
		{name: "HTTP/1.0 keep-alive", method: "GET", late: true, first: func(a string) string {
			return "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nX-Token: " + a + "\r\nContent-Length: " + length(a) + "\r\n\r\ntok:" + a
		}},
		{name: "HTTP/1.0 chunked", method: "GET", late: true, first: func(a string) string {
			return "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nX-Token: " + a + "\r\nContent-Length: " + length(a) + "\r\n\r\ntok:" + a
		}},
		{name: "header larger than the read buffer", method: "GET", late: true, first: func(a string) string {
			return strings.Replace(answer(a), "\r\n", "\r\nX-Big: "+strings.Repeat("b", 20<<10)+"\r\n", 1)
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			goAhead, delivered := make(chan struct{}), make(chan error, 1)
			var mu sync.Mutex
			firstTok := map[net.Conn]string{}
			be := newRawBackend(t, func(c net.Conn, req *http.Request, n int) bool {
				tok := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
				mu.Lock()
				a, ok := firstTok[c]
				if !ok {
					firstTok[c] = tok
				}
				mu.Unlock()
				switch {
				case strings.HasPrefix(req.URL.Path, "/b/") && st.late && ok:
					io.WriteString(c, answer(a))
				case strings.HasPrefix(req.URL.Path, "/b/"):
					io.WriteString(c, answer(tok))
				default:
					io.WriteString(c, st.first(tok))
					if st.idle {
						select {
						case <-goAhead:
						case <-time.After(10 * time.Second):
						}
						io.WriteString(c, answer(tok))
						delivered <- waitSent(c)
					}
				}
				return true
			})
			w := newWorld(t)
			w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
			tokA, tokB := "TA"+strings.Repeat("a", 15), "TB"+strings.Repeat("b", 15)
			req, _ := http.NewRequest(st.method, w.srv.URL+"/api/a/"+tokA, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Token") != tokA {
				t.Fatalf("A: %d with X-Token %q", resp.StatusCode, resp.Header.Get("X-Token"))
			}
			if st.idle {
				close(goAhead)
				if err := <-delivered; err != nil {
					t.Skip(err)
				}
			}
			resp, body := get(t, w.srv.URL+"/api/b/"+tokB)
			if why := checkOwn(tokB, resp.StatusCode, resp.Header.Get("X-Token"), body, nil); why != "" || resp.StatusCode != 200 {
				t.Fatalf("B: %d %s", resp.StatusCode, why)
			}
			if n, want := be.conns.Load(), map[bool]int64{true: 1, false: 2}[st.reuse]; n != want {
				t.Errorf("%d backend connections, want %d", n, want)
			}
		})
	}
}

// waitSent waits until the peer acknowledged every byte written on c, so
// that they are in its socket.
func waitSent(c net.Conn) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, ok := unsent(c)
		if !ok {
			return fmt.Errorf("cannot tell when bytes reached the gateway on this system")
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d bytes still unacknowledged", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestH1StricterThanTransport runs each hostile answer through the lean
// client and through http.Transport, then a second request: the lean
// client must accept no answer that http.Transport refuses (and read the
// same body from those it accepts), reuse the connection only where
// http.Transport does, and give the second request its own answer, as
// must an API's http.Transport (guardedConn).
func TestH1StricterThanTransport(t *testing.T) {
	defer quietStdLog()()
	type outcome struct {
		status int
		body   string
		err    error
		reused bool
		second string // "" when the second request got its own answer
	}
	run := func(t *testing.T, rt http.RoundTripper, h *hostile, method string) outcome {
		tokA, tokB := "TA"+strings.Repeat("a", 15), "TB"+strings.Repeat("b", 15)
		be := newRawBackend(t, func(c net.Conn, req *http.Request, n int) bool {
			if strings.HasSuffix(req.URL.Path, tokB) {
				io.WriteString(c, answer(tokB))
				return true
			}
			io.WriteString(c, strings.Join(h.parts(tokA, rand.New(rand.NewPCG(1, 2))), ""))
			return !h.close
		})
		do := func(method, tok string) (*http.Response, string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, method, "http://"+be.addr+"/x/"+tok, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return nil, "", err
			}
			if resp.StatusCode == http.StatusSwitchingProtocols {
				resp.Body.Close() // a raw connection, not a body
				return resp, "", nil
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(b), err
		}
		var o outcome
		resp, body, err := do(method, tokA)
		o.body, o.err = body, err
		if resp != nil {
			o.status = resp.StatusCode
		}
		resp, body, err = do("GET", tokB)
		if err != nil {
			o.second = err.Error()
		} else {
			o.second = checkOwn(tokB, resp.StatusCode, resp.Header.Get("X-Token"), body, nil)
		}
		o.reused = be.conns.Load() == 1
		if o.err != nil {
			o.err = errors.New(trunc([]byte(o.err.Error())))
		}
		o.second = trunc([]byte(o.second))
		return o
	}
	for i := range hostiles {
		h := &hostiles[i]
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+" "+h.name, func(t *testing.T) {
				tr := &http.Transport{DisableCompression: true, MaxResponseHeaderBytes: maxResponseHeader}
				defer tr.CloseIdleConnections()
				lean := &h1Transport{dialer: net.Dialer{Timeout: time.Second}, responseTimeout: 5 * time.Second,
					idleTimeout: time.Minute, maxIdle: 4, maxHeader: maxResponseHeader}
				defer lean.closeIdle()
				up := (&Gateway{}).newUpstream(&portico.API{Endpoint: portico.Endpoint{Targets: []portico.Target{{URL: "http://127.0.0.1:1"}}}})
				defer up.close()
				api := roundTripFunc(func(r *http.Request) (*http.Response, error) { return up.transport.RoundTrip(guarded(r)) })
				std, got, ours := run(t, tr, h, method), run(t, lean, h, method), run(t, api, h, method)
				if ours.second != "" {
					t.Errorf("the API's http.Transport, second request: %s", ours.second)
				}
				t.Logf("http.Transport: %d %q err=%v reused=%v second=%q", std.status, trunc([]byte(std.body)), std.err, std.reused, std.second)
				t.Logf("h1Transport:    %d %q err=%v reused=%v second=%q", got.status, trunc([]byte(got.body)), got.err, got.reused, got.second)
				if got.err == nil && (std.err != nil || std.status != got.status || std.body != got.body) {
					t.Errorf("h1 accepted %d %q where http.Transport got %d %q, %v", got.status, got.body, std.status, std.body, std.err)
				}
				if got.reused && !std.reused {
					t.Error("h1 reused a connection that http.Transport closed")
				}
				if got.second != "" {
					t.Errorf("second request: %s", got.second)
				}
			})
		}
	}
}

// FuzzUpstreamResponse answers a request through the gateway with
// arbitrary bytes ("{T}" stands for the request's token), then sends a
// second request: the gateway must not panic, must answer the first with
// what the backend framed or a 502/504, and must give the second its own
// answer, never bytes left over from the first.
func FuzzUpstreamResponse(f *testing.F) {
	var mu sync.Mutex
	var current string
	be := newRawBackend(f, func(c net.Conn, req *http.Request, _ int) bool {
		tok := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
		if strings.HasPrefix(req.URL.Path, "/ok/") {
			io.WriteString(c, answer(tok))
			return true
		}
		mu.Lock()
		b := strings.ReplaceAll(current, "{T}", tok)
		mu.Unlock()
		io.WriteString(c, b)
		return false // a body framed to the close must end
	})
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	a := w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	a2 := *a
	a2.Timeouts.Response = portico.Duration(2 * time.Second)
	w.apply(portico.Put(&a2))

	for i := range hostiles {
		f.Add(strings.Join(hostiles[i].parts("{T}", rand.New(rand.NewPCG(1, 2))), ""), i%3 == 0)
	}
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nX-Token: {T}\r\nContent-Length: 5\r\n\r\ntok:X", false)
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", true)
	f.Add("HTTP/1.1 200 OK\r\nTrailer: X\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX: y\r\n\r\nextra", false)
	var seq atomic.Uint64
	f.Fuzz(func(t *testing.T, resp string, head bool) {
		if len(resp) > 8<<10 {
			return
		}
		mu.Lock()
		current = resp
		mu.Unlock()
		n := seq.Add(1)
		tokA, tokB := fmt.Sprintf("TA%015x", n), fmt.Sprintf("TB%015x", rand.Uint64()>>4)
		method := "GET"
		if head {
			method = "HEAD"
		}
		rec := serveRecovered(t, w.gw, httptest.NewRequest(method, "/api/fuzz/"+tokA, nil))
		switch {
		case rec.Code == 502 || rec.Code == 504:
		case rec.Code < 100 || rec.Code > 999:
			t.Fatalf("status %d", rec.Code)
		}
		rec = serveRecovered(t, w.gw, httptest.NewRequest("GET", "/api/ok/"+tokB, nil))
		if rec.Code != 200 || rec.Body.String() != "tok:"+tokB || rec.Header().Get("X-Token") != tokB {
			t.Fatalf("second request: %d %q X-Token %q after %q", rec.Code, trunc(rec.Body.Bytes()), rec.Header().Get("X-Token"), resp)
		}
	})
}

// serveRecovered serves req on gw as an http.Server would: a response cut
// off mid-body ends in http.ErrAbortHandler, which the server swallows.
func serveRecovered(t *testing.T, gw *Gateway, req *http.Request) (rec *httptest.ResponseRecorder) {
	rec = httptest.NewRecorder()
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			t.Fatalf("panic: %v", p)
		}
	}()
	gw.ServeHTTP(rec, req)
	return rec
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestResponseHeaderLimit: a backend's response headers beyond
// maxResponseHeader (informational responses included) are a 502 on both
// clients, not memory the gateway keeps reading into.
func TestResponseHeaderLimit(t *testing.T) {
	big := strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", maxResponseHeader/1000+10)
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.Copy(io.Discard, req.Body)
		switch {
		case strings.HasSuffix(req.URL.Path, "/small"):
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Small: "+strings.Repeat("s", 100<<10)+"\r\nContent-Length: 2\r\n\r\nok")
		case strings.HasSuffix(req.URL.Path, "/1xx"):
			half := big[:len(big)/2]
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n"+half+"\r\nHTTP/1.1 200 OK\r\n"+half+"Content-Length: 2\r\n\r\nok")
		default:
			io.WriteString(c, "HTTP/1.1 200 OK\r\n"+big+"Content-Length: 2\r\n\r\nok")
		}
		return false
	})
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/big", 502},
		{"POST", "/api/big", 502},
		{"GET", "/api/1xx", 502},
		{"GET", "/api/small", 200},
	} {
		var body io.Reader
		if tt.method == "POST" {
			body = strings.NewReader("b")
		}
		req, _ := http.NewRequest(tt.method, w.srv.URL+tt.path, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
}

// TestOneContinue sends a request with Expect: 100-continue to a backend
// that answers 100 Continue, reads the body, then sends a second 100
// before its final answer: the client must see one 100 — the gateway's
// server's own, written when the transport starts reading the body —
// and never the backend's.
func TestOneContinue(t *testing.T) {
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		body, err := io.ReadAll(req.Body)
		if err != nil || string(body) != "hello" {
			return false
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\nX-Late: 1\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	for i := range 3 {
		c, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "PUT /api/e HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("round %d: first line %q, %v; want a 100 Continue", i, line, err)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
			t.Fatalf("round %d: after the 100's status line came %q, %v (the backend's 100, with the gateway's headers?)", i, blank, err)
		}
		io.WriteString(c, "hello")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Errorf("round %d: after the client's one 100 Continue came %d %q (a second 100 forwarded from the backend?)", i, resp.StatusCode, body)
		}
		c.Close()
	}
}

// TestExpectDropsInterims: to a request with Expect: 100-continue, a
// backend sends 100 and then Early Hints while the body streams to it.
// The client gets the gateway's one 100 and the final answer, none of
// the backend's 1xx: forwarding them raced the server's own 100 on the
// client's buffer (the race detector saw it in a probe of the built
// binary).
func TestExpectDropsInterims(t *testing.T) {
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		for range 3 {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return false
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+string(body))
		return true
	})
	w := newWorld(t)
	w.api("api", "/api", portico.AuthNone, "http://"+be.addr)
	payload := strings.Repeat("p", 256<<10)
	for i := range 10 {
		c, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(c, "PUT /api/e HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: "+strconv.Itoa(len(payload))+"\r\n\r\n"+payload)
		br := bufio.NewReader(c)
		var statuses []int
		for range 6 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("round %d: after %v: %v", i, statuses, err)
			}
			statuses = append(statuses, resp.StatusCode)
			if resp.StatusCode >= 200 {
				body, _ := io.ReadAll(resp.Body)
				if len(body) != len(payload) {
					t.Errorf("round %d: %d bytes echoed, want %d", i, len(body), len(payload))
				}
				break
			}
		}
		if len(statuses) != 2 || statuses[0] != 100 || statuses[1] != 200 {
			t.Errorf("round %d: the client got %v, want [100 200]", i, statuses)
		}
		c.Close()
	}
}
