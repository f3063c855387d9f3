package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startServer serves h on the fast engine with a net/http fallback and
// returns the address, the Server and the fallback.
func startServer(t *testing.T, h http.Handler, tune func(*Server, *http.Server)) (string, *Server, *httptest.Server) {
	t.Helper()
	fb := httptest.NewUnstartedServer(h)
	s := &Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	if tune != nil {
		tune(s, fb.Config)
	}
	ln := fb.Listener
	fb.Listener = s.Fallback()
	fb.Start()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		fb.Close()
		<-served
	})
	return ln.Addr().String(), s, fb
}

// engineOf answers with the engine that served the request.
func engineOf(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if _, ok := w.(*respWriter); ok {
		io.WriteString(w, "fast "+r.Method+" "+string(body))
	} else {
		io.WriteString(w, "std "+r.Method+" "+string(body))
	}
}

func readResponses(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, resp.Status[:3]+" "+string(b))
	}
	return out
}

// TestServerHandsOver: on one connection, pipelined, a GET is served by
// the fast path, a POST with a body is handed over with the bytes read
// after it, and net/http serves it and what follows, in order.
func TestServerHandsOver(t *testing.T) {
	addr, _, _ := startServer(t, http.HandlerFunc(engineOf), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"+
		"GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	got := strings.Join(readResponses(t, bufio.NewReader(c), 3), " | ")
	if want := "200 fast GET  | 200 std POST body | 200 std GET "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestServerLargeHead: a head larger than the fast path's buffer goes to
// net/http, which serves it, or refuses it with 431 beyond its own limit.
func TestServerLargeHead(t *testing.T) {
	addr, _, _ := startServer(t, http.HandlerFunc(engineOf), func(_ *Server, fb *http.Server) { fb.MaxHeaderBytes = 32 << 10 })
	for _, tc := range []struct {
		size int
		want string
	}{{readBufSize + 100, "200 std GET "}, {100 << 10, "431"}} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", tc.size)+"\r\n\r\n")
		got := readResponses(t, bufio.NewReader(c), 1)[0]
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("head of %d bytes: %q, want %q", tc.size, got, tc.want)
		}
		c.Close()
	}
}

// TestServerDrain: Shutdown closes idle connections at once, lets a
// request in flight finish with "Connection: close", and makes Serve
// return http.ErrServerClosed.
func TestServerDrain(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})
	fb := httptest.NewUnstartedServer(h)
	s := &Server{Handler: h}
	ln := fb.Listener
	fb.Listener = s.Fallback()
	fb.Start()
	defer fb.Close()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()

	idle, _ := net.Dial("tcp", ln.Addr().String())
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	ibr := bufio.NewReader(idle)
	readResponses(t, ibr, 1)

	busy, _ := net.Dial("tcp", ln.Addr().String())
	defer busy.Close()
	busy.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	if _, err := ibr.ReadByte(); err == nil {
		t.Error("the idle connection got a byte, want it closed")
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal("request in flight:", err)
	}
	if !resp.Close {
		t.Error("the response in flight during a drain does not close its connection")
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

// TestServerPanicCloses: a handler's panic closes its connection, is
// logged, and the server serves the next one.
func TestServerPanicCloses(t *testing.T) {
	var n atomic.Int32
	addr, _, _ := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			panic("boom")
		}
		io.WriteString(w, "ok")
	}), nil)
	c, _ := net.Dial("tcp", addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Errorf("after a panic: %q %v, want the connection closed without an answer", b, err)
	}
	c.Close()
	c, _ = net.Dial("tcp", addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := readResponses(t, bufio.NewReader(c), 1)[0]; got != "200 ok" {
		t.Errorf("next connection: %q", got)
	}
}

// TestServerTimeouts: a client that sends part of a head, or nothing at
// all on a new connection, is cut after ReadHeaderTimeout; an idle
// keep-alive one after IdleTimeout.
func TestServerTimeouts(t *testing.T) {
	silent, _, _ := startServer(t, http.HandlerFunc(engineOf), func(s *Server, _ *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = 200*time.Millisecond, time.Hour
	})
	c, _ := net.Dial("tcp", silent)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("silent new connection: err %v after %v, want it closed at the read-header timeout", err, time.Since(start))
	}
	c.Close()
	addr, _, _ := startServer(t, http.HandlerFunc(engineOf), func(s *Server, _ *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
	})
	for _, tc := range []struct {
		name, send string
		answers    int
	}{
		{"partial head", "GET /a HTTP/1.1\r\nHost:", 0},
		{"idle", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 1},
	} {
		c, _ := net.Dial("tcp", addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		io.WriteString(c, tc.send)
		br := bufio.NewReader(c)
		readResponses(t, br, tc.answers)
		if _, err := br.ReadByte(); err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("%s: err %v after %v, want the connection closed by the server", tc.name, err, time.Since(start))
		}
		c.Close()
	}
}

