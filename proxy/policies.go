package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jsonxml"
	"github.com/portico-gw/portico/policy"
	"github.com/portico-gw/portico/threat"
)

// routePolicies are an API's portico.Policies compiled for the request
// path. newUpstream makes them with the API's upstream, once per change
// of the API; requests only read them.
type routePolicies struct {
	ip   *policy.IPRules // nil: every client
	cors *policy.CORS    // nil: no CORS fields, preflights go to the backend
	base bodyPolicies
	res  []resourcePolicies
}

// bodyPolicies are the policies that resource overrides may replace.
type bodyPolicies struct {
	threat  *portico.ThreatProtection // nil: none
	headers *policy.HeaderRules       // nil: none
	conv    *portico.Conversion       // nil: none
	opts    jsonxml.Options
}

// resourcePolicies are the body policies of the requests matching pat.
type resourcePolicies struct {
	pat *resourcePattern
	bodyPolicies
}

// compilePolicies compiles p, nil when p is nil. An error comes only from
// a configuration that skipped validation (a store edited by hand).
func compilePolicies(p *portico.Policies) (*routePolicies, error) {
	if p == nil {
		return nil, nil
	}
	rp := &routePolicies{}
	var err error
	if p.IPRules != nil {
		if rp.ip, err = policy.NewIPRules(p.IPRules); err != nil {
			return nil, err
		}
	}
	if p.CORS != nil {
		if rp.cors, err = policy.NewCORS(p.CORS); err != nil {
			return nil, err
		}
	}
	if rp.base, err = compileBody(p.ThreatProtection, p.Headers, p.Conversion); err != nil {
		return nil, err
	}
	for _, r := range p.Resources {
		tp, h, c := p.ThreatProtection, p.Headers, p.Conversion
		if r.ThreatProtection != nil {
			tp = r.ThreatProtection
		}
		if r.Headers != nil {
			h = r.Headers
		}
		if r.Conversion != nil {
			c = r.Conversion
		}
		bp, err := compileBody(tp, h, c)
		if err != nil {
			return nil, err
		}
		rp.res = append(rp.res, resourcePolicies{pat: compilePattern(r.Pattern), bodyPolicies: bp})
	}
	return rp, nil
}

func compileBody(tp *portico.ThreatProtection, h *portico.HeaderRules, c *portico.Conversion) (bodyPolicies, error) {
	bp := bodyPolicies{threat: tp}
	if h != nil {
		hr, err := policy.NewHeaderRules(h)
		if err != nil {
			return bp, err
		}
		bp.headers = hr
	}
	if c != nil && c.Converts() {
		bp.conv, bp.opts = c, jsonxml.OptionsFor(c)
	}
	return bp, nil
}

// body returns the body policies of a request with method and path (the
// path inside the API): the first matching resource's, else the API's.
func (rp *routePolicies) body(method, path string) *bodyPolicies {
	for i := range rp.res {
		if rp.res[i].pat.match(method, path) {
			return &rp.res[i].bodyPolicies
		}
	}
	return &rp.base
}

// reqState carries what the response half of the policies needs from the
// request half: made only for APIs with policies.
type reqState struct {
	body *bodyPolicies
	cors bool // the gateway set the CORS fields: the backend's are dropped
	head bool // a HEAD request: no body to convert
	vars policy.Vars
	val  *docValidator // nil: the API does not validate requests
	path string        // the path inside the API
	form errorForm     // of the gateway's errors, read before the policies changed the request
}

// stateKey keys a *reqState in the context of a request that
// httputil.ReverseProxy forwards, for modifyResponse.
type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// clientAddr returns the client's address: the connection's peer, or
// behind the gateway's TrustedProxies the address they report.
func (g *Gateway) clientAddr(r *http.Request) netip.Addr {
	return policy.ClientIP(r.RemoteAddr, r.Header, g.TrustedProxies)
}

// contentType returns the request's Content-Type; several fields are
// joined with ", ", which does not parse (threat.Check refuses it).
func contentType(h http.Header) string {
	vs := h["Content-Type"]
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs, ", ")
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// checkedBody is a request body passing through threat.Reader. It
// remembers the violation the Reader found, for errorHandler, which
// answers it as the client's fault; the transport that read the error
// aborts the request to the backend (a short Content-Length body, or a
// chunked one without its last chunk), so that the backend never takes
// the part it got for the whole.
type checkedBody struct {
	src       io.ReadCloser // the body as the server gave it (a *requestBody, usually)
	r         *threat.Reader
	violation atomic.Pointer[portico.Error]
}

func newCheckedBody(src io.ReadCloser, f threat.Format, tp *portico.ThreatProtection) *checkedBody {
	return &checkedBody{src: src, r: threat.NewReader(src, f, tp)}
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		var pe *portico.Error
		if errors.As(err, &pe) {
			b.violation.CompareAndSwap(nil, pe)
		}
	}
	return n, err
}

// Close does nothing, as requestBody's: the server closes the client's body.
func (b *checkedBody) Close() error { return nil }

