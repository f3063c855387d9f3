package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
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
// proxy makes, and the response writer's chunking machinery. On Linux and
// the BSDs it also serves each connection inside one RawConn.Read
// (serveSession), reading and writing the socket directly and waiting
// for the next request without first reading the empty socket, as the
// lean client waits for its answer (idlePeek.send): a request costs five
// system calls (a read and a write on each side, and the upstream's idle
// check), where a plain Go proxy makes seven.
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

	// WriteTimeout ends a connection whose client acknowledges no byte
	// of a write for this long (it stopped reading its response), here
	// and on the connections handed over; 0 for none. WriteTimeouts, when
	// not nil, counts them.
	WriteTimeout  time.Duration
	WriteTimeouts *WriteTimeouts

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
func (c *handedConn) CloseWrite() error { return closeWrite(c.Conn) }

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
	rd   sockReader // what br reads from
	wr   sockWriter // what bw writes to
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
	xfh    [1]string // outHdr's X-Forwarded-Host
	lean   *leanResp // the backend's response, from leans (see forward)

	// The idle period before the next request (see readHead): its
	// length (ReadHeaderTimeout or IdleTimeout, 0 for none), start and
	// deadline (zero for none).
	idleWait   time.Duration
	idleStart  time.Time
	idleUntil  time.Time
	headArmed  bool // the deadline for the rest of a started head is set
	probing    bool // the read deadline set is idleProbe's
	pending    bool // the last response waits in bw (see respWriter.finish)
	sessionFn  func(fd uintptr) bool
	sessionEnd int // what ended serveSession's callback: a head… constant
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
			c.flushPending()
			c.nc.Close()
		}
		c.release()
		c.s.forget(c)
	}()
	c.init()
	var end int
	if raw := rawConnOf(c.nc); raw != nil {
		end = c.serveSession(raw)
	} else {
		for end = headReady; end == headReady; {
			end = c.serveNext()
		}
	}
	if end == headHandOver {
		handed = c.handOver()
	}
}

// init prepares a new connection to serve its first request.
func (c *conn) init() {
	c.rd.c, c.rd.fd = c.nc, -1
	c.wr.c = c
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(&c.rd)
	c.remote = c.nc.RemoteAddr().String()
	c.clientIP, _, _ = net.SplitHostPort(c.remote)
	// The requests' context is never cancelled: the fast path does not
	// watch the client while the backend answers (the response timeout
	// bounds that wait), which spares a goroutine per request.
	c.req = &http.Request{}
	c.out = &http.Request{}
	c.rw.c = c
}

// serveNext reads the next request and serves it. It returns headReady
// when the connection may carry another, else what ends it; headWait
// only inside serveSession.
func (c *conn) serveNext() int {
	n, st := c.readHead()
	if st != headReady {
		return st
	}
	if !c.parse(n) {
		return headHandOver
	}
	c.br.Discard(n)
	c.served++
	if !c.serveRequest() {
		return headClose
	}
	return headReady
}

// What readHead found.
const (
	headReady    = iota // a head the fast path may read
	headWait            // serveSession: wait until the socket is readable
	headHandOver        // a head for the fallback
	headClose           // close: end of stream, error, timeout or drain
)

// idleProbe bounds a wait for the next request that no read of the
// socket began (see serveSession): a client that sent the end of its
// stream with its last request is noticed by then.
const idleProbe = 100 * time.Millisecond

// serveSession serves the connection inside one RawConn.Read, on systems
// whose poller reports a socket's readiness by edge (epoll, kqueue): br
// reads the socket directly without waiting (sockReader), and when it
// must wait, the callback returns and the poller waits for readiness.
// As the readiness is reset only when the session begins, every byte
// that arrives later is reported, so after a read that took all the
// socket held, serveSession waits for the next request without trying
// to read it first. With Go's own reads, each request would cost one
// read more, of an empty socket, after its response was written
// (BenchmarkEngines, `make bench`).
//
// The one arrival no readiness reports again is an end of stream that
// came with the last request (a client's half-close): that wait is
// bounded by idleProbe (the idle timeout when shorter), after which a
// new session reads first, as Go's reads do. It returns what ended the
// connection (headClose or headHandOver).
func (c *conn) serveSession(raw syscall.RawConn) int {
	c.sessionFn = c.session
	for {
		c.sessionEnd = headWait
		err := raw.Read(c.sessionFn)
		c.rd.fd = -1
		if c.sessionEnd != headWait {
			return c.sessionEnd
		}
		// The wait failed: closed, or timed out.
		if err == nil || !c.probing || !isTimeout(err) || c.br != nil && c.br.Buffered() > 0 {
			return headClose
		}
		// The probe ran out: a new session reads before it waits again,
		// until the idle timeout, holding no write buffer.
		c.releaseIdle()
		c.armDeadline(c.idleUntil, 0)
	}
}

