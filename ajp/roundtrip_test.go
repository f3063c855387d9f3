package ajp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/ajp"
)

// pattern returns n bytes that show where a byte went missing.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// echo answers with the request body as it reads it.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := io.Copy(w, r.Body); err != nil {
		panic(http.ErrAbortHandler)
	}
}

var sizes = []int{0, 1, 8<<10 - 1, 8 << 10, 8<<10 + 1, 1 << 20}

// TestBodiesBothWays: request and response bodies of each size arrive
// byte for byte, with a Content-Length and chunked, at the smallest and
// the largest packet size; no packet is larger than the packet size.
func TestBodiesBothWays(t *testing.T) {
	for _, size := range []int{ajp.DefaultPacketSize, ajp.MaxPacketSize} {
		addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(echo), PacketSize: size})
		ws := dialAJP(t, addr, size) // one connection for all: reuse too
		for _, n := range sizes {
			for _, chunked := range []bool{false, true} {
				t.Run(fmt.Sprintf("packet %d, %d bytes, chunked %v", size, n, chunked), func(t *testing.T) {
					body := pattern(n)
					f := fwd{Method: "POST", URI: "/echo"}
					cl := int64(n)
					if chunked {
						f.Headers = [][2]string{{"Transfer-Encoding", "chunked"}}
						cl = -1
					} else {
						f.Headers = [][2]string{{"Content-Length", strconv.Itoa(n)}}
					}
					r, err := ws.do(f, bytes.NewReader(body), cl)
					if err != nil {
						t.Fatalf("%v (reply %d bytes)", err, len(r.Body))
					}
					if r.Status != 200 || !r.Reuse || !bytes.Equal(r.Body, body) {
						t.Fatalf("status %d, reuse %v, %d bytes back (equal %v)", r.Status, r.Reuse, len(r.Body), bytes.Equal(r.Body, body))
					}
					for _, c := range r.Chunks {
						if c > size-8 {
							t.Fatalf("a chunk of %d bytes", c)
						}
					}
					if n <= size-8 {
						if got := r.Header.Get("Content-Length"); got != strconv.Itoa(n) {
							t.Errorf("Content-Length %q", got)
						}
					} else if r.Header.Get("Content-Length") != "" {
						t.Errorf("Content-Length %q on a streamed body", r.Header.Get("Content-Length"))
					}
					for _, a := range r.Asks {
						if a != size-6 {
							t.Errorf("asked for %d bytes", a)
						}
					}
				})
			}
		}
	}
}

// TestResponseSizes: response bodies written in one call, in small
// writes, and with the handler's Content-Length.
func TestResponseSizes(t *testing.T) {
	for _, n := range sizes {
		body := pattern(n)
		for _, mode := range []string{"one write", "small writes", "content length"} {
			t.Run(fmt.Sprint(n, " ", mode), func(t *testing.T) {
				addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case "one write":
						w.Write(body)
					case "small writes":
						for p := body; len(p) > 0; p = p[min(len(p), 1000):] {
							w.Write(p[:min(len(p), 1000)])
						}
					case "content length":
						w.Header().Set("Content-Length", strconv.Itoa(n))
						w.Write(body)
					}
				})})
				r, err := dialAJP(t, addr, 0).do(fwd{}, nil, 0)
				if err != nil || !bytes.Equal(r.Body, body) || !r.Reuse {
					t.Fatalf("%v: %d bytes, reuse %v", err, len(r.Body), r.Reuse)
				}
				if mode == "content length" && r.Header.Get("Content-Length") != strconv.Itoa(n) {
					t.Errorf("Content-Length %q", r.Header.Get("Content-Length"))
				}
			})
		}
	}
}

// TestStreamingResponse: each Flush reaches the web server before the
// handler writes on: the handler waits for the client to have seen each
// event.
func TestStreamingResponse(t *testing.T) {
	seen := make(chan string, 1)
	addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 5 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := rc.Flush(); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-seen:
			case <-time.After(5 * time.Second):
				t.Errorf("event %d did not reach the web server", i)
				return
			}
		}
	})})
	ws := dialAJP(t, addr, 0)
	ws.onChunk = func(data []byte) {
		if len(data) > 0 {
			seen <- string(data)
		}
	}
	r, err := ws.do(fwd{}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n"; string(r.Body) != want {
		t.Errorf("body %q", r.Body)
	}
	// Each event is a chunk of its own, followed by a flush.
	if fmt.Sprint(r.Chunks) != "[9 0 9 0 9 0 9 0 9 0]" {
		t.Errorf("chunks %v", r.Chunks)
	}
}

