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
// record, to refuse calls that name none where every operation has an
// action, and to check that the envelope calls the operation the action
// names (soapOps.admit; the envelope's start is read in soapbody.go).
// The body passes as it came.

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
	// byBody holds the resources that have a body element
	// (portico.Resource.SOAPBody), by element.
	byBody map[string]bodyOps
	// reads: a resource has a body element, so the gateway may read the
	// envelopes of the API's calls.
	reads bool
	// callable: the operations of some body element all have actions,
	// so a request that does not name them cannot call them: the
	// envelopes of requests that name no operation with a body element
	// are read, and refused when they call such an operation.
	callable bool
}

// soapOp is one operation: its pattern, how the analytics record names
// it, and the element its envelopes start their Body with.
type soapOp struct {
	pat *resourcePattern
	// label is the record's resource: the pattern and the operation ID
	// ("POST / GetBooking"), or the action when the resource has no ID.
	label string
	name  string // the operation ID, or the action
	body  string // portico.Resource.SOAPBody; "": the envelope is not checked
}

// bodyOps are the operations whose envelopes start their Body with one
// element.
type bodyOps struct {
	n        int
	name     string // of the first
	action   string // of the first
	callable bool   // every one has an action
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
		name := r.OperationID
		if name == "" {
			name = r.SOAPAction
		}
		if r.SOAPBody != "" {
			if ops.byBody == nil {
				ops.byBody = make(map[string]bodyOps)
			}
			b := ops.byBody[r.SOAPBody]
			if b.n == 0 {
				b.name, b.action, b.callable = name, r.SOAPAction, true
			}
			b.n++
			b.callable = b.callable && r.SOAPAction != ""
			ops.byBody[r.SOAPBody] = b
			ops.reads = true
		}
		if r.SOAPAction == "" {
			ops.strict = false
			continue
		}
		if _, ok := ops.byAction[r.SOAPAction]; !ok {
			ops.byAction[r.SOAPAction] = soapOp{pat: p, label: r.Pattern + " " + name, name: name, body: r.SOAPBody}
		}
	}
	for _, b := range ops.byBody {
		ops.callable = ops.callable || b.callable
	}
	return ops
}

// admit applies to r, a request of the SOAP API whose path inside the
// API is path and whose action is a, what the gateway does of SOAP
// before the limits, and reports whether r may go on; when not, it has
// answered in form:
//   - it names the operation r calls in the analytics record ex (label);
//   - on a strict API, it refuses a request that calls none (refuses):
//     415 when r's body is not SOAP's media type at all, else 400;
//   - it checks that r's envelope calls the operation r names (check).
func (o *soapOps) admit(w http.ResponseWriter, r *http.Request, path string, ex *exchange, a *reqAction, form errorForm) bool {
	if ex != nil {
		if l, ok := o.label(r.Method, path, a); ok {
			ex.resource = l
		}
	}
	hasBody := r.ContentLength != 0 || len(r.TransferEncoding) > 0
	if o.refuses(r.Method, path, hasBody, a) {
		if hasBody && !soapMedia(r.Header) {
			form.write(w, http.StatusUnsupportedMediaType, portico.EUnsupported, notSOAP)
			return false
		}
		form.write(w, http.StatusBadRequest, portico.EInvalid, unknownAction)
		return false
	}
	if !hasBody || !o.reads {
		return true
	}
	return o.check(w, r, path, a, form)
}

// check reads the start of r's envelope (readEnvelope) where it may call
// another operation than the one r names, and refuses r when it does,
// before the backend gets a byte of it: a backend that dispatches on the
// element the Body starts with (JAX-WS, CXF, Axis2 do) would run that
// operation, whose limits r dodged. It reads the envelope
//   - of a request naming an operation with a body element: the Body
//     must start with that element;
//   - of any other request (an operation without body element named, or
//     none, on an API that is not strict) when some body element's
//     operations all have actions: the Body must not start with that
//     element, whose operations r would have named.
//
// Either way a body that is not a SOAP media type is refused with 415
// (its backend may read it as an envelope all the same), and so is one
// with a Content-Encoding, which the gateway does not decode; an
// envelope that does not read, or whose Body has no element within
// maxEnvelopePrefix, with 400.
func (o *soapOps) check(w http.ResponseWriter, r *http.Request, path string, a *reqAction, form errorForm) bool {
	op, named := o.op(r.Method, path, a)
	if !(named && op.body != "") && !o.callable {
		return true
	}
	if !soapMedia(r.Header) {
		form.write(w, http.StatusUnsupportedMediaType, portico.EUnsupported, notSOAP)
		return false
	}
	if ce := r.Header["Content-Encoding"]; len(ce) > 0 && !(len(ce) == 1 && strings.EqualFold(strings.TrimSpace(ce[0]), "identity")) {
		form.write(w, http.StatusUnsupportedMediaType, portico.EUnsupported,
			"the gateway reads the start of this API's envelopes, and does not decode them: send them without a Content-Encoding")
		return false
	}
	got, whole, ok := readEnvelope(w, r, form)
	if !ok {
		return false
	}
	switch {
	case named && op.body != "":
		if got == op.body {
			return true
		}
		refuseEnvelope(w, form, whole, "the envelope's Body starts with "+quoteElement(got)+", but the request's action names the operation "+op.name+
			", whose envelope's Body starts with "+op.body+": send the action of the operation the envelope calls")
		return false
	case named:
		if b, ok := o.byBody[got]; ok && b.callable {
			refuseEnvelope(w, form, whole, "the envelope's Body starts with "+quoteElement(got)+", the element of "+b.what()+
				", not of the operation "+op.name+" the request's action names: send the action of the operation the envelope calls")
			return false
		}
	default:
		if b, ok := o.byBody[got]; ok && b.callable {
			refuseEnvelope(w, form, whole, "the envelope's Body starts with "+quoteElement(got)+", the element of "+b.what()+
				", which the request's action does not name: send the action of the operation the envelope calls")
			return false
		}
	}
	return true
}

// what names the operations of a body element in a message.
func (b bodyOps) what() string {
	if b.n == 1 {
		return "the operation " + b.name
	}
	return "the operations " + b.name + " and others"
}

// soapMedia reports whether a request's (first) Content-Type is a media
// type SOAP messages come in — text/xml, application/soap+xml or
// multipart/related — whatever its parameters.
func soapMedia(h http.Header) bool {
	vs := h["Content-Type"]
	if len(vs) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(vs[0], ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "text/xml") || strings.EqualFold(mt, "application/soap+xml") || strings.EqualFold(mt, "multipart/related")
}

// notSOAP is the message of the 415 that refuses a call whose body is not
// a SOAP message.
const notSOAP = "a SOAP API takes SOAP messages: text/xml (SOAP 1.1), application/soap+xml (SOAP 1.2), " +
	"or multipart/related with either as its type (SOAP with attachments, MTOM)"

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
