package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// h1Transport is a lean HTTP/1.1 client for the common case of proxying:
// idempotent requests without a body to plain-http targets. It writes the
// request and reads the response on the caller's goroutine over pooled
// keep-alive connections, where http.Transport hands each request to two
// goroutines per connection; on loopback that hand-off costs more than the
// rest of the request path (BenchmarkServeHTTP; BenchmarkH1RoundTrip
// measures this client alone). Everything else (bodies, upgrades, TLS)
// goes through http.Transport. A request that fails on a reused
// connection before any response byte arrived is retried once on a new
// connection, which is safe because the request is idempotent and has no
// body.
//
// A connection is reused only when the response left no doubt where it
// ended, so that no byte a backend sent is ever read as the answer to
// another request (see reusable): on any framing doubt, bytes left over,
// or bytes that arrived while the connection was idle, it is closed.
type h1Transport struct {
	dialer          net.Dialer
	responseTimeout time.Duration // for the response header; 0 means none
	idleTimeout     time.Duration // idle connections older than this are closed
	maxIdle         int           // idle connections kept per host
	maxHeader       int64         // bytes of response headers (1xx included); 0 means defaultMaxHeader

	mu   sync.Mutex
	idle map[string][]*h1Conn
}

// defaultMaxHeader bounds response headers when h1Transport.maxHeader is
// zero; it is http.Transport's default too.
const defaultMaxHeader = 10 << 20

// errBadStatus refuses a status code outside 100-599 (RFC 9110 §15),
// which http.ReadResponse accepts from 000 to 999.
var errBadStatus = errors.New("malformed status code")

// max1xx bounds the informational responses before the final one.
const max1xx = 5

// h1Conn is one keep-alive connection.
type h1Conn struct {
	net.Conn
	lr       limitedReader // what br reads from
	br       *bufio.Reader
	bw       *bufio.Writer
	host     string
	lastUsed time.Time     // when the last request on it started
	deadline time.Time     // the read deadline set, zero for none
	peek     idlePeek      // see idlePeek.send
	req      *http.Request // the request writeFn writes
	writeFn  func(fd int) error
	readFn   func(fd int) bool
	wfd      int // the socket for sockWrite inside idlePeek.send, else -1
}

// writeReq writes c.req and flushes it, to the socket fd directly when it
// is not -1 (see idlePeek.send).
func (c *h1Conn) writeReq(fd int) error {
	c.wfd = fd
	err := writeRequest(c.bw, c.req)
	if err == nil {
		err = c.bw.Flush()
	}
	c.wfd = -1
	return err
}

// readAnswer reads the answer's first bytes from the socket fd directly
// (see idlePeek.send) and reports whether there was nothing after all.
func (c *h1Conn) readAnswer(fd int) bool {
	c.lr.fd = fd
	_, err := c.br.Peek(1)
	c.lr.fd = -1
	return err == errWouldBlock
}

// h1Writer is what an h1Conn's bw writes to: the socket directly inside
// idlePeek.send, else the connection.
type h1Writer struct{ c *h1Conn }

func (w h1Writer) Write(p []byte) (int, error) {
	if w.c.wfd < 0 {
		return w.c.Conn.Write(p)
	}
	return writeAll(w.c.Conn, w.c.wfd, p, 0, nil)
}

// writeAll writes p to the non-blocking socket fd of conn directly, and
// what it does not take at once through conn, whose write waits for room
// (with a timeout > 0, until the client takes no byte for that long:
// writeProgress, counted in timedOut).
func writeAll(conn net.Conn, fd int, p []byte, timeout time.Duration, timedOut *WriteTimeouts) (int, error) {
	n := 0
	for n < len(p) {
		m, err := writeSocket(fd, p[n:])
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			m, err = writeProgress(conn, p[n:], timeout, timedOut)
			return n + m, err
		case err != nil:
			return n, &net.OpError{Op: "write", Net: "tcp", Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: err}
		}
		n += m
	}
	return n, nil
}

// limitedReader reads from its connection at most left bytes while on is
// set: it bounds response headers, which http.ReadResponse does not.
// Inside idlePeek.send (fd set) it reads the socket directly, without
// waiting (errWouldBlock).
type limitedReader struct {
	c    net.Conn
	fd   int
	left int64
	on   bool
}

