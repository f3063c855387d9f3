package proxy

import (
	"net/http"
	"net/url"
	"strings"
)

// headParse is the per-connection state of the request parser, reused
// from request to request.
type headParse struct {
	header http.Header
	vals   []string // backing array of the header's values
	url    url.URL
}

// maxFastFields bounds the header fields of a request the fast path
// reads; one with more goes to the fallback.
const maxFastFields = 64

// parse reads the head of n bytes at the start of c.br into c.req and
// reports whether the fast path serves it. It accepts only requests that
// every HTTP/1.1 parser reads the same way (RFC 9112), and no request
// that net/http would refuse: an origin-form target of visible ASCII, no
// fragment; version HTTP/1.1; method GET, HEAD, OPTIONS or DELETE in
// upper case; field lines "name: value" ending in CRLF with a token name
// and a value of visible ASCII, spaces and tabs; exactly one Host field
// of host characters; no Content-Length or Transfer-Encoding (so no body),
// no Upgrade, Expect, TE or Trailer, and a Connection field that lists
// only keep-alive or close. Everything else — including what is valid
// but rare — is handed to net/http, which decides as it always does.
func (c *conn) parse(n int) bool {
	b, _ := c.br.Peek(n)
	// One string for the whole head: the method, target and every field
	// are slices of it (BenchmarkEngines counts the allocations).
	head := string(b[:n-2]) // through the last field line's CRLF
	eol := strings.Index(head, "\r\n")
	method, target, ok := requestLine(head[:eol])
	if !ok {
		return false
	}
	p := &c.head
	if !p.parseTarget(target) {
		return false
	}
	if p.header == nil {
		p.header = make(http.Header, 8) // see forward's outHdr
		p.vals = make([]string, 0, maxFastFields)
	}
	clear(p.header)
	p.vals = p.vals[:0]
	h := p.header
	host, hosts, closing := "", 0, false
	for fields := head[eol+2:]; fields != ""; {
		e := strings.Index(fields, "\r\n")
		if e < 0 || len(p.vals) == maxFastFields {
			return false
		}
		name, value, ok := fieldLine(fields[:e])
		fields = fields[e+2:]
		if !ok {
			return false
		}
		switch name {
		case "Host":
			host = value
			hosts++
			continue // net/http keeps Host out of the header map
		case "Connection":
			if closing, ok = connectionTokens(value, closing); !ok {
				return false
			}
		}
		p.vals = append(p.vals, value)
		i := len(p.vals) - 1
		if vs, ok := h[name]; ok {
			h[name] = append(vs, value)
		} else {
			h[name] = p.vals[i : i+1 : i+1]
		}
	}
	if hosts != 1 {
		return false
	}
	r := c.req
	r.Method = method
	r.URL = &p.url
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header = h
	r.Body = http.NoBody
	r.ContentLength = 0
	r.TransferEncoding = nil
	r.Close = closing
	r.Host = host
	r.Form, r.PostForm, r.MultipartForm, r.Trailer = nil, nil, nil, nil
	r.RemoteAddr = c.remote
	r.RequestURI = target
	r.TLS = nil
	r.Response = nil
	r.Pattern = ""
	return true
}

// requestLine splits a request line the fast path takes: "METHOD SP
// target SP HTTP/1.1" with one of its methods, in upper case.
func requestLine(line string) (method, target string, ok bool) {
	sp1 := strings.IndexByte(line, ' ')
	if sp1 < 0 {
		return "", "", false
	}
	rest := line[sp1+1:]
	sp2 := strings.IndexByte(rest, ' ')
	if sp2 < 0 || rest[sp2+1:] != "HTTP/1.1" {
		return "", "", false
	}
	switch line[:sp1] {
	case http.MethodGet:
		method = http.MethodGet
	case http.MethodHead:
		method = http.MethodHead
	case http.MethodOptions:
		method = http.MethodOptions
	case http.MethodDelete:
		method = http.MethodDelete
	default:
		return "", "", false
	}
	return method, rest[:sp2], true
}

