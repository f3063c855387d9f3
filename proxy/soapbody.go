package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// This file reads the start of a SOAP call's envelope before the backend
// gets any of it (soapOps.check decides with what it finds): the body
// is read into a buffer up to the first element of the envelope's Body,
// at most maxEnvelopePrefix bytes, and put back in front of the rest, so
// that the backend gets every byte as the client sent it.

// maxEnvelopePrefix bounds what the gateway reads of an envelope to find
// its Body's first element: 64 KiB, room for the Header of a
// WS-Security call (a signature, a certificate, a SAML assertion).
const maxEnvelopePrefix = 64 << 10

// errPrefixFull is the envelope's read past maxEnvelopePrefix.
var errPrefixFull = errors.New("the envelope's Body has no element within the first 64 KiB")

// readEnvelope reads the element r's envelope starts its Body with
// (soap.BodyElement), holding what it read of the body, and puts that
// back in front of the rest. whole reports that the held bytes are the
// whole body. When the envelope does not read, or its Body has no
// element within maxEnvelopePrefix, or the client's body fails, it
// answers (400, or 408 for a client too slow) and ok is false.
//
// The work is linear in what is read: soap.BodyElement makes one pass
// through one decoder, which reads the held bytes one by one
// (envelopePrefix is an io.ByteReader), and the buffer grows by
// doubling; a body sent a byte at a time costs a read each, no more
// (TestSOAPEnvelopeDribbled).
func readEnvelope(w http.ResponseWriter, r *http.Request, form errorForm) (elem string, whole, ok bool) {
	p := newEnvelopePrefix(r.Body, r.ContentLength)
	elem, err := soap.BodyElement(p, contentType(r.Header))
	if err != nil {
		var se *soap.Error
		switch {
		case errors.Is(err, errPrefixFull):
			refuseEnvelope(w, form, false, fmt.Sprintf("the envelope's Body has no element within its first %d KiB, the most the gateway reads of an envelope "+
				"to check that it calls the operation the request names: make its Header smaller", maxEnvelopePrefix>>10))
		case errors.As(err, &se):
			refuseEnvelope(w, form, p.err == io.EOF, "the envelope does not read: "+se.Error())
		case !clientBodyError(w, r, form):
			w.Header()["Connection"] = []string{"close"}
			form.write(w, http.StatusBadRequest, portico.EInvalid, "the request body is malformed or cut off")
		}
		return "", false, false
	}
	p.putBack(r)
	return elem, p.err == io.EOF, true
}

// refuseEnvelope answers 400 with msg to a call whose envelope does not
// call the operation it names. Unless the body was read whole, the
// connection is closed rather than the rest read.
func refuseEnvelope(w http.ResponseWriter, form errorForm, whole bool, msg string) {
	if !whole {
		w.Header()["Connection"] = []string{"close"}
	}
	form.write(w, http.StatusBadRequest, portico.EInvalid, msg)
}

// quoteElement quotes an element a client sent, cut to 300 bytes, for a
// message.
func quoteElement(s string) string {
	if len(s) > 300 {
		n := 300
		for n > 0 && s[n]&0xC0 == 0x80 {
			n--
		}
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}

// envelopePrefix holds the start of a request body as it is read: the
// decoder of soap.BodyElement reads it byte by byte, and it reads from
// the body as much as the body has, up to maxEnvelopePrefix.
type envelopePrefix struct {
	src io.Reader
	buf []byte // what was read of src
	off int    // what of buf was given out
	err error  // src's error, io.EOF included: no more is read
}

// newEnvelopePrefix returns a prefix of src, a body of contentLength
// bytes (-1: unknown).
func newEnvelopePrefix(src io.Reader, contentLength int64) *envelopePrefix {
	n := int64(4 << 10)
	if contentLength > 0 {
		n = min(contentLength, 16<<10)
	}
	return &envelopePrefix{src: src, buf: make([]byte, 0, n)}
}

func (p *envelopePrefix) ReadByte() (byte, error) {
	if p.off == len(p.buf) {
		if err := p.fill(); err != nil {
			return 0, err
		}
	}
	c := p.buf[p.off]
	p.off++
	return c, nil
}

func (p *envelopePrefix) Read(b []byte) (int, error) {
	if p.off == len(p.buf) {
		if err := p.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	return n, nil
}

// fill reads more of src into buf, growing it by doubling up to
// maxEnvelopePrefix; it returns an error when it read nothing.
func (p *envelopePrefix) fill() error {
	for range 100 {
		if p.err != nil {
			return p.err
		}
		if len(p.buf) == maxEnvelopePrefix {
			return errPrefixFull
		}
		if len(p.buf) == cap(p.buf) {
			b := make([]byte, len(p.buf), min(max(2*cap(p.buf), 4<<10), maxEnvelopePrefix))
			copy(b, p.buf)
			p.buf = b
		}
		n, err := p.src.Read(p.buf[len(p.buf):cap(p.buf)])
		p.buf = p.buf[:len(p.buf)+n]
		if err != nil {
			p.err = err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// putBack makes r's body give the held bytes, then the rest of the body.
// The body stays the *requestBody it was, so that the transport's
// errors still find it (errorHandler, clientBodyError); it counts the
// held bytes again when the backend reads them, so they are taken off
// its count now.
func (p *envelopePrefix) putBack(r *http.Request) {
	rb, ok := r.Body.(*requestBody)
	if !ok {
		r.Body = &heldBody{held: p.buf, rest: r.Body, eof: p.err == io.EOF}
		return
	}
	rb.ReadCloser = &heldBody{held: p.buf, rest: rb.ReadCloser, eof: p.err == io.EOF}
	rb.n.Add(-int64(len(p.buf)))
}

// heldBody is a body whose start was read ahead: the held bytes, then
// the rest.
type heldBody struct {
	held []byte
	rest io.ReadCloser
	eof  bool // the held bytes are the whole body
}

func (b *heldBody) Read(p []byte) (int, error) {
	if len(b.held) > 0 {
		n := copy(p, b.held)
		b.held = b.held[n:]
		return n, nil
	}
	if b.eof {
		return 0, io.EOF
	}
	return b.rest.Read(p)
}

func (b *heldBody) Close() error { return b.rest.Close() }