var errHeaderTooLarge = errors.New("response headers too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.on {
		if l.left <= 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(p)) > l.left {
			p = p[:l.left]
		}
	}
	var n int
	var err error
	if l.fd < 0 {
		n, err = l.c.Read(p)
	} else {
		n, err = readSocket(l.fd, p)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return 0, errWouldBlock
		case err != nil:
			err = &net.OpError{Op: "read", Net: "tcp", Source: l.c.LocalAddr(), Addr: l.c.RemoteAddr(), Err: err}
		case n == 0:
			err = io.EOF
		}
	}
	if l.on {
		l.left -= int64(n)
	}
	return n, err
}

// canUse reports whether h1Transport may carry req.
func canUseH1(req *http.Request) bool {
	if req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
	default:
		return false
	}
	_, upgrade := req.Header["Upgrade"]
	return !upgrade
}

// errStaleConn marks a failure on a reused connection before any response
// byte was read.
var errStaleConn = errors.New("reused connection closed by the backend")

// errNotQuiet marks a reused connection on which bytes or the end of the
// stream arrived while it was idle (see idlePeek.send): no byte of the
// request was sent on it.
var errNotQuiet = errors.New("idle connection not quiet")

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTripAt(req, time.Now(), nil)
}

// roundTripAt is RoundTrip at the time now, which the caller read; a
// lean response is read into scratch when it is not nil (see leanResp).
func (t *h1Transport) roundTripAt(req *http.Request, now time.Time, scratch *leanResp) (*http.Response, error) {
	for attempt := 0; ; {
		c, reused, err := t.get(req.Context(), req.URL.Host, attempt > 0, now)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTrip(c, req, reused, now, scratch)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if err == errNotQuiet {
			// Something arrived while it was idle (or the backend closed
			// it): nothing was sent; take the next one. Only reused
			// connections are checked, so this ends with the pool.
			continue
		}
		if errors.Is(err, errStaleConn) {
			if reused && attempt == 0 {
				attempt++
				continue
			}
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

var longAgo = time.Unix(1, 0)

// neverStopped stands for context.AfterFunc's stop on a context that is
// never done (the fast engine's requests): nothing to stop, and it did
// not run.
func neverStopped() bool { return true }

// roundTrip sends req on c and reads the response's head. A reused
// connection is first checked for bytes that arrived while it was idle
// (errNotQuiet).
func (t *h1Transport) roundTrip(c *h1Conn, req *http.Request, reused bool, now time.Time, scratch *leanResp) (*http.Response, error) {
	ctx := req.Context()
	stop := neverStopped
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.SetDeadline(longAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	c.lastUsed = now
	if t.responseTimeout > 0 {
		c.armDeadline(c.lastUsed.Add(t.responseTimeout), t.responseTimeout/64)
	}
	c.lr.on, c.lr.left = true, t.maxHeader
	if c.lr.left <= 0 {
		c.lr.left = defaultMaxHeader
	}
	// The check, the write, the wait for the answer and its first read in
	// one step (idlePeek.send): one system call fewer than writing and
	// then reading (BenchmarkH1RoundTrip).
	c.req = req
	err := c.peek.send(reused, c.writeFn, c.readFn)
	c.req = nil
	if err == errNotQuiet {
		stop()
		return nil, err
	}
	if err != nil {
		return fail(staleIf(err))
	}
	var resp *http.Response
	var framed bool
	var lean *leanResp
	for n := 0; ; n++ {
		if _, err := c.br.Peek(1); err != nil {
			if n == 0 {
				err = staleIf(err)
			}
			return fail(err)
		}
		end := c.headBlock()
		framed = end >= 0 && framingFields(c.peekHead(end))
		var r *http.Response
		lean = nil
		if end >= 0 {
			lean = leanResponse(c.peekHead(end+2), req, scratch)
		}
		if lean != nil {
			c.br.Discard(end + 2)
			r = &lean.resp
			r.Body = lean.lengthBody(c.br)
		} else {
			var err error
			if r, err = http.ReadResponse(c.br, req); err != nil {
				return fail(err)
			}
		}
		if r.StatusCode < 100 || r.StatusCode > 599 {
			return fail(errBadStatus)
		}
		if r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			if n >= max1xx {
				return fail(errors.New("too many 1xx responses"))
			}
			continue // 100 Continue, 103 Early Hints: wait for the final answer
		}
		resp = r
		break
	}
	c.lr.on = false
	if t.responseTimeout > 0 {
		if !bodyBuffered(resp, c.br) {
			c.armDeadline(time.Time{}, 0) // the body may take its time
		}
		if ctx.Err() != nil {
			resp.Body.Close()
			return fail(ctx.Err())
		}
	}
	keep := reusable(req, resp, framed)
	if resp.Body == http.NoBody {
		t.release(c, stop, keep)
		return resp, nil
	}
	var b *h1Body
	if lean != nil {
		b = &lean.hb
	} else {
		b = new(h1Body)
	}
	*b = h1Body{rc: resp.Body, c: c, t: t, stop: stop, keep: keep}
	resp.Body = b
	return resp, nil
}

// armDeadline sets the read deadline to at (zero: none), unless the one
// set is zero-ness alike and at most slack earlier: the response timeout
// then holds to within slack (1/64 of it) and a keep-alive connection
// skips the two timer updates a request would cost (BenchmarkEngines).
// A deadline left from an earlier request is never later than this
// request's own, for time only moves on.
func (c *h1Conn) armDeadline(at time.Time, slack time.Duration) {
	if at.IsZero() {
		if !c.deadline.IsZero() {
			c.SetReadDeadline(at)
			c.deadline = at
		}
		return
	}
	if c.deadline.IsZero() || at.Sub(c.deadline) > slack {
		c.SetReadDeadline(at)
		c.deadline = at
	}
}

// bodyBuffered reports whether resp's body is already in br (or there is
// none): reading it needs no further read from the connection.
func bodyBuffered(resp *http.Response, br *bufio.Reader) bool {
	if resp.Body == http.NoBody {
		return true
	}
	lb, ok := resp.Body.(*lengthBody)
	return ok && lb.left <= int64(br.Buffered())
}

// reusable reports whether the connection that carried req and resp may
// carry another request once resp's body was read to its end. It must be
// at least as strict as http.Transport (TestH1StricterThanTransport):
//   - only HTTP/1.1 (an HTTP/1.0 answer may drop keep-alive or carry a
//     Transfer-Encoding it ignores, RFC 9112 §6.1);
//   - neither side asked to close, and the response is no 101;
//   - the response's framing left no doubt (framed, see framingClear); a
//     body without Content-Length or chunked coding runs to the close
//     (http.ReadResponse sets resp.Close then).
//
// Bytes left over after the body, or that arrive while the connection is
// idle, close it too (release, get).
func reusable(req *http.Request, resp *http.Response, framed bool) bool {
	return framed && resp.ProtoMajor == 1 && resp.ProtoMinor == 1 &&
		!resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
}

// headBlock reads ahead (without consuming) the header block of the next
// response and returns its length, or -1 when it does not fit the read
// buffer or the read failed (ReadResponse will say). framingFields tells
// whether the block frames the response without doubt: at most one
// Content-Length field and not both Content-Length and Transfer-Encoding
// (http.ReadResponse accepts repeated equal lengths and lets chunked
// coding override a length; either may mean that the backend and the
// gateway disagree on where the response ends, RFC 9112 §6.3). Go's
// reader refuses the rest (differing or invalid lengths, codings other
// than chunked) with an error, which closes the connection.
func (c *h1Conn) headBlock() int {
	want, from := 1, 0
	for {
		if _, err := c.br.Peek(want); err != nil {
			return -1 // the buffer is full, or the read failed
		}
		b, _ := c.br.Peek(c.br.Buffered())
		if end := headerEnd(b, from); end >= 0 {
			return end
		}
		if len(b) >= c.br.Size() {
			return -1
		}
		from, want = max(len(b)-2, 0), len(b)+1
	}
}

// peekHead returns the n buffered bytes of the head headBlock found.
func (c *h1Conn) peekHead(n int) []byte {
	b, _ := c.br.Peek(n)
	return b
}

// headerEnd returns the length of the header block at the start of b (up
// to and including the line feed that ends its last field line), or -1
// when b holds no empty line from offset from on. Like http.ReadResponse
// it accepts lines ending in a bare line feed.
func headerEnd(b []byte, from int) int {
	for i := from; i+1 < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if b[i+1] == '\n' || (b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n') {
			return i + 1
		}
	}
	return -1
}

// framingFields reports whether the header block hdr (status line
// included) has at most one Content-Length field line and not both a
// Content-Length and a Transfer-Encoding.
func framingFields(hdr []byte) bool {
	var cl, te int
	for len(hdr) > 0 {
		i := bytes.IndexByte(hdr, '\n')
		if i < 0 {
			i = len(hdr)
		}
		line := hdr[:i]
		hdr = hdr[min(i+1, len(hdr)):]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		switch name := line[:colon]; {
		case len(name) == len("content-length") && asciiEqualFold(name, "content-length"):
			cl++
		case len(name) == len("transfer-encoding") && asciiEqualFold(name, "transfer-encoding"):
			te++
		}
	}
	return cl <= 1 && (cl == 0 || te == 0)
}

func asciiEqualFold(b []byte, lower string) bool {
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// staleIf turns the errors of a connection the backend closed while idle
// into errStaleConn.
func staleIf(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return errStaleConn
	}
	return err
}

// h1Body returns its connection to the pool when the body was read to
// its end, and closes it when the body is closed early.
type h1Body struct {
	rc   io.ReadCloser
	c    *h1Conn
	t    *h1Transport
	stop func() bool
	keep bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		b.t.release(b.c, b.stop, b.keep)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.done = true
		b.stop()
		b.c.Close()
	}
	return nil
}

// release puts c back into the pool, or closes it: when keep is false,
// when the request's context ended meanwhile (its deadline is spoiled), or
// when the backend sent more than the response (bytes left in the read
// buffer would be read as the next request's answer).
func (t *h1Transport) release(c *h1Conn, stop func() bool, keep bool) {
	if !stop() || !keep || c.br.Buffered() > 0 {
		c.Close()
		return
	}
	t.mu.Lock()
	if len(t.idle[c.host]) < t.maxIdle {
		if t.idle == nil {
			t.idle = make(map[string][]*h1Conn)
		}
		t.idle[c.host] = append(t.idle[c.host], c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// get returns an idle connection to host (most recently used first), or
// dials a new one; a new one always when fresh is set. Whether something
// arrived on an idle one while it was idle, roundTrip checks. Taking the
// newest leaves the oldest unused while traffic flows, so those past the
// idle timeout are closed here too: a backend that closed them would
// otherwise leave their descriptors open until the pool drained to them.
func (t *h1Transport) get(ctx context.Context, host string, fresh bool, now time.Time) (*h1Conn, bool, error) {
	t.mu.Lock()
	cs, k := t.idle[host], 0
	for k < len(cs) && now.Sub(cs[k].lastUsed) >= t.idleTimeout {
		cs[k].Close()
		k++
	}
	if k > 0 {
		t.idle[host] = append(cs[:0], cs[k:]...)
	}
	for cs := t.idle[host]; len(cs) > 0 && !fresh; cs = t.idle[host] {
		c := cs[len(cs)-1]
		t.idle[host] = cs[:len(cs)-1]
		if now.Sub(c.lastUsed) < t.idleTimeout {
			// roundTrip checks that nothing arrived while it was idle.
			t.mu.Unlock()
			return c, true, nil
		}
		c.Close()
	}
	t.mu.Unlock()
	conn, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return newH1Conn(conn, host), false, nil
}

// newH1Conn makes a connection to host of conn, dialed.
func newH1Conn(conn net.Conn, host string) *h1Conn {
	c := &h1Conn{Conn: conn, host: host, wfd: -1}
	c.bw = bufio.NewWriterSize(h1Writer{c}, 8<<10)
	c.writeFn, c.readFn = c.writeReq, c.readAnswer
	c.lr.c, c.lr.fd = conn, -1
	c.br = bufio.NewReaderSize(&c.lr, 16<<10)
	c.peek.init(conn)
	return c
}

// closeIdle closes every idle connection.
func (t *h1Transport) closeIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.Close()
		}
	}
}
