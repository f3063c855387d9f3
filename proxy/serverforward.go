package proxy

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// serveProxy forwards r to the API's backend: a request of the fast
// engine (Server) with forward, any other with the API's
// httputil.ReverseProxy. ex, when not nil, is w; st, when not nil, is
// the policies' state, for the response (see reqState.response).
func (up *upstream) serveProxy(w http.ResponseWriter, r *http.Request, ex *exchange, st *reqState) {
	fw, ok := w.(*respWriter)
	if !ok && ex != nil {
		fw, ok = ex.ResponseWriter.(*respWriter)
	}
	if !ok {
		if st != nil {
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		}
		if r.Header.Get("Expect") != "" {
			w = continueOnce{w}
		}
		up.proxy.ServeHTTP(w, r)
		return
	}
	up.forward(fw, w, r, ex, st)
}

// continueOnce keeps the backend's interim (1xx) responses from the
// client of a request with Expect: 100-continue. The gateway's server
// answers the client's expectation itself, when the body is first read —
// which the transport does once the backend has sent its own 100 — so
// the backend still decides when the upload starts. httputil.ReverseProxy
// forwards every 1xx from the transport's reading goroutine while its
// writing goroutine reads the body: the server's 100 and a forwarded 1xx
// would then write the client's buffer at once (net/http locks only its
// own 100 against the handler's), which a backend sending 100 then 103s
// could use to garble, or crash, the gateway's writes. A forwarded 100
// would besides give the client two.
type continueOnce struct{ http.ResponseWriter }

// WriteHeader implements http.ResponseWriter.
func (w continueOnce) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w continueOnce) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// forward is the fast engine's reverse proxy: it builds the forwarded
// request as upstream.rewrite has httputil.ReverseProxy build it (the
// same fields removed, added and extended: TestEngineDifferential compares
// the two), sends it with the same balancedTransport (balancing, retries,
// the lean client and its reuse rules), checks the response with the
// same modifyResponse and errorHandler, and streams it to the client
// through fw. The request has no body (Server hands those over).
func (up *upstream) forward(fw *respWriter, w http.ResponseWriter, r *http.Request, ex *exchange, st *reqState) {
	c := fw.c
	out := c.out
	if c.outHdr == nil {
		// Sized for a small map (one group of eight), whose clear per
		// request is cheaper than a larger one's; a request with more
		// fields grows it once for the connection (BenchmarkFastPath).
		c.outHdr = make(http.Header, 8)
	}
	oh := c.outHdr
	clear(oh)
	for name, vs := range r.Header {
		switch name {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Proxy", "Via", HeaderRequestID:
			continue
		}
		oh[name] = vs
	}
	if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
		oh["X-Forwarded-For"] = []string{strings.Join(xff, ", ") + ", " + c.clientIP}
	} else if c.clientIP != "" {
		oh["X-Forwarded-For"] = c.clientIPs()
	}
	c.xfh[0] = r.Host
	oh["X-Forwarded-Host"] = c.xfh[:] // the connection's: no allocation (BenchmarkFastPath)
	oh["X-Forwarded-Proto"] = forwardedHTTP
	oh[HeaderRequestID] = r.Header[HeaderRequestID]
	if v := r.Header["Via"]; len(v) > 0 {
		oh["Via"] = append(v[:len(v):len(v)], via)
	} else {
		oh["Via"] = viaOnly
	}
	if _, ok := oh["User-Agent"]; !ok {
		oh["User-Agent"] = noUserAgent // as ReverseProxy: no Go default
	}
	u := &c.outURL
	*u = *r.URL
	u.RawQuery = cleanQuery(u.RawQuery)
	u.Path = strings.TrimPrefix(r.URL.Path, up.api.Context)
	if r.URL.RawPath != "" {
		u.RawPath = strings.TrimPrefix(r.URL.RawPath, up.api.Context)
	}
	*out = http.Request{Method: r.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: oh, Close: !up.api.ReusesConnections()}

	var now time.Time // read by the transport
	if ex != nil {
		now = ex.proxied
	}
	if c.lean == nil {
		c.lean = leans.Get().(*leanResp)
	}
	resp, err := (*balancedTransport)(up).roundTrip(out, now, c.lean)
	if err != nil {
		up.backendError(w, r, st, err)
		return
	}
	if err := up.modifyResponse(resp); err != nil {
		resp.Body.Close()
		up.backendError(w, r, st, err)
		return
	}
	if st != nil {
		if err := st.response(resp); err != nil {
			resp.Body.Close()
			up.backendError(w, r, st, err)
			return
		}
	}
	fw.stream(resp)
	w.WriteHeader(resp.StatusCode)
	if resp.Body != http.NoBody {
		bp := buffers.Get().(*[]byte)
		err = copyBody(w, resp.Body, *bp)
		buffers.Put(bp)
		if err != nil {
			// The backend cut the body off or the client went away: the
			// client must not take what it got for the whole response.
			fw.abort()
			if ex != nil && ex.errCode == "" {
				ex.errCode = "aborted"
			}
		}
	}
	fw.trailer = resp.Trailer
	resp.Body.Close()
}

var (
	forwardedHTTP = []string{"http"}
	viaOnly       = []string{via}
	noUserAgent   = []string{""}
)

// clientIPs returns the connection's X-Forwarded-For value, made once.
func (c *conn) clientIPs() []string {
	if c.xff == nil {
		c.xff = []string{c.clientIP}
	}
	return c.xff
}

// copyBody copies a response body to w, reporting a read or write error.
func copyBody(w io.Writer, body io.Reader, buf []byte) error {
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maxQueryParams is the number of query parameters above which
// httputil.ReverseProxy re-encodes a query (net/url's default limit).
const maxQueryParams = 10000

// cleanQuery drops the query parameters a backend's parser could read
// otherwise than the gateway, as httputil.ReverseProxy does before its
// Rewrite (so that both engines forward the same query,
// TestEngineDifferential): a query with a ";", a "%" not followed by two
// hex digits, or more than maxQueryParams parameters is parsed with
// url.ParseQuery, which leaves those out, and encoded again.
func cleanQuery(q string) string {
	if strings.Count(q, "&")+1 > maxQueryParams {
		return reencodeQuery(q)
	}
	for i := 0; i < len(q); {
		switch q[i] {
		case ';':
			return reencodeQuery(q)
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return reencodeQuery(q)
			}
			i += 3
		default:
			i++
		}
	}
	return q
}

func reencodeQuery(q string) string {
	v, _ := url.ParseQuery(q)
	return v.Encode()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
