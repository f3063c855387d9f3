package proxy

import (
	"bufio"
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
// rest of the request path. Everything else (bodies, upgrades, TLS) goes
// through http.Transport. A request that fails on a reused connection
// before any response byte arrived is retried once on a new connection,
// which is safe because the request is idempotent and has no body.
type h1Transport struct {
	dialer          net.Dialer
	responseTimeout time.Duration // for the response header; 0 means none
	idleTimeout     time.Duration // idle connections older than this are closed
	maxIdle         int           // idle connections kept per host

	mu   sync.Mutex
	idle map[string][]*h1Conn
}

// h1Conn is one keep-alive connection.
type h1Conn struct {
	net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	host     string
	lastUsed time.Time
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

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context(), req.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTrip(c, req)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if errors.Is(err, errStaleConn) {
			if reused && attempt == 0 {
				continue
			}
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

var longAgo = time.Unix(1, 0)

func (t *h1Transport) roundTrip(c *h1Conn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(longAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(staleIf(err))
	}
	if err := c.bw.Flush(); err != nil {
		return fail(staleIf(err))
	}
	if t.responseTimeout > 0 {
		c.SetReadDeadline(time.Now().Add(t.responseTimeout))
	}
	var resp *http.Response
	for first := true; ; first = false {
		if _, err := c.br.Peek(1); err != nil {
			if first {
				err = staleIf(err)
			}
			return fail(err)
		}
		r, err := http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue // 100 Continue, 103 Early Hints: wait for the final answer
		}
		resp = r
		break
	}
	if t.responseTimeout > 0 {
		c.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			resp.Body.Close()
			return fail(ctx.Err())
		}
	}
	keep := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if resp.Body == http.NoBody {
		t.release(c, stop, keep)
		return resp, nil
	}
	resp.Body = &h1Body{rc: resp.Body, c: c, t: t, stop: stop, keep: keep}
	return resp, nil
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

// release puts c back into the pool, or closes it.
func (t *h1Transport) release(c *h1Conn, stop func() bool, keep bool) {
	if !stop() || !keep {
		c.Close() // the request's context ended meanwhile: the deadline is spoiled
		return
	}
	c.lastUsed = time.Now()
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

// get returns an idle connection to host (most recently used first) or
// dials a new one.
func (t *h1Transport) get(ctx context.Context, host string) (*h1Conn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	for cs := t.idle[host]; len(cs) > 0; cs = t.idle[host] {
		c := cs[len(cs)-1]
		t.idle[host] = cs[:len(cs)-1]
		if now.Sub(c.lastUsed) < t.idleTimeout {
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
	return &h1Conn{
		Conn: conn, host: host,
		br: bufio.NewReaderSize(conn, 16<<10),
		bw: bufio.NewWriterSize(conn, 8<<10),
	}, false, nil
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
