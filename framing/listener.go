package framing

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener whose connections follow the HTTP/1.x
// requests an http.Server reads from them, so that Handler can refuse a
// request whose framing is ambiguous. Serve a plain (not TLS) listener
// through it and set ConnContext on the server; a TLS listener must not
// be wrapped (it would see only ciphertext, and http.Server needs the
// *tls.Conn itself for HTTP/2).
type Listener struct {
	net.Listener

	// MaxHeaderBytes is the server's http.Server.MaxHeaderBytes. A head
	// longer than it plus net/http's 4096 bytes of slack, which the
	// server refuses too, stops the sniffer. Zero means
	// http.DefaultMaxHeaderBytes, as for http.Server.
	MaxHeaderBytes int
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for the next connection and returns it wrapped. The
// wrapper adds no goroutine and copies nothing: it looks at the bytes
// each Read returns.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	max := l.MaxHeaderBytes
	if max <= 0 {
		max = http.DefaultMaxHeaderBytes
	}
	fc := &conn{Conn: c}
	fc.s.maxHdr = int64(max) + 4096
	return fc, nil
}

// conn is an accepted connection and the sniffer following it. Reads
// come from the server's goroutine for the connection or its background
// read; Handler takes verdicts from the request's goroutine: mu orders
// them.
type conn struct {
	net.Conn
	refused atomic.Bool // a request was refused: read nothing more

	mu sync.Mutex
	s  sniffer
}

var (
	_ net.Conn      = (*conn)(nil)
	_ io.ReaderFrom = (*conn)(nil)
)

// Read reads from the connection and lets the sniffer see the bytes.
// After a refusal it reports io.EOF, so that the server neither waits for
// nor reads the refused request's body (or a request smuggled in it).
func (c *conn) Read(p []byte) (int, error) {
	if c.refused.Load() {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.s.feed(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite half-closes the connection when the wrapped one can:
// http.Server uses it to close gracefully after an error response.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// ReadFrom lets http.Server send files with sendfile(2) as it does on a
// bare *net.TCPConn; only reads are sniffed.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

type writerOnly struct{ io.Writer }

// admit takes the verdict for r, the next request the server serves on
// c, and returns why it must be refused, or noReason. net/http serves a
// connection's requests one at a time in the order they came, so r's head
// is the oldest one pending, unless that one is an OPTIONS * request
// net/http answered itself.
func (c *conn) admit(r *http.Request) reason {
	fp := fingerprint(r.Method, r.RequestURI, r.Proto)
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.s.pending.len() > 0 {
		v := c.s.pending.pop()
		if v == fp {
			return noReason
		}
		if v&1 == 0 || fp&1 == 1 {
			break
		}
	}
	why := c.s.why
	if why == noReason {
		why = rUntracked
	}
	c.s.stop(why)
	c.refused.Store(true)
	return why
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it lets Handler find the
// connection of a request accepted by a Listener. Connections from other
// listeners are left alone.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*conn); ok {
		return context.WithValue(ctx, ctxKey{}, fc)
	}
	return ctx
}
