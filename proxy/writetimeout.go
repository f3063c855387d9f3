package proxy

import (
	"net"
	"time"
)

// A client that stops reading its response blocks the gateway's write to
// it, and with it the backend connection the response comes from. A
// write timeout ends such a connection when no byte of a write is taken
// for its length, as nginx's send_timeout does: a slow client that keeps
// reading is never cut, however long its response takes.

// writeProgress writes p to conn, which must not be written to by anyone
// else meanwhile, and fails with a timeout only when d passes with no byte
// of it taken.
func writeProgress(conn net.Conn, p []byte, d time.Duration) (int, error) {
	n := 0
	for {
		conn.SetWriteDeadline(time.Now().Add(d))
		m, err := conn.Write(p[n:])
		n += m
		if err == nil || m == 0 || !isTimeout(err) {
			return n, err
		}
	}
}

// WriteTimeoutListener returns l whose connections' writes fail (and so
// their requests end, and the connections close) when no byte of a write
// is taken for d: for net/http's servers, whose WriteTimeout bounds a
// whole response instead. A d of 0 returns l as it is.
func WriteTimeoutListener(l net.Listener, d time.Duration) net.Listener {
	if d <= 0 {
		return l
	}
	return &writeTimeoutListener{Listener: l, d: d}
}

type writeTimeoutListener struct {
	net.Listener
	d time.Duration
}

func (l *writeTimeoutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &writeTimeoutConn{Conn: c, d: l.d}, nil
}

// writeTimeoutConn is a connection whose writes time out when no byte is
// taken for d. It does not implement io.ReaderFrom: a copy into it goes
// through Write, one buffer at a time.
type writeTimeoutConn struct {
	net.Conn
	d time.Duration
}

func (c *writeTimeoutConn) Write(p []byte) (int, error) { return writeProgress(c.Conn, p, c.d) }

// CloseWrite half-closes the connection when the wrapped one can, as
// net/http's graceful close after an error response wants.
func (c *writeTimeoutConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
