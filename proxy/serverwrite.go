package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// respWriter is the http.ResponseWriter of Server's requests. What the
// gateway answers itself (errors) is buffered and written with its
// Content-Length when the handler returns; a forwarded response is
// streamed (see stream).
type respWriter struct {
	c       *conn
	h       http.Header
	status  int
	head    bool // the request was HEAD: no body
	closing bool // close the connection after this response
	wrote   bool // the head is written
	failed  bool // a write failed or the response was cut off
	buf     []byte

	// streaming state, set by stream
	streaming bool
	upstream  http.Header // the backend's fields, written after h's
	chunked   bool
	noBody    bool
	trailer   http.Header // the backend's trailer, written after a chunked body
}

func (w *respWriter) reset(head, closing bool) {
	if w.h == nil {
		w.h = make(http.Header, 8)
	}
	clear(w.h)
	w.status, w.head, w.closing, w.wrote, w.failed = 0, head, closing, false, false
	w.buf = w.buf[:0]
	w.streaming, w.upstream, w.chunked, w.noBody, w.trailer = false, nil, false, false, nil
}

// Header implements http.ResponseWriter.
func (w *respWriter) Header() http.Header { return w.h }

// WriteHeader implements http.ResponseWriter. Informational codes are
// not written (the fast path forwards none).
func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

// Write implements http.ResponseWriter.
func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.streaming {
		w.buf = append(w.buf, b...)
		return len(b), nil
	}
	if w.failed {
		return 0, io.ErrClosedPipe
	}
	if !w.wrote {
		w.writeHead(-1)
	}
	if w.noBody || len(b) == 0 {
		return len(b), nil
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(b)), 16))
		bw.WriteString("\r\n")
		bw.Write(b)
		bw.WriteString("\r\n")
		// A body of unknown length is streamed as it comes, as
		// httputil.ReverseProxy does (server-sent events, long polls).
		if err := bw.Flush(); err != nil {
			w.failed = true
			return 0, err
		}
		return len(b), nil
	}
	n, err := bw.Write(b)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// stream prepares the writer for a backend's response: its fields are
// written after the gateway's, its body with its own length or, when it
// has none, chunked.
func (w *respWriter) stream(resp *http.Response) {
	w.streaming = true
	w.upstream = resp.Header
	switch {
	case w.head || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified:
		w.noBody = true
	case resp.ContentLength < 0:
		w.chunked = true
	}
}

// abort marks the response as cut off: the connection is closed after
// what was written, so that the client sees a truncated response rather
// than a complete one.
func (w *respWriter) abort() { w.failed, w.closing = true, true }

// finish completes the response once the handler returned and reports
// whether the connection may carry another request.
func (w *respWriter) finish() bool {
	bw := w.c.bw
	if w.failed {
		bw.Flush()
		return false
	}
	if !w.streaming {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.writeHead(len(w.buf))
		if !w.head {
			bw.Write(w.buf)
		}
	} else {
		if !w.wrote {
			w.writeHead(-1)
		}
		if w.chunked {
			b := append(bw.AvailableBuffer(), "0\r\n"...)
			b = appendFields(b, w.trailer)
			bw.Write(append(b, "\r\n"...))
		}
	}
	if len(w.buf) > 64<<10 {
		w.buf = nil // don't keep a large error body's buffer per connection
	}
	if !w.closing && w.c.rd.fd >= 0 && w.c.br.Buffered() == 0 {
		// Inside serveSession: written when readHead begins the idle
		// period, before it reads or waits (BenchmarkEngines: the
		// session needs no read before its wait). A pipelined request
		// gets the answer to the one before at once.
		w.c.pending = true
		return true
	}
	if err := bw.Flush(); err != nil {
		return false
	}
	return !w.closing
}

// writeHead writes the status line and the fields: the gateway's, the
// backend's (when streaming) except hop-by-hop ones, Date when neither
// has one, the framing of the body (a Content-Length of length when it is
// not negative and the fields have none, else "Transfer-Encoding: chunked"
// when chunked) and "Connection: close" when closing.
func (w *respWriter) writeHead(length int) {
	w.wrote = true
	bw := w.c.bw
	if v := w.h["Connection"]; len(v) > 0 {
		for _, s := range v {
			if strings.Contains(strings.ToLower(s), "close") {
				w.closing = true
			}
		}
	}
	if w.c.s.draining.Load() {
		w.closing = true
	}
	// The head is appended to the buffer's free space and written in one
	// call, not field by field through the writer (BenchmarkFastPath).
	b := bw.AvailableBuffer()
	b = append(b, "HTTP/1.1 "...)
	b = append(b, statusLine(w.status)...)
	b = append(b, "\r\n"...)
	_, hasDate := w.h["Date"]
	_, hasLength := w.h["Content-Length"]
	// As net/http writes a response: no field whose name is not a token
	// (a backend's "Transfer-Encoding : chunked" would frame the response
	// for a proxy in front that trims the space), and no Content-Length
	// on a status that has no body.
	noLength := !bodyAllowed(w.status)
	for name, vs := range w.h {
		if name == "Connection" || name == "Transfer-Encoding" || (name == "Content-Length" && (w.streaming || noLength)) || !validFieldName(name) {
			continue
		}
		b = appendField(b, name, vs)
	}
	if w.streaming {
		hasLength = false
		for name, vs := range w.upstream {
			if hopByHop(name) || (name == "Content-Length" && (w.chunked || noLength)) || !validFieldName(name) {
				continue
			}
			switch name {
			case "Date":
				hasDate = true
			case "Content-Length":
				hasLength = true
			}
			b = appendField(b, name, vs)
		}
	}
	if !hasDate {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, "\r\n"...)
	}
	switch {
	case w.chunked && !w.noBody:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case length >= 0 && !hasLength && !w.noBody && bodyAllowed(w.status):
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(length), 10)
		b = append(b, "\r\n"...)
	}
	if w.closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	bw.Write(b)
}

// appendField appends a field's lines; a value's CR and LF become
// spaces, as net/http writes them.
func appendField(b []byte, name string, vs []string) []byte {
	for _, v := range vs {
		b = append(b, name...)
		b = append(b, ": "...)
		// IndexByte rather than a loop of one's own over the value: faster
		// even on short values (BenchmarkAppendField).
		if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		b = append(b, strings.TrimSpace(v)...)
		b = append(b, "\r\n"...)
	}
	return b
}

// appendFields appends the fields of a trailer, but for the connection's
// own and Content-Length.
func appendFields(b []byte, h http.Header) []byte {
	for name, vs := range h {
		if !hopByHop(name) && name != "Content-Length" {
			b = appendField(b, name, vs)
		}
	}
	return b
}

// hopByHop reports whether a response field is the connection's own
// (RFC 9110 §7.6.1), which a proxy does not forward; httputil.ReverseProxy
// drops the same ones.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// validFieldName reports whether name is a token (RFC 9110 §5.1).
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// statusLine returns "code reason" as net/http writes it.
func statusLine(code int) string {
	if code >= 100 && code < 600 {
		if s := statusLines[code]; s != "" {
			return s
		}
	}
	return strconv.Itoa(code) + " status code " + strconv.Itoa(code)
}

var statusLines = func() (m [600]string) {
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			m[code] = strconv.Itoa(code) + " " + t
		}
	}
	return m
}()

// httpDate returns the current time in the Date field's format, made at
// most once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &cachedDate{sec: sec, s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

type cachedDate struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[cachedDate]
