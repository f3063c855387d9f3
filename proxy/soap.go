package proxy

import (
	"net/http"
	"strings"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/soap"
)

// This file is what the gateway reads of SOAP requests: the action a
// request names (for plan limits on every API), and on SOAP APIs
// (portico.API.IsSOAP) the operation it calls — for the analytics
// record, and to refuse calls that name none where every operation has
// an action. Envelopes are never read: the body passes as it came.

// reqAction is a request's SOAP version and action as soap.Action reads
// them from its headers, read once, when first needed.
type reqAction struct {
	read            bool
	version, action string
	ok              bool // the request is SOAP and names its action readably
}

// of reads the action from h the first time, and returns a.
func (a *reqAction) of(h http.Header) *reqAction {
	if !a.read {
		a.read = true
		a.version, a.action, a.ok = requestAction(h)
	}
	return a
}

// requestAction is soap.Action of a request's Content-Type and SOAPAction
// fields. A request with either field twice names no action (ok false):
// the gateway and the backend could each read another.
//
// Nor does one whose action the gateway and the backend could read apart:
// a Content-Type with an RFC 2231 parameter ("action*=" or "action*0=",
// which Go's MIME parser prefers to a plain "action=" and most SOAP
// stacks ignore), or a
// SOAP 1.2 request whose SOAPAction field names another action than its
// Content-Type (stacks that read SOAPAction on SOAP 1.2 too would run
// that one).
func requestAction(h http.Header) (version, action string, ok bool) {
	ct, sa := h["Content-Type"], h["Soapaction"]
	if len(ct) != 1 || len(sa) > 1 || extendedParam(ct[0]) {
		return "", "", false
	}
	var v string
	if len(sa) == 1 {
		v = sa[0]
	}
	version, action, ok = soap.Action(ct[0], v)
	if ok && version == soap.SOAP12 && len(sa) == 1 {
		if _, other, ok11 := soap.Action(soap.ContentType11, sa[0]); !ok11 || other != action {
			return "", "", false
		}
	}
	return version, action, ok
}

// extendedParam reports whether a Content-Type holds an RFC 2231
// parameter (name*=, name*0=, name*1*=…), read outside quotes or not.
func extendedParam(ct string) bool {
	for i := strings.IndexByte(ct, '*'); i >= 0; i = strings.IndexByte(ct, '*') {
		rest := strings.TrimLeft(ct[i+1:], "0123456789*")
		if strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=") {
			return true
		}
		ct = ct[i+1:]
	}
	return false
}

// faultVersion returns the SOAP version of the faults that answer the
// request whose action a read from h: the version it speaks; else SOAP
// 1.2 when its media type is SOAP 1.2's (application/soap+xml with an
// action soap.Action refuses); else SOAP 1.1, for a request that is not
// SOAP (a GET of the WSDL, a body of another type): SOAP 1.1 is what
// most clients speak, and its fault is plain XML to a client of neither.
func (a *reqAction) faultVersion(h http.Header) string {
	if a.ok {
		return a.version
	}
	mt, _, _ := strings.Cut(contentType(h), ";")
	if strings.EqualFold(strings.TrimSpace(mt), "application/soap+xml") {
		return soap.SOAP12
	}
	return soap.SOAP11
}

// soapOps are a SOAP API's operations as the gateway matches requests to
// them, made with its upstream from its Resources.
type soapOps struct {
	// byAction holds the resources that have an action.
	byAction map[string]soapOp
	// pats are the resources' patterns, each once: a request matching one
	// calls an operation (all of an imported API's are "POST /").
	pats []*resourcePattern
	// strict: every resource has an action (the import gives them
	// distinct ones, and portico.CheckResources refuses one twice), so a
	// call that names none of them is refused rather than let through to
	// a backend that may dispatch on the envelope's body and run an
	// operation whose limit the request dodged.
	strict bool
}

// soapOp is one operation: its pattern, and how the analytics record
// names it.
type soapOp struct {
	pat *resourcePattern
	// label is the record's resource: the pattern and the operation ID
	// ("POST / GetBooking"), or the action when the resource has no ID.
	label string
}

// compileSOAP returns the operations of API a, nil when a is not a SOAP
// API.
func compileSOAP(a *portico.API) *soapOps {
	if !a.IsSOAP() {
		return nil
	}
	ops := &soapOps{byAction: make(map[string]soapOp, len(a.Resources)), strict: len(a.Resources) > 0}
	pats := make(map[string]*resourcePattern)
	for _, r := range a.Resources {
		p := pats[r.Pattern]
		if p == nil {
			p = compilePattern(r.Pattern)
			pats[r.Pattern] = p
			ops.pats = append(ops.pats, p)
		}
		if r.SOAPAction == "" {
			ops.strict = false
			continue
		}
		name := r.OperationID
		if name == "" {
			name = r.SOAPAction
		}
		if _, ok := ops.byAction[r.SOAPAction]; !ok {
			ops.byAction[r.SOAPAction] = soapOp{pat: p, label: r.Pattern + " " + name}
		}
	}
	return ops
}

// op returns the operation a request with method, path (inside the API)
// and action a calls: the resource whose action a names and whose
// pattern the request matches.
func (o *soapOps) op(method, path string, a *reqAction) (soapOp, bool) {
	if !a.ok {
		return soapOp{}, false
	}
	op, ok := o.byAction[a.action]
	if !ok || !op.pat.match(method, path) {
		return soapOp{}, false
	}
	return op, true
}

// call returns the pattern of the API's resources a request with method
// and path matches, ok false when it matches none (it calls no
// operation: a GET of the WSDL, say).
func (o *soapOps) call(method, path string) (pattern *resourcePattern, ok bool) {
	for _, p := range o.pats {
		if p.match(method, path) {
			return p, true
		}
	}
	return nil, false
}

// label returns the analytics resource of a request of the API: its
// operation's label when its action names one; else the pattern of the
// API's resources it matches, so that a call naming an action the API
// does not declare is recorded under the pattern, not under a name the
// client made up. ok is false for a request that matches no resource.
func (o *soapOps) label(method, path string, a *reqAction) (string, bool) {
	if op, ok := o.op(method, path, a); ok {
		return op.label, true
	}
	if p, ok := o.call(method, path); ok {
		return p.text, true
	}
	return "", false
}

// refuses reports whether a strict API refuses a request with method,
// path and action a: every request but a bodiless read (a GET of the
// WSDL) must call one of its operations — match its resource's pattern
// and name its action. A request on another path or with another method
// may carry an envelope too, which a backend that dispatches on the body
// (and not the path, the method or the action) would run, dodging the
// operation's limit; so may one naming its action unreadably, or none.
func (o *soapOps) refuses(method, path string, hasBody bool, a *reqAction) bool {
	if !o.strict {
		return false
	}
	if !hasBody && (method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions) {
		return false
	}
	_, ok := o.op(method, path, a)
	return !ok
}

// unknownAction is the message of the 400 that refuses a call naming no
// operation.
const unknownAction = "the request's SOAP action names no operation of this API: send the action of one of its operations " +
	"in the SOAPAction header (SOAP 1.1) or in the action parameter of the Content-Type (SOAP 1.2)"