// TestResponseFieldsAsNetHTTP: a backend's field whose name is not a
// token ("Transfer-Encoding : chunked") never reaches the client, nor a
// Content-Length on a 204 or 304, on either engine, as net/http writes
// responses: a proxy in front could read them as framing.
func TestResponseFieldsAsNetHTTP(t *testing.T) {
	answers := map[string]string{
		"/api/space":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding : chunked\r\nX A: 1\r\n\r\nok",
		"/api/cl":     "HTTP/1.1 200 OK\r\nContent-Length : 2\r\nConnection: close\r\n\r\nok",
		"/api/nobody": "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"/api/notmod": "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
	}
	be := newRawBackend(t, func(c net.Conn, req *http.Request, _ int) bool {
		io.WriteString(c, answers["/api"+req.URL.Path])
		return req.URL.Path != "/cl" // a body that runs to the close
	})
	w := newWorld(t)
	w.api("api", "/api", "none", "http://"+be.addr)
	for path := range answers {
		c, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		head, _ := br.ReadString('\n')
		var fields []string
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
			fields = append(fields, strings.TrimRight(line, "\r\n"))
		}
		c.Close()
		if !strings.HasPrefix(head, "HTTP/1.1 ") {
			t.Fatalf("%s (%s): no answer: %q", path, *engine, head)
		}
		for _, f := range fields {
			name, _, _ := strings.Cut(f, ":")
			if !validFieldName(name) {
				t.Errorf("%s (%s): field %q reached the client", path, *engine, f)
			}
			if strings.EqualFold(name, "Content-Length") && (strings.Contains(head, " 204 ") || strings.Contains(head, " 304 ")) {
				t.Errorf("%s (%s): %q on %q", path, *engine, f, head)
			}
		}
	}
}

// TestServerHalfClose: a client that half-closes its connection after
// its request gets the answer and then the end of the stream, long before
// the idle timeout, also when the end arrived while the request before
// it was served, together with the request, which no readiness reports
// again (serveSession's idleProbe).
func TestServerHalfClose(t *testing.T) {
	var client atomic.Pointer[net.TCPConn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			c := client.Load()
			io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
			c.CloseWrite()
			if err := waitSent(c); err != nil {
				t.Log(err)
			}
		}
		engineOf(w, r)
	})
	addr, _, _ := startServer(t, h, func(s *Server, _ *http.Server) {
		s.IdleTimeout = time.Hour
	})
	for _, tc := range []struct{ name, send string }{
		{"with the request", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"while serving the one before", "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		client.Store(c.(*net.TCPConn))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.send)
		answers := 2
		if tc.send[5] == 'a' {
			c.(*net.TCPConn).CloseWrite()
			answers = 1
		}
		br := bufio.NewReader(c)
		readResponses(t, br, answers)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s: after the answers: %v, want the connection closed", tc.name, err)
		}
		c.Close()
	}
}

// TestServerRequestWhileServing: a request that arrives while the one
// before is served is read once that one is answered, also when the idle
// timeout is shorter than idleProbe (a missed readiness would let the
// connection time out with the request unanswered).
func TestServerRequestWhileServing(t *testing.T) {
	var client atomic.Pointer[net.TCPConn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			// The second request is in the gateway's socket before the
			// first is answered.
			c := client.Load()
			io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
			if err := waitSent(c); err != nil {
				t.Log(err)
			}
		}
		engineOf(w, r)
	})
	addr, _, _ := startServer(t, h, func(s *Server, _ *http.Server) {
		s.IdleTimeout = idleProbe / 2
	})
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		client.Store(c.(*net.TCPConn))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
		got := strings.Join(readResponses(t, bufio.NewReader(c), 2), " | ")
		if want := "200 fast GET  | 200 fast GET "; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		c.Close()
	}
}

// TestServerIdleHoldsNoBuffers: a keep-alive connection that waits past
// idleProbe holds neither its write buffer nor its read buffer (8 KiB
// each; Go's heap and stacks grow by less than 10 KiB a connection, its
// goroutine's stack and the test's client side included), and each wakes
// to serve what comes next: a request, a head that arrives in two parts
// with a wait between them, a pipelined pair, a request with a body
// (handed to net/http).
func TestServerIdleHoldsNoBuffers(t *testing.T) {
	addr, _, _ := startServer(t, http.HandlerFunc(engineOf), nil)
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	const n = 300
	base := heap()
	conns := make([]net.Conn, n)
	buf := make([]byte, 512)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		if k, err := c.Read(buf); err != nil || !strings.HasSuffix(string(buf[:k]), "fast GET ") {
			t.Fatalf("connection %d: %q, %v", i, buf[:k], err)
		}
		conns[i] = c
	}
	const most = 10 << 10
	per := int64(0)
	for try := 0; try < 100; try++ {
		time.Sleep(idleProbe)
		if per = (int64(heap()) - int64(base)) / n; per < most {
			break
		}
	}
	if per >= most {
		t.Errorf("idle connections hold %d bytes of heap and stack each, want < %d", per, most)
	}
	t.Logf("%d bytes of heap and stack an idle connection (client side included)", per)
	wants := []struct{ send, want string }{
		{"GET /b HTTP/1.1\r\nHost: x\r\n\r\n", "200 fast GET "},
		{"GET /c HTTP/1.1\r\nHo|st: x\r\n\r\n", "200 fast GET "},
		{"GET /d HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n", "200 fast GET  | 200 fast GET "},
		{"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", "200 std POST hi"},
	}
	for i, w := range wants {
		c := conns[i]
		first, rest, split := strings.Cut(w.send, "|")
		io.WriteString(c, first)
		if split {
			time.Sleep(2 * idleProbe)
			io.WriteString(c, rest)
		}
		got := strings.Join(readResponses(t, bufio.NewReader(c), strings.Count(w.want, "|")+1), " | ")
		if got != w.want {
			t.Errorf("after the wait, %q: got %q, want %q", w.send, got, w.want)
		}
	}
}
