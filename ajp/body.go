package ajp

import (
	"fmt"
	"io"
	"net/http"
	"sync"
)

// body is a request body read from the web server packet by packet. The
// first packet of a body with a Content-Length comes unasked, right
// after the Forward Request; every other one is asked for with
// GET_BODY_CHUNK, one at a time, when a Read needs it. A packet without
// data ends the body: where a Content-Length was given, that is a body
// cut off (the client went away). Nothing is read ahead: the body
// streams at the pace of its reader.
//
// Reads may come from another goroutine than the handler's (a transport
// sending the body to a backend) and may still run when the handler has
// returned: mu serializes them with close.
type body struct {
	c *conn

	mu        sync.Mutex
	remaining int64  // data bytes still to come; -1: until a packet without data
	unasked   bool   // the first packet is on its way unasked
	data      []byte // what the last packet holds still (aliases c.rbuf)
	eof       bool
	err       error
	closed    bool
}

// errBodyCutOff is a body that ended before its Content-Length.
var errBodyCutOff = fmt.Errorf("ajp: request body cut off: %w", io.ErrUnexpectedEOF)

func newBody(c *conn, contentLength int64) *body {
	return &body{c: c, remaining: contentLength, unasked: contentLength > 0}
}

// Read implements io.Reader. A read error other than io.EOF leaves the
// connection unfit for another request: it is closed after the
// response.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	for len(b.data) == 0 {
		switch {
		case b.err != nil:
			return 0, b.err
		case b.eof:
			return 0, io.EOF
		case len(p) == 0:
			return 0, nil
		}
		if err := b.next(); err != nil {
			b.err = err
			b.c.broken.Store(true)
		}
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	if len(b.data) == 0 && b.remaining == 0 {
		b.eof = true
		return n, io.EOF
	}
	return n, nil
}

// Close does nothing: the server ends the body when the handler returns
// (see close), and a transport may still be reading it then.
func (b *body) Close() error { return nil }

// next reads the next body packet, asking for it unless it comes unasked.
func (b *body) next() error {
	c := b.c
	if b.remaining == 0 {
		b.eof = true
		return nil
	}
	if !b.unasked {
		if err := c.askBody(); err != nil {
			return err
		}
	}
	b.unasked = false
	c.setBodyReadDeadline()
	p, err := c.readPacket()
	if err != nil {
		return err
	}
	n, err := bodyPacketData(p)
	if err != nil {
		return err
	}
	if n == 0 {
		if b.remaining > 0 {
			return errBodyCutOff
		}
		b.eof = true
		return nil
	}
	if b.remaining > 0 {
		if int64(n) > b.remaining {
			return malformed("more request body than its Content-Length")
		}
		b.remaining -= int64(n)
	}
	b.data = p[2:]
	return nil
}

// bodyPacketData checks the payload of a request body packet — empty, or
// the data's length in two bytes and the data — and returns the data's
// length.
func bodyPacketData(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) < 2 || int(p[0])<<8|int(p[1]) != len(p)-2 {
		return 0, malformed("request body packet")
	}
	return len(p) - 2, nil
}

// closeNow ends the body, as close does, when that needs no wait: no
// read is in progress and no packet is on its way unasked. It reports
// whether it did.
func (b *body) closeNow() bool {
	if !b.mu.TryLock() {
		return false
	}
	defer b.mu.Unlock()
	if b.unasked && b.err == nil {
		return false
	}
	b.closed = true
	b.data = nil
	return true
}

// close ends the body once the handler has returned, after any read in
// progress: later reads fail, and the packet still on its way unasked
// (a body nobody read) is read and dropped, so that the connection can
// carry the next request.
func (b *body) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.data = nil
	if !b.unasked || b.err != nil {
		return
	}
	b.unasked = false
	b.c.setReadTimeout() // the handler's deadline was for its reads
	p, err := b.c.readPacket()
	if err == nil {
		_, err = bodyPacketData(p)
	}
	if err != nil {
		b.c.broken.Store(true)
	}
}