// requestPolicies applies the body policies to a request that passed auth
// and limits: threat protection, request validation, request header
// rules, request conversion. It reports whether the request may go on;
// when not, it has answered.
func (g *Gateway) requestPolicies(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	bp := st.body
	if tp := bp.threat; tp != nil {
		ct := contentType(r.Header)
		if err := threat.Check(r.Method, ct, r.ContentLength, tp); err != nil {
			if r.ContentLength != 0 {
				// Close rather than read the body first (net/http would
				// read up to 256 KiB of it to keep the connection).
				w.Header()["Connection"] = []string{"close"}
			}
			st.form.writePolicy(w, err)
			return false
		}
		if hasBody(r) {
			r.Body = newCheckedBody(r.Body, threat.FormatOf(ct), tp)
		}
	}
	if st.val != nil && !g.validateRequest(w, r, st) {
		return false
	}
	if bp.headers != nil {
		bp.headers.ApplyRequest(r.Header, &st.vars)
	}
	if c := bp.conv; c != nil {
		if c.Response != portico.ConvertNone {
			// The converter reads plain bodies only.
			delete(r.Header, "Accept-Encoding")
		}
		if c.Request != portico.ConvertNone && hasBody(r) && threat.FormatOf(contentType(r.Header)) == sourceFormat(c.Request) {
			return convertRequest(w, r, st)
		}
	}
	return true
}

// sourceFormat returns the format a conversion in direction d reads.
func sourceFormat(d portico.ConversionDirection) threat.Format {
	if d == portico.ConvertJSONToXML {
		return threat.JSON
	}
	return threat.XML
}

// convert converts src in direction d into a new buffer and returns it
// with the Content-Type of the result.
func convert(d portico.ConversionDirection, src io.Reader, opts jsonxml.Options) (*bytes.Buffer, string, error) {
	var buf bytes.Buffer
	if d == portico.ConvertJSONToXML {
		return &buf, "application/xml; charset=utf-8", jsonxml.JSONToXML(&buf, src, opts)
	}
	return &buf, "application/json", jsonxml.XMLToJSON(&buf, src, opts)
}

// convertRequest replaces the request's body by its conversion, with the
// Content-Type and Content-Length of the result. A body over the
// conversion's MaxBytes is a 413, one that does not convert a 400.
func convertRequest(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	bp := st.body
	buf, ct, err := convert(bp.conv.Request, r.Body, bp.opts)
	if err != nil {
		if clientBodyError(w, r, st.form) {
			return false
		}
		w.Header()["Connection"] = []string{"close"} // the rest of the body is unread
		st.form.writePolicy(w, err)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	r.ContentLength = int64(buf.Len())
	r.TransferEncoding = nil
	r.Header["Content-Type"] = []string{ct}
	r.Header["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	return true
}

// policyStatus is the HTTP status of a policy's refusal with code.
func policyStatus(code portico.ErrorCode) int {
	switch code {
	case portico.ENotAllowed:
		return http.StatusMethodNotAllowed
	case portico.EUnsupported:
		return http.StatusUnsupportedMediaType
	case portico.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case portico.EForbidden:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// violationError answers a request whose body threat protection refused
// while it streamed to the backend, and reports whether it did, in form.
// The connection is closed: the rest of the body is unread.
func violationError(w http.ResponseWriter, r *http.Request, form errorForm) bool {
	b, ok := r.Body.(*checkedBody)
	if !ok {
		return false
	}
	pe := b.violation.Load()
	if pe == nil {
		return false
	}
	w.Header()["Connection"] = []string{"close"}
	form.write(w, policyStatus(pe.Code), pe.Code, pe.Message)
	return true
}

// corsFields are the CORS fields a backend may send; the gateway's win.
var corsFields = [...]string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
}

// badResponse is a backend response the policies could not pass on: a
// 502 whose message says why.
type badResponse struct{ msg string }

func (e *badResponse) Error() string { return e.msg }

// response applies the response half of the policies to a backend's
// response, in this order: response header rules, the CORS fields (the
// gateway's, set before the request went out, replace the backend's),
// response conversion.
func (st *reqState) response(resp *http.Response) error {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil
	}
	h := resp.Header
	bp := st.body
	if bp.headers != nil {
		bp.headers.ApplyResponse(h, &st.vars)
	}
	if st.cors {
		for _, k := range corsFields {
			delete(h, k)
		}
	}
	if c := bp.conv; c != nil && c.Response != portico.ConvertNone {
		return st.convertResponse(resp, c)
	}
	return nil
}

// convertResponse converts the backend's body when its Content-Type is of
// the format the conversion reads; a body that is encoded, over MaxBytes
// or that does not convert is a 502.
func (st *reqState) convertResponse(resp *http.Response, c *portico.Conversion) error {
	if st.head || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified ||
		resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 {
		return nil
	}
	h := resp.Header
	if threat.FormatOf(h.Get("Content-Type")) != sourceFormat(c.Response) {
		return nil
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return &badResponse{"the backend's response is encoded (" + ce + ") and cannot be converted"}
	}
	tooLarge := func() error {
		return &badResponse{fmt.Sprintf("the backend's response is larger than the conversion's limit of %d bytes", c.MaxBytesOrDefault())}
	}
	if resp.ContentLength > c.MaxBytesOrDefault() {
		return tooLarge()
	}
	buf, ct, err := convert(c.Response, resp.Body, st.body.opts)
	resp.Body.Close()
	if err != nil {
		var pe *portico.Error
		if errors.As(err, &pe) && pe.Code == portico.ETooLarge {
			return tooLarge()
		}
		if errors.As(err, &pe) {
			return &badResponse{"the backend's response could not be converted"}
		}
		return err // the backend cut its body off
	}
	resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	resp.ContentLength = int64(buf.Len())
	resp.TransferEncoding = nil
	resp.Trailer = nil
	delete(h, "Content-Encoding")
	delete(h, "Trailer")
	h["Content-Type"] = []string{ct}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	return nil
}
