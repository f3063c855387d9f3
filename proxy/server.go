package proxy

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server is the gateway's fast HTTP/1.1 engine: its own connection loop,
// which serves the common request itself — a bodyless GET, HEAD, OPTIONS
// or DELETE in HTTP/1.1 with plain header fields, to an API whose targets
// are plain http — and hands every other request, with its connection, to
// Go's net/http server (Fallback), which serves it and the rest of that
// connection exactly as it serves a connection of its own. Both paths run
// the same Gateway: the fast one calls Gateway.ServeHTTP with a pooled
// request and a buffered writer of its own, and forwards with the same
// balancer, retry rules and lean upstream client (see upstream.forward).
//
// What it saves, per request, over net/http + httputil.ReverseProxy
// (BenchmarkEngines, `make bench`): the goroutine net/http starts to watch
// the client while the handler runs, the request's context, its header map
// and URL (reused per connection), the clone of the request the reverse
// proxy makes, and the response writer's chunking machinery.
//
// Its parser accepts only what is unambiguous (see parseHead): anything
// else — a body, Transfer-Encoding, Upgrade, Expect, obs-fold, bare line
// feeds, HTTP/1.0, a head larger than its buffer — goes to the fallback
// with the bytes read so far, so that framing.Handler and net/http decide
// as they decide for any other connection.
//
// Set the fields before Serve. The zero timeouts mean none.
type Server struct {
	// Handler answers every request: the Gateway, or a handler that
	// passes its ResponseWriter and Request on to the Gateway (a request
	// counter, say). The fast path's forwarding needs the Gateway to get
	// the Server's own writer. Handed-over requests are served by the
	// fallback server's handler instead.
	Handler http.Handler

	// ReadHeaderTimeout bounds the time from a request's first byte to the
	// end of its head; IdleTimeout the wait for the next request on a
	// keep-alive connection.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration

	// Logger logs recovered panics. Nil discards.
	Logger *slog.Logger

	once     sync.Once
	handoff  *handoffListener
	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{}
	draining atomic.Bool
	wg       sync.WaitGroup
}

// Fallback returns the listener through which the server hands over the
// connections it does not serve itself: serve it with the http.Server
// that serves the same Gateway (wrapped in framing.Handler, with
// framing.Listener around this listener). Shutdown of that server closes
// it; handing over ends then, and such connections are closed.
func (s *Server) Fallback() net.Listener {
	s.init()
	return s.handoff
}

func (s *Server) init() {
	s.once.Do(func() {
		s.handoff = &handoffListener{ch: make(chan net.Conn), done: make(chan struct{})}
		s.conns = map[*conn]struct{}{}
	})
}

var errServerClosed = http.ErrServerClosed

// Serve accepts connections on ln until Shutdown, serving each on its own
// goroutine. It returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		ln.Close()
		return errServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.draining.Load() {
				return errServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				// Out of descriptors or a transient error: back off as
				// net/http does, up to a second.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{s: s, nc: nc}
		s.mu.Lock()
		if s.draining.Load() {
			s.mu.Unlock()
			nc.Close()
			return errServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets the requests in
// flight finish (each answered with "Connection: close") and waits for
// them until ctx is done, then closes what is left and returns ctx's
// error. Handed-over connections belong to the fallback server: shut it
// down too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.draining.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.nc.Close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discard
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// handoffListener is the listener of the connections Server hands over.
type handoffListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

// give hands c over, or reports false when the fallback is gone.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

type handoffAddr struct{}

func (handoffAddr) Network() string { return "handoff" }
func (handoffAddr) String() string  { return "handoff" }

// handedConn is a connection handed over with the bytes already read
// from it, which its first reads return.
type handedConn struct {
	net.Conn
	pending []byte
}

// CloseWrite half-closes the connection when it can (net/http does
// before it closes a connection it refused a request on, so that the
// client reads the answer before the close).
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// conn is one client connection of Server.
type conn struct {
	s    *Server
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	idle atomic.Bool // waiting for a request: Shutdown may close it

	deadline time.Time // the read deadline set, zero for none
	served   int       // requests served on the connection

	req      *http.Request // the request being served, reused
	head     headParse
	rw       respWriter
	remote   string
	clientIP string
	xff      []string

	out    *http.Request // the request forwarded, reused (see forward)
	outURL url.URL
	outHdr http.Header
}

// Read and write buffers: a request head that does not fit readBufSize
// goes to the fallback (net/http's own limit, MaxHeaderBytes, applies
// there).
const (
	readBufSize  = 8 << 10
	writeBufSize = 8 << 10
)

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}
)

