package ajp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one connection from a web server. It carries one request at a
// time: a Forward Request, the body packets asked for while the handler
// runs, and the response up to its END_RESPONSE; CPings between requests.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	remote string          // the web server's address, for the log
	ctx    context.Context // the requests' parent: http.LocalAddrContextKey
	idle   atomic.Bool     // waiting for a message: Shutdown may close it
	broken atomic.Bool     // no request may follow the current one
	used   bool            // a message arrived on the connection

	hdr  [headerSize]byte
	rbuf []byte // the packet read last: held while a request is served

	// userDeadline is the handler's read deadline for the body, in Unix
	// nanoseconds (0: none; ReadTimeout applies).
	userDeadline atomic.Int64

	// wmu serializes writes: the response's packets and the body's
	// GET_BODY_CHUNKs, which may come from two goroutines.
	wmu  sync.Mutex
	out  []byte    // packets waiting for the next write
	resp *response // the response being written
	werr error     // the first write error: the connection is done
	vec  [3][]byte

	cmu    sync.Mutex
	cancel context.CancelFunc // the current request's context
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// errDraining ends a connection the server no longer wants requests on.
var errDraining = errors.New("ajp: server shutting down")

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		s:      s,
		nc:     nc,
		remote: nc.RemoteAddr().String(),
		ctx:    context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr()),
	}
}

func (c *conn) serve() {
	defer func() {
		if p := recover(); p != nil {
			c.s.logger().Error("panic serving an AJP connection", "web_server", c.remote, "panic", p, "stack", string(debug.Stack()))
		}
		c.nc.Close()
		c.release()
		c.s.forget(c)
	}()
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	for {
		p, err := c.next()
		if err != nil {
			c.logReadError(err)
			return
		}
		switch p[0] {
		case msgCPing:
			if c.s.draining.Load() {
				return
			}
			if _, err := c.nc.Write(cpongPacket); err != nil {
				return
			}
		case msgForwardRequest:
			if !c.serveRequest(p) {
				return
			}
		case msgShutdown:
			c.s.logger().Warn("AJP shutdown message refused; connection closed", "web_server", c.remote)
			return
		default:
			c.s.logger().Warn("unexpected AJP message; connection closed", "code", p[0], "web_server", c.remote)
			return
		}
	}
}

// release returns the connection's buffers to their pools.
func (c *conn) release() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	c.releaseRead()
}

func (c *conn) releaseRead() {
	if c.rbuf != nil {
		c.s.putBuffer(c.rbuf)
		c.rbuf = nil
	}
}

// next waits for the next message and returns its payload, of one byte
// at least. While it waits for the message's first byte the connection
// is idle: it holds no packet buffer, IdleTimeout bounds the wait and
// Shutdown may close it.
func (c *conn) next() ([]byte, error) {
	s := c.s
	if c.br.Buffered() == 0 {
		if s.draining.Load() {
			return nil, errDraining
		}
		c.releaseRead()
		if cap(c.out) > 16<<10 {
			c.out = nil // a large response's fields
		}
		c.idle.Store(true)
		// A new connection must bring its first message within
		// ReadTimeout (before any secret was checked, it has earned no
		// more); IdleTimeout is for connections in the web server's pool.
		wait := s.IdleTimeout
		if !c.used && s.ReadTimeout > 0 {
			wait = s.ReadTimeout
		}
		if wait > 0 {
			c.nc.SetReadDeadline(time.Now().Add(wait))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		_, err := c.br.Peek(1)
		c.idle.Store(false)
		c.used = true
		if err != nil {
			return nil, err
		}
		if s.draining.Load() {
			// Closed as idle a moment too late: nothing was started.
			return nil, errDraining
		}
	}
	c.setReadTimeout()
	p, err := c.readPacket()
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, malformed("a message without a code")
	}
	return p, nil
}