// fieldLine splits a field line the fast path takes: a token name
// without "_", a colon, a value of visible ASCII, spaces and tabs; not a field that
// frames a body or changes the protocol, and a Host of host characters.
// The name is returned canonical, the value trimmed.
func fieldLine(fl string) (name, value string, ok bool) {
	colon := strings.IndexByte(fl, ':')
	if colon <= 0 {
		return "", "", false
	}
	name = fl[:colon]
	for i := 0; i < len(name); i++ {
		// "_" too: some servers read Content_Length or Transfer_Encoding
		// as framing fields, which framing.Handler refuses.
		if !isTokenChar(name[i]) || name[i] == '_' {
			return "", "", false
		}
	}
	value = trimOWS(fl[colon+1:])
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return "", "", false
		}
	}
	name = canonicalName(name)
	switch name {
	case "Host":
		if !validFastHost(value) {
			return "", "", false
		}
	case "Content-Length", "Transfer-Encoding", "Upgrade", "Expect", "Te", "Trailer":
		return "", "", false
	}
	return name, value, true
}

// canonicalName returns the canonical form of a field name of token
// characters, as http.CanonicalHeaderKey does: the name itself when it
// is canonical already, a constant for the common ones, else a new
// string. Most names are one of the first two, which cost neither an
// allocation nor Go's own checks (BenchmarkFastPath).
func canonicalName(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return canonicalSlow(name)
		}
		upper = c == '-'
	}
	return name
}

func canonicalSlow(name string) string {
	var buf [40]byte
	if len(name) > len(buf) {
		return http.CanonicalHeaderKey(name)
	}
	b := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	if s, ok := commonNames[string(b)]; ok { // no allocation for the lookup
		return s
	}
	return string(b)
}

// commonNames are the field names canonicalName returns without
// allocating when a client spells them otherwise.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
		"Content-Length", "Content-Type", "Cookie", "Date", "Host", "If-Modified-Since", "If-None-Match",
		"Keep-Alive", "Origin", "Pragma", "Referer", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"User-Agent", "Via", "X-Api-Key", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Real-Ip", "X-Request-Id", "Soapaction", "Expect", "Forwarded", "Proxy-Connection",
	} {
		m[s] = s
	}
	return m
}()

// fastPrefix reports whether every complete line of an unfinished head
// is one the fast path takes, so that it is worth waiting for the rest.
// Otherwise the connection goes to net/http at once, which refuses a bad
// line as soon as it has it, as it does on its own connections
// (TestEngineDifferential's incomplete-… cases).
func fastPrefix(b []byte) bool {
	if len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		return false
	}
	s := string(b) // rare: only heads that arrive in pieces
	for first := true; ; first = false {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return true
		}
		if i == 0 || s[i-1] != '\r' {
			return false
		}
		line := s[:i-1]
		s = s[i+1:]
		if first {
			if _, target, ok := requestLine(line); !ok || target == "" || target[0] != '/' {
				return false
			}
		} else if _, _, ok := fieldLine(line); !ok {
			return false
		}
	}
}

// parseTarget sets url from an origin-form request target, as
// url.ParseRequestURI does; it reports false for targets the fast path
// leaves to net/http.
func (p *headParse) parseTarget(t string) bool {
	if t == "" || t[0] != '/' {
		return false
	}
	path, query, hasQuery := strings.Cut(t, "?")
	plain := true
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c <= 0x20 || c >= 0x7f || c == '#' {
			return false
		}
	}
	for i := 0; i < len(path); i++ {
		if !plainPathChar(path[i]) {
			plain = false
			break
		}
	}
	if !plain {
		// Escapes and characters url.URL keeps a RawPath for: let the
		// standard parser decide, as net/http does.
		u, err := url.ParseRequestURI(t)
		if err != nil {
			return false
		}
		p.url = *u
		return true
	}
	p.url = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return true
}

// plainPathChar reports whether c stands for itself in a path, that is
// url.URL's escaped form of a path of such characters is the path itself.
func plainPathChar(c byte) bool { return charClass[c]&classPlainPath != 0 }

// validFastHost reports whether a Host value is one the fast path takes
// (and the lean client writes unchanged, as http.Request.Write would): a
// name or address, with a port, of ASCII letters, digits and ".-:[]_"
// (others go to net/http, which refuses or accepts them itself).
func validFastHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_':
		default:
			return false
		}
	}
	return true
}

// connectionTokens reads a Connection field value: it reports ok when it
// lists only keep-alive and close (any case), and closing when close is
// among them (or was already).
func connectionTokens(v string, closing bool) (bool, bool) {
	for tok := range strings.SplitSeq(v, ",") {
		tok = strings.Trim(tok, " \t")
		switch {
		case strings.EqualFold(tok, "close"):
			closing = true
		case strings.EqualFold(tok, "keep-alive"), tok == "":
		default:
			return closing, false
		}
	}
	return closing, true
}

// trimOWS trims spaces and tabs (RFC 9110 OWS) from both ends of s.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