// TestStreamingRequestAndResponse: the handler answers each piece of the
// request body as it arrives (full duplex), with the client sending the
// next piece only once it saw the answer to the last.
func TestStreamingRequestAndResponse(t *testing.T) {
	addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 100)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				fmt.Fprintf(w, "got %q;", buf[:n])
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	})})
	ws := dialAJP(t, addr, 0)
	pr, pw := io.Pipe()
	answered := make(chan bool, 1)
	ws.onChunk = func(data []byte) {
		if len(data) > 0 {
			answered <- true
		}
	}
	go func() {
		for _, s := range []string{"one", "two", "three"} {
			pw.Write([]byte(s))
			select {
			case <-answered:
			case <-time.After(5 * time.Second):
				pw.CloseWithError(errors.New("no answer"))
				return
			}
		}
		pw.Close()
	}()
	r, err := ws.do(fwd{Method: "POST", Headers: [][2]string{{"Transfer-Encoding", "chunked"}}}, smallReads{pr}, -1)
	if err != nil || string(r.Body) != `got "one";got "two";got "three";` {
		t.Fatalf("%q %v", r.Body, err)
	}
}

// smallReads makes io.ReadFull in the test client return what one Read
// gave (a piece of the stream), not wait for a full packet.
type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		return n, io.EOF // ReadFull: a short read, not the end
	}
	return n, err
}

// TestManyLongFields: many fields and long values both ways, up to what a
// packet holds.
func TestManyLongFields(t *testing.T) {
	for _, c := range []struct {
		packet, count, length int
	}{
		{8192, 60, 100},
		{8192, 1, 8000},
		{65536, 400, 120},
		{65536, 3, 20000},
	} {
		t.Run(fmt.Sprint(c.packet, " ", c.count, "×", c.length), func(t *testing.T) {
			var sent [][2]string
			for i := range c.count {
				v := strings.Repeat(string(rune('a'+i%26)), c.length)
				sent = append(sent, [2]string{fmt.Sprintf("X-Field-%d", i%(c.count/2+1)), v})
			}
			rq := newRequests()
			addr := startServer(t, &ajp.Server{PacketSize: c.packet, Handler: rq.handler(func(w http.ResponseWriter, r *http.Request) {
				for _, f := range sent {
					w.Header().Add(f[0], f[1])
				}
			})})
			r, err := dialAJP(t, addr, c.packet).do(fwd{Headers: sent}, nil, 0)
			if err != nil || r.Status != 200 {
				t.Fatalf("%+v %v", r.Status, err)
			}
			want := http.Header{}
			for _, f := range sent {
				want.Add(f[0], f[1])
			}
			got := rq.next(t).r.Header
			for name, vs := range want {
				if fmt.Sprint(got[name]) != fmt.Sprint(vs) {
					t.Errorf("request %s: %d values, want %d", name, len(got[name]), len(vs))
				}
				if fmt.Sprint(r.Header[name]) != fmt.Sprint(vs) {
					t.Errorf("response %s: %d values, want %d", name, len(r.Header[name]), len(vs))
				}
			}
		})
	}
}

// TestFieldsLargerThanAPacket: a response whose fields do not fit in a
// packet is a 500 (logged), its body dropped; the connection goes on.
func TestFieldsLargerThanAPacket(t *testing.T) {
	var log logBuffer
	addr := startServer(t, &ajp.Server{Logger: log.logger(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("x", 9000))
		w.Write(pattern(100000))
	})})
	ws := dialAJP(t, addr, 0)
	for range 2 {
		r, err := ws.do(fwd{}, nil, 0)
		if err != nil || r.Status != 500 || !r.Reuse || !strings.HasPrefix(string(r.Body), "500 Internal Server Error") {
			t.Fatalf("%d %q %v", r.Status, r.Body, err)
		}
	}
	if !strings.Contains(log.String(), "larger than the packet size") {
		t.Errorf("log: %q", log.String())
	}
}

// TestConnectionReuse: many requests, with and without bodies, on one
// connection, which the web server opened once.
func TestConnectionReuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingListener{Listener: ln}
	s := &ajp.Server{Handler: http.HandlerFunc(echo)}
	go s.Serve(counting)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	ws := dialAJP(t, ln.Addr().String(), 0)
	for i := range 200 {
		body := pattern(i * 97)
		f := fwd{Method: "POST", URI: fmt.Sprint("/", i), Headers: [][2]string{{"Content-Length", strconv.Itoa(len(body))}}}
		if i%3 == 0 {
			f = fwd{URI: fmt.Sprint("/", i)}
			body = nil
		}
		r, err := ws.do(f, bytes.NewReader(body), int64(len(body)))
		if err != nil || !r.Reuse || !bytes.Equal(r.Body, body) {
			t.Fatalf("request %d: %v, reuse %v", i, err, r.Reuse)
		}
	}
	if n := counting.n.Load(); n != 1 {
		t.Errorf("%d connections accepted", n)
	}
}