func (c *conn) serve() {
	handed := false
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			c.s.logger().Error("panic serving a gateway request", "remote", c.remote, "panic", p, "stack", string(debug.Stack()))
		}
		if !handed {
			c.nc.Close()
		}
		c.release()
		c.s.forget(c)
	}()
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	c.remote = c.nc.RemoteAddr().String()
	c.clientIP, _, _ = net.SplitHostPort(c.remote)
	// The requests' context is never cancelled: the fast path does not
	// watch the client while the backend answers (the response timeout
	// bounds that wait), which spares a goroutine per request.
	c.req = &http.Request{}
	c.out = &http.Request{}
	c.rw.c = c
	for {
		n, ok := c.readHead()
		if n < 0 {
			return // closed, timed out, or the server is draining
		}
		if !ok || !c.parse(n) {
			handed = c.handOver()
			return
		}
		c.br.Discard(n)
		c.served++
		keep := c.serveRequest()
		if !keep {
			return
		}
	}
}

// armDeadline sets the read deadline to at (zero: none), unless the one
// set is alike and at most slack earlier: the idle timeout then holds to
// within slack (1/64 of it) and a keep-alive connection skips a timer
// update per request (BenchmarkEngines).
func (c *conn) armDeadline(at time.Time, slack time.Duration) {
	if at.IsZero() != c.deadline.IsZero() || at.Sub(c.deadline) > slack || at.Before(c.deadline) {
		c.nc.SetReadDeadline(at)
		c.deadline = at
	}
}

// release returns the connection's buffers to their pools.
func (c *conn) release() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	c.releaseWriter()
}

func (c *conn) releaseWriter() {
	if c.bw != nil {
		c.bw.Reset(nil)
		writers.Put(c.bw)
		c.bw = nil
	}
}

// handOver gives the connection, with the bytes buffered so far, to the
// fallback server, and reports whether it took it.
func (c *conn) handOver() bool {
	pending := make([]byte, c.br.Buffered())
	c.br.Read(pending)
	c.armDeadline(time.Time{}, 0)
	return c.s.handoff.give(&handedConn{Conn: c.nc, pending: pending})
}

// readHead waits for a request head and returns its length with ok set,
// or, with ok unset, that the head is not one the fast path reads (no end
// of head within the buffer: the fallback decides). n is -1 when the
// connection is to be closed: read error, timeout, end of stream, or a
// drain.
func (c *conn) readHead() (n int, ok bool) {
	s := c.s
	if c.br.Buffered() == 0 {
		if s.draining.Load() {
			return -1, false
		}
		// An idle connection holds no write buffer: 10,000 idle clients
		// cost their read buffers and goroutines only.
		c.releaseWriter()
		c.idle.Store(true)
		// A new connection gets ReadHeaderTimeout for its first request,
		// as net/http gives it: IdleTimeout is for kept-alive ones.
		wait := s.IdleTimeout
		if c.served == 0 && s.ReadHeaderTimeout > 0 {
			wait = s.ReadHeaderTimeout
		}
		if wait > 0 {
			c.armDeadline(time.Now().Add(wait), wait/64)
		} else {
			c.armDeadline(time.Time{}, 0)
		}
		_, err := c.br.Peek(1)
		c.idle.Store(false)
		if err != nil {
			return -1, false
		}
		if s.draining.Load() {
			// Closed as idle a moment too late: the request was not
			// started, and closing is what Shutdown meant to do.
			return -1, false
		}
	}
	deadline := false
	from := 0
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		if end := requestHeadEnd(b, from); end >= 0 {
			return end, true
		}
		if len(b) >= readBufSize || !fastPrefix(b) {
			return 0, false
		}
		if !deadline && s.ReadHeaderTimeout > 0 {
			deadline = true
			c.armDeadline(time.Now().Add(s.ReadHeaderTimeout), 0)
		}
		from = max(len(b)-3, 0)
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			if len(b) > 0 && !isTimeout(err) {
				return 0, false // cut off: let net/http answer what it can
			}
			return -1, false
		}
	}
}

// requestHeadEnd returns the length of the request head at the start of b
// (through the CRLF CRLF that ends it), or -1 when b holds no such end
// from offset from on. A head with a bare LF never ends here: it is read
// to the buffer's end and handed over.
func requestHeadEnd(b []byte, from int) int {
	for i := from; i+3 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' && b[i+2] == '\r' && b[i+3] == '\n' {
			return i + 4
		}
	}
	return -1
}

// serveRequest answers the parsed request and reports whether the
// connection stays open.
func (c *conn) serveRequest() bool {
	if c.bw == nil {
		c.bw = writers.Get().(*bufio.Writer)
		c.bw.Reset(c.nc)
	}
	r := c.req
	rw := &c.rw
	rw.reset(r.Method == http.MethodHead, r.Close || c.s.draining.Load())
	c.s.Handler.ServeHTTP(rw, r)
	return rw.finish()
}
