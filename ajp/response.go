package ajp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// response is the http.ResponseWriter of a request served over AJP.
//
// The status and fields become one SEND_HEADERS packet at WriteHeader (or
// the first Write), the body SEND_BODY_CHUNKs of up to the packet size
// less their 8 bytes of framing. Both are held until a chunk is full, the
// handler flushes or returns: a response that fits in one chunk goes out
// in one write with its END_RESPONSE, and with a Content-Length — added
// to the held SEND_HEADERS — when the handler set none. Flush sends what
// is held and an empty SEND_BODY_CHUNK, on which mod_jk and mod_proxy_ajp
// flush to the client. (BenchmarkServe measures this path.)
//
// Its methods may be called from several goroutines (a handler writing
// while a transport reads the request body): the connection's wmu
// guards the state below header.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header

	// Guarded by c.wmu.
	status      int
	wroteHeader bool  // SEND_HEADERS is made: in c.out from hdrAt, or sent
	hdrAt       int   // where SEND_HEADERS starts in c.out; -1 once sent
	bodyless    bool  // 204, 304 or HEAD: no body goes out
	declared    int64 // the handler's Content-Length, or -1
	hasLength   bool  // the handler set a Content-Length field, valid or not
	written     int64
	chunk       []byte // the SEND_BODY_CHUNK being filled, data from chunkData on
	n           int    // data bytes in chunk
	replaced    bool   // the handler's response could not be sent; its body is dropped
	closeConn   bool   // the handler asked for "Connection: close"
	done        bool   // the handler returned
}

const chunkData = headerSize + 3

var errHandlerDone = errors.New("ajp: response used after its handler returned")

// Header implements http.ResponseWriter. Changes after WriteHeader or the
// first Write are not sent.
func (w *response) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. Informational statuses
// (1xx) are dropped: AJP has no interim responses.
func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	w.writeHeader(code)
}