type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func TestHeadAndBodyless(t *testing.T) {
	errs := make(chan error, 1)
	addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/head":
			_, err := w.Write([]byte("0123456789"))
			errs <- err
		case "/204":
			w.WriteHeader(204)
			_, err := w.Write([]byte("x"))
			errs <- err
		case "/304":
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(304)
			errs <- nil
		}
	})})
	ws := dialAJP(t, addr, 0)
	for _, c := range []struct {
		method, path string
		status       int
		length       string
		err          error
	}{
		{"HEAD", "/head", 200, "10", nil},
		{"GET", "/204", 204, "", http.ErrBodyNotAllowed},
		{"GET", "/304", 304, "", nil},
	} {
		r, err := ws.do(fwd{Method: c.method, URI: c.path}, nil, 0)
		if err != nil || r.Status != c.status || len(r.Chunks) != 0 || !r.Reuse {
			t.Fatalf("%s %s: %+v %v", c.method, c.path, r, err)
		}
		if got := r.Header.Get("Content-Length"); got != c.length {
			t.Errorf("%s %s: Content-Length %q", c.method, c.path, got)
		}
		if err := <-errs; err != c.err {
			t.Errorf("%s %s: Write returned %v", c.method, c.path, err)
		}
	}
}

// TestCutOffResponses: a response that cannot be whole has no
// END_RESPONSE, and the connection is closed: the web server cuts off its
// client's response in turn.
func TestCutOffResponses(t *testing.T) {
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		status  int // 0: no END_RESPONSE
		reuse   bool
	}{
		{"less than the Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("12345"))
		}, 0, false},
		{"panic after a flush", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			panic("boom")
		}, 0, false},
		{"abort after a flush", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, 0, false},
		{"panic before writing", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Lost", "1")
			w.Write([]byte("held, not sent"))
			panic("boom")
		}, 500, false},
		{"Connection: close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
		}, 200, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log logBuffer
			ws := dialAJP(t, startServer(t, &ajp.Server{Handler: c.handler, Logger: log.logger()}), 0)
			r, err := ws.do(fwd{}, nil, 0)
			if c.status == 0 {
				if err == nil || r.Ended {
					t.Fatalf("ended: %+v %v", r, err)
				}
				return
			}
			if err != nil || r.Status != c.status || r.Reuse != c.reuse || r.Header.Get("X-Lost") != "" {
				t.Fatalf("%+v %v", r, err)
			}
			if err := ws.expectClosed(); err != nil {
				t.Fatal(err)
			}
			if c.status == 500 && !strings.Contains(log.String(), "boom") {
				t.Errorf("log %q", log.String())
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	late := make(chan http.ResponseWriter, 1)
	errs := make(chan error, 1)
	addr := startServer(t, &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/over":
			w.Header().Set("Content-Length", "3")
			_, err := w.Write([]byte("12345"))
			errs <- err
			w.Write([]byte("123"))
		case "/late":
			late <- w
		}
	})})
	ws := dialAJP(t, addr, 0)
	r, err := ws.do(fwd{URI: "/over"}, nil, 0)
	if err != nil || string(r.Body) != "123" || !r.Reuse {
		t.Fatalf("%+v %v", r, err)
	}
	if err := <-errs; err != http.ErrContentLength {
		t.Errorf("writing past the Content-Length: %v", err)
	}
	if _, err := ws.do(fwd{URI: "/late"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	w := <-late
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("a write after the handler returned succeeded")
	}
	if err := http.NewResponseController(w).Flush(); err == nil {
		t.Error("a flush after the handler returned succeeded")
	}
	if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack: %v", err)
	}
	r, err = ws.do(fwd{URI: "/late"}, nil, 0) // the connection is fine
	if err != nil || r.Status != 200 {
		t.Fatal(r, err)
	}
}