// readPacket reads one packet from the web server into c.rbuf and
// returns its payload. A packet without the 0x12 0x34 signature or
// larger than the packet size is malformed: nothing is allocated for it.
func (c *conn) readPacket() ([]byte, error) {
	h := c.hdr[:]
	if _, err := io.ReadFull(c.br, h); err != nil {
		return nil, err
	}
	if h[0] != 0x12 || h[1] != 0x34 {
		return nil, malformed(fmt.Sprintf("signature %#02x %#02x", h[0], h[1]))
	}
	n := int(h[2])<<8 | int(h[3])
	if n > c.s.packetSize-headerSize {
		return nil, malformed(fmt.Sprintf("a packet of %d bytes, larger than the packet size %d", n+headerSize, c.s.packetSize))
	}
	if c.rbuf == nil {
		c.rbuf = c.s.getBuffer()
	}
	p := c.rbuf[:n]
	if _, err := io.ReadFull(c.br, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return p, nil
}

func (c *conn) setReadTimeout() {
	if t := c.s.ReadTimeout; t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

// setBodyReadDeadline sets the deadline of a body read: the handler's,
// or ReadTimeout from now.
func (c *conn) setBodyReadDeadline() {
	if d := c.userDeadline.Load(); d != 0 {
		c.nc.SetReadDeadline(time.Unix(0, d))
		return
	}
	c.setReadTimeout()
}

func (c *conn) setUserReadDeadline(t time.Time) {
	if t.IsZero() {
		c.userDeadline.Store(0)
	} else {
		c.userDeadline.Store(t.UnixNano())
	}
	c.setBodyReadDeadline() // for a read in progress too
}

func (c *conn) logReadError(err error) {
	switch {
	case errors.Is(err, errMalformed):
		c.s.logger().Warn("malformed AJP packet; connection closed", "web_server", c.remote, "err", err)
	case errors.Is(err, io.EOF), errors.Is(err, errDraining), errors.Is(err, net.ErrClosed),
		errors.Is(err, os.ErrDeadlineExceeded):
		// The web server closed, the server is shutting down, or an idle
		// connection timed out: nothing to say.
	default:
		c.s.logger().Debug("AJP connection closed", "web_server", c.remote, "err", err)
	}
}

// serveRequest serves the request of a Forward Request payload and
// reports whether the connection may carry another.
func (c *conn) serveRequest(p []byte) bool {
	s := c.s
	fr, err := parseForward(p)
	if err != nil {
		c.logReadError(err)
		return false
	}
	if s.Secret != "" {
		// Compared as digests: in constant time whatever the lengths.
		if sum := sha256.Sum256([]byte(fr.secret)); !fr.hasSecret || subtle.ConstantTimeCompare(sum[:], s.secretSum[:]) != 1 {
			why := "wrong secret"
			if !fr.hasSecret {
				why = "no secret"
			}
			c.refuse(http.StatusForbidden, why)
			return false
		}
	}
	if fr.refused != "" {
		c.refuse(http.StatusForbidden, "attribute not taken: "+fr.refused)
		return false
	}
	r, err := fr.request()
	if err != nil {
		var rf *refusal
		if !errors.As(err, &rf) {
			rf = &refusal{http.StatusBadRequest, err.Error()}
		}
		c.refuse(rf.status, rf.reason)
		return false
	}

	ctx, cancel := context.WithCancel(c.ctx)
	c.setCancel(cancel)
	r = r.WithContext(ctx)
	var b *body
	if r.ContentLength != 0 {
		b = newBody(c, r.ContentLength)
		r.Body = b
	} else {
		r.Body = http.NoBody
	}
	w := &response{c: c, req: r, header: make(http.Header), declared: -1, hdrAt: -1}
	c.userDeadline.Store(0)
	c.wmu.Lock()
	c.resp = w
	c.wmu.Unlock()
	panicked := c.run(w, r)
	// The handler is done: a transport still reading the body for it
	// stops.
	cancel()
	c.setCancel(nil)
	return c.finish(w, b, panicked)
}

func (c *conn) setCancel(f context.CancelFunc) {
	c.cmu.Lock()
	c.cancel = f
	c.cmu.Unlock()
}

// abort cancels the context of the request in flight.
func (c *conn) abort() {
	c.cmu.Lock()
	f := c.cancel
	c.cmu.Unlock()
	if f != nil {
		f()
	}
}

// run calls the handler and reports whether it panicked.
func (c *conn) run(w *response, r *http.Request) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			panicked = true
			if p != http.ErrAbortHandler {
				c.s.logger().Error("panic serving an AJP request", "web_server", c.remote, "uri", r.RequestURI,
					"panic", p, "stack", string(debug.Stack()))
			}
		}
	}()
	c.s.Handler.ServeHTTP(w, r)
	return false
}

