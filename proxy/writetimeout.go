package proxy

import (
	"net"
	"sync/atomic"
	"time"
)

// A client that stops reading its response blocks the gateway's write to
// it, and with it the backend connection the response comes from. A
// write timeout ends such a connection when the client takes no byte for
// its length, as nginx's send_timeout does: a slow client that keeps
// reading is never cut, however long its response takes.

// WriteTimeouts counts the writes to clients a write timeout ended, each
// closing its connection: clients that stopped reading. Its zero value is
// ready; a nil one counts nothing.
type WriteTimeouts struct{ n atomic.Int64 }

// Count returns how many writes timed out.
func (t *WriteTimeouts) Count() int64 {
	if t == nil {
		return 0
	}
	return t.n.Load()
}

func (t *WriteTimeouts) add() {
	if t != nil {
		t.n.Add(1)
	}
}

// unackedOf is unacked; tests replace it.
var unackedOf = unacked

// writeProgress writes p to conn, which must not be written to by anyone
// else meanwhile, and fails with a timeout only when d passes with the
// client taking no byte (d 0: no timeout). What the client took is what
// it acknowledged (unacked, where the system tells): a blocked write wakes
// only once a good part of the socket's send buffer (up to 4 MiB) has
// drained, which a slow reader can take minutes to do. A timeout is
// counted in timedOut.
func writeProgress(conn net.Conn, p []byte, d time.Duration, timedOut *WriteTimeouts) (int, error) {
	if d <= 0 {
		return conn.Write(p)
	}
	n := 0
	// acked counts, from an origin of its own, what the client
	// acknowledged: what was written less what is still unacknowledged.
	acked := func() int {
		if q := unackedOf(conn); q >= 0 {
			return n - q
		}
		return n // only writes show progress
	}
	last := acked()
	for {
		conn.SetWriteDeadline(time.Now().Add(d))
		m, err := conn.Write(p[n:])
		n += m
		if err == nil || !isTimeout(err) {
			return n, err
		}
		if now := acked(); now > last {
			last = now
			continue
		}
		timedOut.add()
		return n, err
	}
}

// WriteTimeoutListener returns l whose connections' writes fail (and so
// their requests end, and the connections close) when the client
// acknowledges no byte for d (writeProgress): for net/http's servers, whose WriteTimeout bounds a
// whole response instead. The timeouts are counted in timedOut (may be
// nil). A d of 0 returns l as it is.
func WriteTimeoutListener(l net.Listener, d time.Duration, timedOut *WriteTimeouts) net.Listener {
	if d <= 0 {
		return l
	}
	return &writeTimeoutListener{Listener: l, d: d, timedOut: timedOut}
}

type writeTimeoutListener struct {
	net.Listener
	d        time.Duration
	timedOut *WriteTimeouts
}

func (l *writeTimeoutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &writeTimeoutConn{Conn: c, d: l.d, timedOut: l.timedOut}, nil
}

// writeTimeoutConn is a connection whose writes time out when the client
// acknowledges no byte for d. It does not implement io.ReaderFrom: a copy
// into it goes through Write, one buffer at a time.
type writeTimeoutConn struct {
	net.Conn
	d        time.Duration
	timedOut *WriteTimeouts
}

func (c *writeTimeoutConn) Write(p []byte) (int, error) {
	return writeProgress(c.Conn, p, c.d, c.timedOut)
}

// CloseWrite half-closes the connection when the wrapped one can, as
// net/http's graceful close after an error response wants.
func (c *writeTimeoutConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite half-closes c when it can (a TCP connection, or one wrapping
// it), else does nothing.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
