package ajp

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// methods are the method codes of a Forward Request.
var methods = [...]string{1: "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "ACL", "REPORT",
	"VERSION-CONTROL", "CHECKIN", "CHECKOUT", "UNCHECKOUT", "SEARCH", "MKWORKSPACE",
	"UPDATE", "LABEL", "MERGE", "BASELINE-CONTROL", "MKACTIVITY"}

// methodStored is the method code of a method sent by name, in the
// stored_method attribute (PATCH, for one).
const methodStored = 0xFF

// requestHeaderNames are the coded request field names 0xA001…0xA00E,
// by their low byte.
var requestHeaderNames = [...]string{1: "Accept", "Accept-Charset", "Accept-Encoding",
	"Accept-Language", "Authorization", "Connection", "Content-Type", "Content-Length",
	"Cookie", "Cookie2", "Host", "Pragma", "Referer", "User-Agent"}

// Attribute codes of a Forward Request.
const (
	attrContext      = 0x01
	attrServletPath  = 0x02
	attrRemoteUser   = 0x03
	attrAuthType     = 0x04
	attrQueryString  = 0x05
	attrRoute        = 0x06
	attrSSLCert      = 0x07
	attrSSLCipher    = 0x08
	attrSSLSession   = 0x09
	attrReqAttribute = 0x0A
	attrSSLKeySize   = 0x0B
	attrSecret       = 0x0C
	attrStoredMethod = 0x0D
	attrDone         = 0xFF
)

// Names of the req_attribute pairs Portico takes: the client's port, the
// client's TLS version, and two that mod_jk sends with every request
// (the web server's own address and the load balancer's view of the
// node), taken and ignored.
const (
	reqAttrRemotePort  = "AJP_REMOTE_PORT"
	reqAttrSSLProtocol = "AJP_SSL_PROTOCOL"
	reqAttrLocalAddr   = "AJP_LOCAL_ADDR"
	reqAttrActivation  = "JK_LB_ACTIVATION"
)

// forwardRequest is a decoded Forward Request.
type forwardRequest struct {
	method          string // from the method code; "" for methodStored
	protocol        string
	uri             string
	remoteAddr      string
	serverName      string
	serverPort      int
	ssl             bool
	fields          []rawField
	query           string
	hasQuery        bool
	secret          string
	hasSecret       bool
	storedMethod    string
	hasStoredMethod bool
	remotePort      string
	hasRemotePort   bool
	sslProtocol     string

	// refused names the first attribute Portico does not take (for the
	// log); the request is answered 403.
	refused string
}

// rawField is a request field: its name (canonical when it was coded)
// and its value.
type rawField struct {
	name  string
	coded bool
	value string
}

// refusal is a request answered with status (its reason is logged,
// never sent) and its connection closed.
type refusal struct {
	status int
	reason string
}

func (r *refusal) Error() string {
	return "ajp: request refused with " + strconv.Itoa(r.status) + ": " + r.reason
}

