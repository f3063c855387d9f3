package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// guardedConn is a connection of an API's http.Transport that lets a
// reused connection carry a new request only once the transport's reader
// has found nothing left over from the previous response.
//
// http.Transport puts a connection back into its pool before its reader
// looks for bytes that followed the response ("Unsolicited response
// received on idle HTTP channel"); a request that takes the connection in
// between reads those bytes as its own answer (TestH1StricterThanTransport
// shows it: another request's token after a 204 with a body). Its reader
// only asks the socket for more once its buffer is empty, so a Read in
// progress means nothing is buffered; awaitQuiet, called from the trace's
// GotConn for a reused connection, waits for that (or for the reader to
// close the connection over the bytes it found) and then makes sure that
// nothing waits in the socket either.
type guardedConn struct {
	net.Conn
	peek    idlePeek
	mu      sync.Mutex
	cond    sync.Cond
	reading bool // a Read is in progress
	done    bool // closed, or given up on
}

func newGuardedConn(c net.Conn) *guardedConn {
	g := &guardedConn{Conn: c}
	g.cond.L = &g.mu
	g.peek.init(c)
	return g
}

func (g *guardedConn) Read(p []byte) (int, error) {
	g.mu.Lock()
	g.reading = true
	g.cond.Broadcast()
	g.mu.Unlock()
	n, err := g.Conn.Read(p)
	g.mu.Lock()
	g.reading = false
	g.mu.Unlock()
	return n, err
}

func (g *guardedConn) Close() error {
	g.mu.Lock()
	g.done = true
	g.cond.Broadcast()
	g.mu.Unlock()
	return g.Conn.Close()
}

// quietWait bounds awaitQuiet: the transport's reader gets back to its
// socket within microseconds of pooling a connection.
const quietWait = time.Second

// awaitQuiet waits until the transport's reader reads from the socket
// with an empty buffer (or the connection is closed), then looks at the
// socket (idlePeek.quiet): bytes there would be read at once, so it
// closes the connection over them. After quietWait without a read it
// closes the connection too.
func (g *guardedConn) awaitQuiet() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.reading && !g.done {
		t := time.AfterFunc(quietWait, func() {
			g.mu.Lock()
			g.cond.Broadcast()
			g.mu.Unlock()
		})
		deadline := time.Now().Add(quietWait)
		for !g.reading && !g.done && time.Now().Before(deadline) {
			g.cond.Wait()
		}
		t.Stop()
	}
	if !g.done && (!g.reading || !g.peek.quiet()) {
		g.done = true
		g.Conn.Close()
	}
}

// guardGotConn makes a reused connection of http.Transport wait in
// awaitQuiet before it carries a request.
func guardGotConn(info httptrace.GotConnInfo) {
	if !info.Reused {
		return
	}
	c := info.Conn
	if tc, ok := c.(*tls.Conn); ok {
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			return // frames may come at any time; HTTP/2 frames its own streams
		}
		c = tc.NetConn()
	}
	if g, ok := c.(*guardedConn); ok {
		g.awaitQuiet()
	}
}

// guarded returns req with guardGotConn in its trace. The trace is new
// each time: httptrace.WithClientTrace writes the hooks it composes into
// it.
func guarded(req *http.Request) *http.Request {
	return req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: guardGotConn}))
}

// guardedDial wraps the connections d dials in guardedConn.
func guardedDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newGuardedConn(c), nil
	}
}