// session is serveSession's RawConn.Read callback: called at once and
// then each time the socket turns readable, it serves requests until
// one must wait (false) or the connection ends (true).
func (c *conn) session(fd uintptr) bool {
	// At the session's start the socket may hold what arrived before,
	// unreported; when woken, something arrived: read before waiting.
	c.rd.fd, c.rd.state = int(fd), readUnknown
	if c.br == nil {
		c.br = readers.Get().(*bufio.Reader)
		c.br.Reset(&c.rd)
	}
	for {
		switch st := c.serveNext(); st {
		case headReady:
			continue
		case headWait:
			c.rd.fd = -1
			// A connection that waits past idleProbe (it holds no
			// write buffer then) with nothing read waits without its
			// read buffer too: 10,000 idle clients cost their
			// goroutines and little else (`make bench-conns`). The next
			// wake takes one again.
			if c.bw == nil && c.br.Buffered() == 0 {
				c.releaseReader()
			}
			return false
		default:
			c.sessionEnd = st
			c.rd.fd = -1
			return true
		}
	}
}

// armDeadline sets the read deadline to at (zero: none), unless the one
// set is alike and at most slack earlier: the idle timeout then holds to
// within slack (1/64 of it) and a keep-alive connection skips a timer
// update per request (BenchmarkEngines).
func (c *conn) armDeadline(at time.Time, slack time.Duration) {
	c.probing = false
	if at.IsZero() != c.deadline.IsZero() || at.Sub(c.deadline) > slack || at.Before(c.deadline) {
		c.nc.SetReadDeadline(at)
		c.deadline = at
	}
}

// release returns the connection's buffers to their pools.
func (c *conn) release() {
	c.releaseReader()
	c.releaseIdle()
}

func (c *conn) releaseReader() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
}

// releaseIdle returns what only a request in progress needs — the write
// buffer and the backend's response — to their pools.
func (c *conn) releaseIdle() {
	c.releaseWriter()
	if c.lean != nil {
		leans.Put(c.lean)
		c.lean = nil
	}
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
	nc := c.nc
	if d := c.s.WriteTimeout; d > 0 {
		nc = &writeTimeoutConn{Conn: nc, d: d, timedOut: c.s.WriteTimeouts}
	}
	return c.s.handoff.give(&handedConn{Conn: nc, pending: pending})
}

// readHead waits for a request head and returns its length with
// headReady, or headHandOver for a head the fast path does not read (no
// end of head within the buffer: the fallback decides), or headClose:
// read error, timeout, end of stream, or a drain. Inside serveSession it
// never waits: it returns headWait instead, with the read deadline set,
// and is called again when the socket is readable.
func (c *conn) readHead() (n int, st int) {
	s := c.s
	if c.br.Buffered() == 0 {
		if s.draining.Load() {
			c.flushPending()
			return 0, headClose
		}
		if !c.idle.Load() {
			// An idle period begins. A new connection gets
			// ReadHeaderTimeout for its first request, as net/http gives
			// it: IdleTimeout is for kept-alive ones.
			c.idleWait = s.IdleTimeout
			if c.served == 0 && s.ReadHeaderTimeout > 0 {
				c.idleWait = s.ReadHeaderTimeout
			}
			c.idleStart = monoNow()
			c.idleUntil = time.Time{}
			if c.idleWait > 0 {
				c.idleUntil = c.idleStart.Add(c.idleWait)
			}
			// The response first, before any read or wait.
			if c.flushPending() != nil {
				return 0, headClose
			}
			// An idle connection holds no write buffer (in a session,
			// no read buffer either: see session). In a session it
			// keeps them while it waits at most idleProbe:
			// a busy connection does not take them from their pools for
			// each request (BenchmarkFastPath).
			if c.rd.fd < 0 {
				c.releaseIdle()
			}
			c.idle.Store(true)
		}
		switch {
		case c.rd.fd < 0:
			// Go's read waits below.
			c.armDeadline(c.idleUntil, c.idleWait/64)
		case c.rd.state == readDrained:
			// serveSession: the last read took all there was, so wait
			// for readiness at once, at most idleProbe.
			if c.idleWait > 0 && c.idleWait <= idleProbe {
				c.releaseIdle()
				c.armDeadline(c.idleUntil, c.idleWait/64)
			} else {
				// Moved at most once every idleProbe/2 on a busy
				// connection.
				c.armDeadline(c.idleStart.Add(idleProbe), idleProbe/2)
				c.probing = true
			}
			return 0, headWait
		}
		_, err := c.br.Peek(1)
		if err == errWouldBlock {
			c.releaseIdle()
			c.armDeadline(c.idleUntil, c.idleWait/64)
			return 0, headWait
		}
		if err != nil {
			return 0, headClose
		}
		c.idle.Store(false)
		if s.draining.Load() {
			// Closed as idle a moment too late: the request was not
			// started, and closing is what Shutdown meant to do.
			return 0, headClose
		}
	}
	from := 0
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		if end := requestHeadEnd(b, from); end >= 0 {
			c.headArmed = false
			return end, headReady
		}
		if len(b) >= readBufSize || !fastPrefix(b) {
			return 0, headHandOver
		}
		if !c.headArmed {
			c.headArmed = true
			switch {
			case s.ReadHeaderTimeout > 0:
				c.armDeadline(time.Now().Add(s.ReadHeaderTimeout), 0)
			case c.probing:
				// Not idleProbe's deadline: the idle timeout's.
				c.armDeadline(c.idleUntil, 0)
			}
		}
		from = max(len(b)-3, 0)
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			switch {
			case err == errWouldBlock:
				return 0, headWait
			case len(b) > 0 && !isTimeout(err):
				return 0, headHandOver // cut off: let net/http answer what it can
			}
			return 0, headClose
		}
	}
}