// TestBodyReadDeadline: a handler's read deadline (the gateway's
// ReadBodyTimeout) and the Server's ReadTimeout bound the wait for a body
// packet; the read fails with a timeout and the connection is closed
// after the response.
func TestBodyReadDeadline(t *testing.T) {
	for _, c := range []struct {
		name        string
		readTimeout time.Duration
		handler     time.Duration
	}{
		{"handler deadline", 0, 100 * time.Millisecond},
		{"ReadTimeout", 100 * time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := make(chan error, 1)
			addr := startServer(t, &ajp.Server{ReadTimeout: c.readTimeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.handler > 0 {
					http.NewResponseController(w).SetReadDeadline(time.Now().Add(c.handler))
				}
				_, err := io.ReadAll(r.Body)
				errs <- err
				w.WriteHeader(http.StatusRequestTimeout)
			})})
			ws := dialAJP(t, addr, 0)
			// The Forward Request, and the body never comes.
			ws.write(packet(fwd{Method: "POST", Headers: [][2]string{{"Content-Length", "100"}}}.payload()))
			var ne net.Error
			if err := <-errs; !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("read: %v", err)
			}
			p, err := ws.readPacket()
			if err != nil || p[0] != 4 || int(p[1])<<8|int(p[2]) != 408 {
				t.Fatalf("%q %v", p, err)
			}
			if p, err := ws.readPacket(); err != nil || string(p) != "\x05\x00" {
				t.Fatalf("%q %v", p, err)
			}
			if err := ws.expectClosed(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	addr := startServer(t, &ajp.Server{Handler: http.NotFoundHandler(), IdleTimeout: 100 * time.Millisecond})
	ws := dialAJP(t, addr, 0)
	if _, err := ws.do(fwd{}, nil, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ws.expectClosed(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

// TestShutdown: Shutdown closes idle connections at once, lets the
// request in flight finish — its END_RESPONSE says not to reuse the
// connection — answers no CPing, and returns when all is done.
func TestShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s := &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	idle := dialAJP(t, ln.Addr().String(), 0)
	idle.write([]byte{0x12, 0x34, 0x00, 0x01, 0x0a})
	expectBytes(t, idle, "AB\x00\x01\x09")
	busy := dialAJP(t, ln.Addr().String(), 0)
	type result struct {
		r   *reply
		err error
	}
	got := make(chan result, 1)
	go func() {
		r, err := busy.do(fwd{}, nil, 0)
		got <- result{r, err}
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if err := idle.expectClosed(); err != nil {
		t.Fatalf("idle connection: %v", err)
	}
	// The listener closed before the idle connections.
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("still accepting")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	res := <-got
	if res.err != nil || string(res.r.Body) != "finished" || res.r.Reuse {
		t.Fatalf("in flight: %+v %v", res.r, res.err)
	}
	if err := busy.expectClosed(); err != nil {
		t.Fatal(err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

// TestShutdownDeadline: when ctx ends first, the connections left are
// closed and their requests' contexts cancelled.
func TestShutdownDeadline(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	s := &ajp.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(cancelled)
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go s.Serve(ln)
	ws := dialAJP(t, ln.Addr().String(), 0)
	ws.write(packet(fwd{}.payload()))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context was not cancelled")
	}
}

// TestBehindReverseProxy: the handler is an httputil.ReverseProxy, as the
// gateway's is: a 1 MiB body goes to a backend and back while the
// transport reads the request body on its own goroutine.
func TestBehindReverseProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Forwarded-For-Seen", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Forwarded-Proto-Seen", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("X-Host-Seen", r.Host)
		b, err := io.ReadAll(r.Body) // net/http backends are not full duplex
		if err != nil {
			w.WriteHeader(400)
		}
		w.Write(b)
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.SetXForwarded()
		pr.Out.Host = pr.In.Host
	}}
	addr := startServer(t, &ajp.Server{Handler: rp, PacketSize: 16384})
	ws := dialAJP(t, addr, 16384)
	body := pattern(1 << 20)
	for _, chunked := range []bool{false, true} {
		f := fwd{Method: "PUT", URI: "/p", SSL: true, RemoteAddr: "198.51.100.9", RemotePort: "40000",
			Headers: [][2]string{{"Host", "api.example"}}}
		cl := int64(len(body))
		if chunked {
			f.Headers = append(f.Headers, [2]string{"Transfer-Encoding", "chunked"})
			cl = -1
		} else {
			f.Headers = append(f.Headers, [2]string{"Content-Length", strconv.Itoa(len(body))})
		}
		r, err := ws.do(f, bytes.NewReader(body), cl)
		if err != nil || !bytes.Equal(r.Body, body) || !r.Reuse {
			t.Fatalf("chunked %v: %v, %d bytes", chunked, err, len(r.Body))
		}
		if r.Header.Get("X-Forwarded-For-Seen") != "198.51.100.9" || r.Header.Get("X-Forwarded-Proto-Seen") != "https" ||
			r.Header.Get("X-Host-Seen") != "api.example" {
			t.Errorf("backend saw %v", r.Header)
		}
	}
}

// TestSilentNewConnection: a connection that sends nothing is closed
// after ReadTimeout, not kept for IdleTimeout: before its first message
// no secret was checked.
func TestSilentNewConnection(t *testing.T) {
	addr := startServer(t, &ajp.Server{Handler: http.NotFoundHandler(), ReadTimeout: 100 * time.Millisecond, IdleTimeout: time.Hour})
	ws := dialAJP(t, addr, 0)
	start := time.Now()
	if err := ws.expectClosed(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}