// writeHeader makes the SEND_HEADERS packet of code and the fields, in
// c.out. When the fields do not fit in a packet the response becomes a
// 500 (logged) and the handler's body is dropped.
func (w *response) writeHeader(code int) {
	if w.done || w.wroteHeader || code < 200 {
		return
	}
	w.wroteHeader = true
	w.status = code
	h := w.header
	w.bodyless = code == http.StatusNoContent || code == http.StatusNotModified || w.req.Method == http.MethodHead
	w.declared = -1
	_, w.hasLength = h["Content-Length"]
	if cl := h["Content-Length"]; len(cl) == 1 {
		if n, ok := parseContentLength(cl[0]); ok {
			w.declared = n
		}
	}
	for _, v := range h["Connection"] {
		if hasToken(v, "close") {
			w.closeConn = true
		}
	}
	c := w.c
	w.hdrAt = len(c.out)
	out, ok := appendSendHeaders(c.out, code, h, c.s.packetSize)
	if ok {
		c.out = out
		return
	}
	c.s.logger().Error("AJP response fields larger than the packet size; answered 500 instead",
		"status", code, "packet_size", c.s.packetSize, "web_server", c.remote, "uri", w.req.RequestURI)
	w.replaced = true
	c.out = appendSimpleResponse(c.out, http.StatusInternalServerError)
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively.
func hasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// Write implements http.ResponseWriter. It returns http.ErrBodyNotAllowed
// after a 204 or 304, and http.ErrContentLength for bytes past the
// Content-Length the handler set; the bytes of a response to HEAD are
// counted and dropped.
func (w *response) Write(p []byte) (int, error) {
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if w.done {
		return 0, errHandlerDone
	}
	if c.werr != nil {
		return 0, c.werr
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	switch {
	case w.replaced:
		return len(p), nil
	case w.bodyless && w.req.Method == http.MethodHead:
		w.written += int64(len(p))
		return len(p), nil
	case w.bodyless:
		return 0, http.ErrBodyNotAllowed
	case w.declared >= 0 && w.written+int64(len(p)) > w.declared:
		return 0, http.ErrContentLength
	}
	total := len(p)
	for len(p) > 0 {
		if w.chunk == nil {
			w.chunk = c.s.getBuffer()
		}
		free := w.chunk[chunkData+w.n : len(w.chunk)-1]
		if len(free) == 0 {
			// Full: it goes out now that more follows.
			if err := c.send(true, nil); err != nil {
				return total - len(p), err
			}
			continue
		}
		k := copy(free, p)
		w.n += k
		w.written += int64(k)
		p = p[k:]
	}
	return total, nil
}

// chunkPacket completes the SEND_BODY_CHUNK held in chunk and returns it.
func (w *response) chunkPacket() []byte {
	b, n := w.chunk, w.n
	b[0], b[1] = 'A', 'B'
	putUint16(b[2:], n+4)
	b[4] = msgSendBodyChunk
	putUint16(b[5:], n)
	b[chunkData+n] = 0
	return b[:chunkData+n+1]
}

// appendSimpleResponse appends a plain-text response of status: its
// SEND_HEADERS and its body, the status text.
func appendSimpleResponse(b []byte, status int) []byte {
	text := strconv.Itoa(status) + " " + http.StatusText(status) + "\n"
	h := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"Content-Length":         {strconv.Itoa(len(text))},
		"X-Content-Type-Options": {"nosniff"},
	}
	b, _ = appendSendHeaders(b, status, h, DefaultPacketSize)
	b = append(b, 'A', 'B', 0, 0, msgSendBodyChunk)
	putUint16(b[len(b)-3:], len(text)+4)
	b = appendString(b, text)
	return b
}

// Flush implements http.Flusher.
func (w *response) Flush() { w.FlushError() }

// FlushError sends the fields, if they were not sent, what the body holds
// and an empty SEND_BODY_CHUNK, on which the web server flushes to the
// client. http.ResponseController calls it.
func (w *response) FlushError() error {
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if w.done {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	return c.send(true, flushPacket)
}

// SetReadDeadline bounds the reads of the request body from now on (and
// one in progress), in place of the Server's ReadTimeout; the zero time
// restores it. http.ResponseController calls it.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.setUserReadDeadline(t)
	return nil
}

// SetWriteDeadline bounds the writes to the web server from now on.
// http.ResponseController calls it.
func (w *response) SetWriteDeadline(t time.Time) error {
	return w.c.nc.SetWriteDeadline(t)
}

// EnableFullDuplex does nothing: over AJP the body can be read while the
// response is written. http.ResponseController calls it.
func (w *response) EnableFullDuplex() error { return nil }

// finish completes the response once the handler has returned: a
// Content-Length is added to the SEND_HEADERS still held when the handler
// set none and the body is all held, and it reports whether the response
// is whole — false when the handler wrote less than its Content-Length.
// Called with c.wmu held.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	w.done = true
	if w.hdrAt >= 0 && !w.replaced && !w.hasLength {
		var length int64 = -1
		switch {
		case !w.bodyless:
			length = int64(w.n)
		case w.req.Method == http.MethodHead && w.written > 0:
			length = w.written
		}
		if length >= 0 {
			if out, ok := appendField(w.c.out, w.hdrAt, "Content-Length", strconv.FormatInt(length, 10), w.c.s.packetSize); ok {
				w.c.out = out
			}
		}
	}
	return w.replaced || w.bodyless || w.declared < 0 || w.written >= w.declared
}

// sent reports whether the SEND_HEADERS went out.
func (w *response) sent() bool { return w.wroteHeader && w.hdrAt < 0 }

// fail answers a 500 in place of the response of a handler that
// panicked before anything of it was sent. Called with c.wmu held.
func (w *response) fail() {
	c := w.c
	if w.wroteHeader {
		c.out = c.out[:w.hdrAt]
	}
	w.done, w.wroteHeader, w.replaced = true, true, true
	w.hdrAt = len(c.out)
	w.n = 0
	c.out = appendSimpleResponse(c.out, http.StatusInternalServerError)
}

func (w *response) release() {
	if w.chunk != nil {
		w.c.s.putBuffer(w.chunk)
		w.chunk = nil
	}
}