// monoBase and monoNow give the current time with one read of the
// monotonic clock where time.Now also reads the wall clock (about 50 ns
// each on this project's machines, BenchmarkFastPath): for deadlines,
// which Go measures on the monotonic clock. Its wall reading drifts from
// the system's when that is set.
var monoBase = time.Now()

func monoNow() time.Time { return monoBase.Add(time.Since(monoBase)) }

// flushPending writes the response respWriter.finish left in bw, if any.
func (c *conn) flushPending() error {
	if !c.pending {
		return nil
	}
	c.pending = false
	return c.bw.Flush()
}

// sockReader is what a connection's br reads from: the connection, or,
// inside serveSession (fd set), its socket directly, without waiting.
type sockReader struct {
	c     net.Conn
	fd    int // the socket inside serveSession's callback, else -1
	state int // what the last direct read found: read… constant
}

// sockWriter is what a connection's bw writes to: inside serveSession
// the socket directly (what it does not take at once through the
// connection, whose write waits for room), else the connection.
type sockWriter struct{ c *conn }

func (w *sockWriter) Write(p []byte) (int, error) {
	if w.c.rd.fd < 0 {
		return writeProgress(w.c.nc, p, w.c.s.WriteTimeout, w.c.s.WriteTimeouts)
	}
	return writeAll(w.c.nc, w.c.rd.fd, p, w.c.s.WriteTimeout, w.c.s.WriteTimeouts)
}

// What a direct read of the socket found.
const (
	readUnknown = iota // the socket may hold more: read before waiting
	readDrained        // it took less than it could: all there was
	readEmpty          // it found nothing (errWouldBlock)
)

// errWouldBlock is sockReader's answer when the socket has nothing to
// read yet.
var errWouldBlock = errors.New("would block")

func (r *sockReader) Read(p []byte) (int, error) {
	if r.fd < 0 {
		return r.c.Read(p)
	}
	n, err := readSocket(r.fd, p)
	switch {
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
		r.state = readEmpty
		return 0, errWouldBlock
	case err != nil:
		r.state = readUnknown
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.c.LocalAddr(), Addr: r.c.RemoteAddr(), Err: err}
	case n == 0:
		return 0, io.EOF
	case n < len(p):
		r.state = readDrained
	default:
		r.state = readUnknown
	}
	return n, nil
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
		c.bw.Reset(&c.wr)
	}
	r := c.req
	rw := &c.rw
	rw.reset(r.Method == http.MethodHead, r.Close || c.s.draining.Load())
	c.s.Handler.ServeHTTP(rw, r)
	return rw.finish()
}

// leans recycles the backends' responses that forward reads (leanResp):
// a connection holds one from its first forwarded request until it goes
// idle (releaseIdle), and each request fills it anew once the last
// response is written.
var leans = sync.Pool{New: func() any { return new(leanResp) }}