// finish completes the response after the handler, ends the request
// body and sends END_RESPONSE, and reports whether the connection may
// carry another request: not when it broke, the handler asked to close
// it, the server is shutting down, or the response was cut off — after
// the fields went out, a panic or less body than the handler's
// Content-Length leaves out the END_RESPONSE and closes the connection,
// and the web server then cuts off the client's response.
func (c *conn) finish(w *response, b *body, panicked bool) bool {
	c.wmu.Lock()
	whole := true
	switch {
	case panicked && w.sent():
		w.done, whole = true, false
	case panicked:
		w.fail()
		c.broken.Store(true) // as net/http closes after a panic
	default:
		whole = w.finish()
	}
	ended := b == nil || b.closeNow()
	if !whole || !ended {
		// What the response holds goes out before the body is ended
		// (which may wait for a read in progress or a packet to drop).
		c.send(true, nil)
	}
	c.wmu.Unlock()
	if !ended {
		b.close()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer func() {
		w.release()
		c.resp = nil
	}()
	if !whole {
		return false
	}
	reuse := !c.broken.Load() && !w.closeConn && !c.s.draining.Load()
	end := endClosePacket
	if reuse {
		end = endReusePacket
	}
	if err := c.send(true, end); err != nil {
		return false
	}
	return reuse
}

// send writes, in one write, what the response holds when held is set —
// the packets waiting in c.out, then what its body holds as a
// SEND_BODY_CHUNK — then extra. A write error is kept: the connection is
// broken and the request's context cancelled. Called with wmu held.
func (c *conn) send(held bool, extra []byte) error {
	if c.werr != nil {
		return c.werr
	}
	v := c.vec[:0]
	if held && len(c.out) > 0 {
		v = append(v, c.out)
	}
	if held && c.resp != nil && c.resp.n > 0 {
		v = append(v, c.resp.chunkPacket())
		c.resp.n = 0
	}
	if len(extra) > 0 {
		v = append(v, extra)
	}
	var err error
	switch len(v) {
	case 0:
		return nil
	case 1:
		_, err = c.nc.Write(v[0])
	default:
		bufs := net.Buffers(v)
		_, err = bufs.WriteTo(c.nc)
	}
	if held {
		c.out = c.out[:0]
		if c.resp != nil {
			c.resp.hdrAt = -1 // sent, if it was held
		}
	}
	if err != nil {
		c.werr = err
		c.broken.Store(true)
		c.abort()
	}
	return err
}

// askBody sends a GET_BODY_CHUNK. What the response holds stays held:
// the web server takes body packets asked for before, between or after
// the response's.
func (c *conn) askBody() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.send(false, c.s.getBody)
}

// refuse answers a request with status and a short text, without
// calling the handler, logs why, and closes the connection after the web
// server has read the answer.
func (c *conn) refuse(status int, reason string) {
	c.s.logger().Warn("AJP request refused; connection closed", "status", status, "reason", reason, "web_server", c.remote)
	c.wmu.Lock()
	c.out = appendSimpleResponse(c.out[:0], status)
	c.send(true, endClosePacket)
	c.wmu.Unlock()
	c.lingerClose()
}

// lingerClose half-closes the connection and drops what the web server
// still sends (a body packet that came unasked) for a second at most,
// until it closes its side: closing with unread bytes would reset the
// connection, and the web server could lose the answer.
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(c.br, 1<<20))
}