func badRequest(format string, args ...any) error {
	return &refusal{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func malformed(what string) error {
	return fmt.Errorf("%w: %s", errMalformed, what)
}

// parseForward decodes the payload of a Forward Request. It returns an
// error wrapping errMalformed when p does not follow the layout: a
// field runs past the packet's end, a string lacks its NUL, a code is
// unknown where the layout needs to know it, or bytes follow the
// attributes' terminator. An attribute Portico does not take is no
// decoding error: fr.refused names it.
//
// The layout: code (2), method (byte), protocol, req_uri, remote_addr,
// remote_host, server_name (strings), server_port (uint16), is_ssl
// (byte), num_headers (uint16) and the fields — each a coded name
// 0xA0nn or a string, then a string value — then attributes, each a code
// and its value, up to the terminator 0xFF.
func parseForward(p []byte) (*forwardRequest, error) {
	d := decoder{p: string(p)}
	if d.byte() != msgForwardRequest {
		return nil, malformed("not a Forward Request")
	}
	fr := &forwardRequest{}
	switch m := d.byte(); {
	case m == methodStored:
	case int(m) >= 1 && int(m) < len(methods):
		fr.method = methods[m]
	default:
		return nil, malformed(fmt.Sprintf("method code %d", m))
	}
	fr.protocol, _ = d.string()
	fr.uri, _ = d.string()
	fr.remoteAddr, _ = d.string()
	d.string() // remote_host: a name the web server may have looked up; not used
	fr.serverName, _ = d.string()
	fr.serverPort = d.uint16()
	fr.ssl = d.byte() != 0
	n := d.uint16()
	if d.bad {
		return nil, malformed("cut off before the fields")
	}
	// Each field takes 5 bytes at least: the capacity is bounded by the
	// packet, whatever num_headers says.
	fr.fields = make([]rawField, 0, min(n, len(d.p)/5))
	for i := range n {
		var f rawField
		if code, ok := d.peekUint16(); ok && code&0xFF00 == 0xA000 {
			d.uint16()
			if c := code & 0xFF; c >= 1 && c < len(requestHeaderNames) {
				f.name, f.coded = requestHeaderNames[c], true
			} else {
				return nil, malformed(fmt.Sprintf("field name code %#04x", code))
			}
		} else {
			name, null := d.string()
			if null {
				return nil, malformed(fmt.Sprintf("field %d: null name", i+1))
			}
			f.name = name
		}
		v, null := d.string()
		if d.bad || null {
			return nil, malformed(fmt.Sprintf("field %d cut off or null", i+1))
		}
		f.value = v
		fr.fields = append(fr.fields, f)
	}
	for {
		code := d.byte()
		if d.bad {
			return nil, malformed("no attribute terminator")
		}
		switch code {
		case attrDone:
			if len(d.p) != 0 {
				return nil, malformed("bytes after the attributes")
			}
			return fr, nil
		case attrQueryString:
			if fr.hasQuery {
				fr.refuse("query_string repeated")
			}
			var null bool
			fr.query, null = d.string()
			fr.hasQuery = !null
		case attrSecret:
			if fr.hasSecret {
				fr.refuse("secret repeated")
			}
			fr.secret, _ = d.string()
			fr.hasSecret = true
		case attrStoredMethod:
			if fr.hasStoredMethod {
				fr.refuse("stored_method repeated")
			}
			fr.storedMethod, _ = d.string()
			fr.hasStoredMethod = true
		case attrRoute, attrSSLCert, attrSSLCipher, attrSSLSession:
			// mod_jk's load balancer sends the route with every request,
			// and both web servers the client's TLS details when the
			// client came over TLS: taken, not used.
			d.string()
		case attrSSLKeySize:
			d.uint16()
		case attrReqAttribute:
			name, _ := d.string()
			value, _ := d.string()
			switch name {
			case reqAttrRemotePort:
				fr.remotePort, fr.hasRemotePort = value, true
			case reqAttrSSLProtocol:
				fr.sslProtocol = value
			case reqAttrLocalAddr, reqAttrActivation:
			default:
				fr.refuse(fmt.Sprintf("req_attribute %.64q", name))
			}
		case attrContext, attrServletPath, attrRemoteUser, attrAuthType:
			d.string()
			fr.refuse(attributeNames[code])
		default:
			// The value's layout is unknown: nothing after it can be
			// read, and the request is refused whatever follows.
			fr.refuse(fmt.Sprintf("attribute code %#02x", code))
			return fr, nil
		}
		if d.bad {
			return nil, malformed(fmt.Sprintf("attribute %#02x cut off", code))
		}
	}
}

var attributeNames = map[byte]string{
	attrContext:     "context",
	attrServletPath: "servlet_path",
	attrRemoteUser:  "remote_user",
	attrAuthType:    "auth_type",
}

func (fr *forwardRequest) refuse(what string) {
	if fr.refused == "" {
		fr.refused = what
	}
}

// request builds the http.Request of fr, without its Body and context,
// or returns a *refusal for a request Portico does not serve: 400 for a
// malformed method, protocol, URI, field, Host, remote_addr or framing,
// 501 for a transfer coding other than chunked.
func (fr *forwardRequest) request() (*http.Request, error) {
	method := fr.method
	switch {
	case method == "" && !fr.hasStoredMethod:
		return nil, badRequest("method code 0xFF without stored_method")
	case method == "":
		method = fr.storedMethod
		if !isToken(method) {
			return nil, badRequest("stored_method %.64q is not a token", method)
		}
	case fr.hasStoredMethod:
		return nil, badRequest("stored_method with a method code")
	}
	proto := fr.protocol
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		return nil, badRequest("protocol %.32q", proto)
	}
	if len(fr.uri) == 0 || fr.uri[0] != '/' || !validURIPart(fr.uri, "?#") {
		return nil, badRequest("req_uri %.128q", fr.uri)
	}
	requestURI := fr.uri
	if fr.hasQuery {
		if !validURIPart(fr.query, "#") {
			return nil, badRequest("query_string %.128q", fr.query)
		}
		requestURI += "?" + fr.query
	}
	u, err := url.ParseRequestURI(requestURI)
	if err != nil {
		return nil, badRequest("req_uri: %v", err)
	}

	header := make(http.Header, len(fr.fields))
	// One backing array for the values, as net/http's reader does: a
	// field seen once costs no allocation of its own.
	values := make([]string, len(fr.fields))
	host, hasHost := "", false
	for i, f := range fr.fields {
		name := f.name
		if !f.coded {
			if !isToken(name) {
				return nil, badRequest("field name %.64q", name)
			}
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		if !validFieldValue(f.value) {
			return nil, badRequest("field %s: a control character in its value", name)
		}
		if name == "Host" {
			if hasHost {
				return nil, badRequest("two Host fields")
			}
			host, hasHost = f.value, true
			continue
		}
		if vs, ok := header[name]; ok {
			header[name] = append(vs, f.value)
		} else {
			values[i] = f.value
			header[name] = values[i : i+1 : i+1]
		}
	}

	var contentLength int64
	var transferEncoding []string
	te, cl := header["Transfer-Encoding"], header["Content-Length"]
	switch {
	case len(te) > 0:
		if len(cl) > 0 {
			return nil, badRequest("both Content-Length and Transfer-Encoding")
		}
		if len(te) > 1 || !strings.EqualFold(textproto.TrimString(te[0]), "chunked") {
			return nil, &refusal{http.StatusNotImplemented, fmt.Sprintf("transfer coding %.32q", strings.Join(te, ","))}
		}
		contentLength, transferEncoding = -1, []string{"chunked"}
		delete(header, "Transfer-Encoding")
	case len(cl) > 1:
		return nil, badRequest("several Content-Length fields")
	case len(cl) == 1:
		if contentLength, ok = parseContentLength(cl[0]); !ok {
			return nil, badRequest("Content-Length %.32q", cl[0])
		}
	}
	// The web server's connection to Portico cannot switch protocols.
	delete(header, "Upgrade")

	hostname := host
	if !hasHost {
		hostname = fr.serverName
		if p := fr.serverPort; hostname != "" && p != 0 && !(p == 80 && !fr.ssl) && !(p == 443 && fr.ssl) {
			hostname = netJoin(hostname, p)
		}
	}
	if !validHost(hostname) {
		return nil, badRequest("host %.64q", hostname)
	}

	addr, err := netip.ParseAddr(fr.remoteAddr)
	if err != nil {
		return nil, badRequest("remote_addr %.64q", fr.remoteAddr)
	}
	var port uint64
	if fr.hasRemotePort {
		// An unreadable port is ignored, as Tomcat does.
		port, _ = strconv.ParseUint(fr.remotePort, 10, 16)
	}
	r := &http.Request{
		Method:           method,
		URL:              u,
		Proto:            proto,
		ProtoMajor:       major,
		ProtoMinor:       minor,
		Header:           header,
		ContentLength:    contentLength,
		TransferEncoding: transferEncoding,
		Host:             hostname,
		RemoteAddr:       netip.AddrPortFrom(addr.Unmap(), uint16(port)).String(),
		RequestURI:       requestURI,
	}
	if fr.ssl {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tlsVersions[fr.sslProtocol]}
	}
	return r, nil
}

// tlsVersions reads AJP_SSL_PROTOCOL (OpenSSL's names, from mod_ssl).
var tlsVersions = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// validURIPart reports whether b holds no control character, space, or
// any byte of not.
func validURIPart(b string, not string) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(not, c) >= 0 {
			return false
		}
	}
	return true
}

// parseContentLength reads a Content-Length: decimal digits only.
func parseContentLength(s string) (int64, bool) {
	s = textproto.TrimString(s)
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func netJoin(host string, port int) string {
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}
