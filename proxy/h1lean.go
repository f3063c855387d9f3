package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The lean client's own reader and writer for the common exchange (a
// bodyless request; a response framed by its Content-Length or with no
// body): they save the allocations of http.Request.Write and
// http.ReadResponse (BenchmarkEngines, BenchmarkH1RoundTrip) and decide
// exactly as those do. Whatever they do not take — a chunked or
// close-delimited response, an informational one, any field line not
// plainly "name: value" with CRLF — goes to the standard ones.

// writeRequest writes req as http.Request.Write writes a request without
// a body: request line, Host, User-Agent (Go's default unless the header
// has one; an empty one is left out), Connection: close when req.Close,
// the other fields except the ones Write leaves out, CR and LF in values
// written as spaces. Requests it does not take it leaves to Write.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	u := req.URL
	host := req.Host
	if host == "" {
		host = u.Host
	}
	if u.Opaque != "" || !validFastHost(host) || (req.Body != nil && req.Body != http.NoBody) {
		return req.Write(bw)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if strings.IndexFunc(path, isCTL) >= 0 || strings.IndexFunc(u.RawQuery, isCTL) >= 0 {
		return req.Write(bw) // which refuses it
	}
	// Appended to the buffer's free space and written in one call
	// (BenchmarkFastPath).
	b := bw.AvailableBuffer()
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	ua := "Go-http-client/1.1"
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		b = appendField(b, "User-Agent", []string{ua})
	}
	if req.Close && !headerHasToken(req.Header["Connection"], "close") {
		b = append(b, "Connection: close\r\n"...)
	}
	for name, vs := range req.Header {
		switch name {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		b = appendField(b, name, vs)
	}
	_, err := bw.Write(append(b, "\r\n"...))
	return err
}

func isCTL(r rune) bool { return r < 0x20 || r == 0x7f }

// headerHasToken reports whether comma-separated values hold token (any
// case).
func headerHasToken(vs []string, token string) bool {
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// leanResponse reads the response head b (status line through the empty
// line, CRLF throughout) as http.ReadResponse would, or returns nil when
// it leaves the head to ReadResponse: a version other than HTTP/1.1 or
// HTTP/1.0, a status below 200 or 101, a field line that is not "token:
// value" with a value of visible characters, spaces, tabs and obs-text,
// a Transfer-Encoding or Trailer field, or a Content-Length that is not
// one field of digits. The response has no Body yet (see
// leanResp.lengthBody). It fills a, when not nil, instead of allocating
// (see leanResp).
func leanResponse(b []byte, req *http.Request, a *leanResp) *leanResp {
	if len(b) < 4 || string(b[len(b)-4:]) != "\r\n\r\n" {
		return nil
	}
	head := string(b[:len(b)-2]) // one string: every field is a slice of it
	eol := strings.Index(head, "\r\n")
	line := head[:eol]
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil
	}
	var h http.Header
	if a == nil {
		a = new(leanResp)
	} else {
		h = a.hdr
		clear(h)
		*a = leanResp{hdr: h}
	}
	resp := &a.resp
	resp.Request, resp.ContentLength = req, -1
	switch line[:8] {
	case "HTTP/1.1":
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	case "HTTP/1.0":
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		return nil
	}
	code := 0
	for _, d := range []byte(line[9:12]) {
		if d < '0' || d > '9' {
			return nil
		}
		code = code*10 + int(d-'0')
	}
	if code < 200 || code > 599 {
		return nil
	}
	resp.StatusCode, resp.Status = code, line[9:]
	fields := head[eol+2:]
	n := strings.Count(fields, "\n")
	vals := a.vals[:0]
	if n > len(a.vals) {
		vals = make([]string, 0, n)
	}
	if h == nil {
		h = make(http.Header, n)
	}
	lengths := 0
	for fields != "" {
		e := strings.Index(fields, "\r\n")
		fl := fields[:e]
		fields = fields[e+2:]
		colon := strings.IndexByte(fl, ':')
		if colon <= 0 {
			return nil
		}
		name := fl[:colon]
		for i := 0; i < len(name); i++ {
			if !isTokenChar(name[i]) {
				return nil
			}
		}
		value := trimOWS(fl[colon+1:])
		for i := 0; i < len(value); i++ {
			if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				return nil
			}
		}
		name = canonicalName(name)
		switch name {
		case "Transfer-Encoding", "Trailer":
			return nil
		case "Content-Length":
			lengths++
			if lengths > 1 || value == "" || len(value) > 18 || strings.IndexFunc(value, notDigit) >= 0 {
				return nil
			}
			resp.ContentLength, _ = strconv.ParseInt(value, 10, 64)
		}
		vals = append(vals, value)
		if vs, ok := h[name]; ok {
			h[name] = append(vs, value)
		} else {
			h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	resp.Header, a.hdr = h, h
	conn := h["Connection"]
	if resp.ProtoMinor == 0 {
		resp.Close = !headerHasToken(conn, "keep-alive") || headerHasToken(conn, "close")
	} else if headerHasToken(conn, "close") {
		resp.Close = true
		delete(h, "Connection") // as ReadResponse does
	}
	noBody := req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	switch {
	case noBody && req.Method != http.MethodHead:
		resp.ContentLength = 0
	case noBody:
	case resp.ContentLength < 0:
		return nil // runs to the close: ReadResponse's body
	}
	return a
}

// leanResp is what leanResponse makes for a response, in one piece: the
// response, the two layers of its body (lengthBody, h1Body) and the
// backing array of its field values (BenchmarkFastPath: one allocation
// where there were four). The fast engine's forward passes its
// connection's, from a pool (leans), whose header map is kept too, so
// that its responses allocate neither; each request fills it anew, once
// nothing holds the last response any more.
type leanResp struct {
	resp http.Response
	lb   lengthBody
	hb   h1Body
	vals [8]string
	hdr  http.Header // the header map, kept from one response to the next
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// lengthBody returns the body of the response: none for a HEAD, 204,
// 304 or a zero length, else its Content-Length bytes from br.
func (a *leanResp) lengthBody(br *bufio.Reader) io.ReadCloser {
	resp := &a.resp
	if resp.Request.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || resp.ContentLength == 0 {
		return http.NoBody
	}
	a.lb = lengthBody{br: br, left: resp.ContentLength}
	return &a.lb
}

// lengthBody reads a body of a known length, as ReadResponse's body does:
// io.ErrUnexpectedEOF when the stream ends before it.
type lengthBody struct {
	br   *bufio.Reader
	left int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }
