package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
	"github.com/portico-gw/portico/soap"
)

// errorForm is how the gateway writes its own errors to one request: as
// JSON ({"error": {"code", "message"}}), or, to a request of a SOAP API
// (portico.API.IsSOAP), as a SOAP fault of fault's version. Every error
// the gateway answers passes through one of its methods; the zero value
// writes JSON, as to a request that reached no API.
//
// A SOAP API's fault version is the request's own (soap.Action), read
// from its headers as the client sent them (serve reads it before the
// header rules and conversions change them, and reqState carries it to
// the errors that come after): SOAP 1.2 for application/soap+xml, SOAP
// 1.1 for anything else, a request that is not SOAP at all included
// (see faultVersion).
type errorForm struct {
	fault string // "": JSON; soap.SOAP11 or soap.SOAP12: a SOAP fault
}

var nosniff = []string{"nosniff"}

// write answers an error of the gateway's with status, code and msg.
func (f errorForm) write(w http.ResponseWriter, status int, code portico.ErrorCode, msg string) {
	f.writeAuth(w, status, code, msg, "", nil)
}

// writeAuth answers an error as write does, with the WWW-Authenticate
// challenges given and, in JSON, a "reason" member when reason is not
// empty (a SOAP fault leaves the reason out: its detail holds the code
// and the status; bearer challenges name the error).
func (f errorForm) writeAuth(w http.ResponseWriter, status int, code portico.ErrorCode, msg, reason string, challenges []string) {
	if ex, ok := w.(*exchange); ok {
		ex.errCode = code
	}
	h := w.Header()
	h["X-Content-Type-Options"] = nosniff
	if len(challenges) > 0 {
		h["Www-Authenticate"] = challenges
	}
	if f.fault != "" {
		ct, body := soap.Fault(f.fault, status, string(code), msg)
		h["Content-Type"] = []string{ct}
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	b := make([]byte, 0, 96+len(msg)+len(reason))
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendQuote(b, string(code))
	b = append(b, `,"message":`...)
	b = strconv.AppendQuote(b, msg)
	if reason != "" {
		b = append(b, `,"reason":`...)
		b = strconv.AppendQuote(b, reason)
	}
	b = append(b, "}}\n"...)
	w.Write(b)
}

// writePolicy answers a request a policy refused with err, a
// *portico.Error from package threat, policy or jsonxml (its message
// names the limit, never the body), by its code (policyStatus).
func (f errorForm) writePolicy(w http.ResponseWriter, err error) {
	var pe *portico.Error
	if !errors.As(err, &pe) {
		f.write(w, http.StatusBadRequest, portico.EInvalid, "the request body could not be read")
		return
	}
	f.write(w, policyStatus(pe.Code), pe.Code, pe.Message)
}

// writeProblems answers 400 with the problems request validation found:
// in JSON, write's form with a "problems" list: {"error": {"code":
// "invalid", "message": …, "problems": [{"in", "name", "message"}]}}. (A
// SOAP API validates no request: its document is not OpenAPI; were it
// to, the fault would carry the message alone.)
func (f errorForm) writeProblems(w http.ResponseWriter, ps []openapi.Problem) {
	const msg = "the request does not match the API's document"
	if f.fault != "" {
		f.write(w, http.StatusBadRequest, portico.EInvalid, msg)
		return
	}
	type problemError struct {
		Code     portico.ErrorCode `json:"code"`
		Message  string            `json:"message"`
		Problems []openapi.Problem `json:"problems"`
	}
	b, err := json.Marshal(struct {
		Error problemError `json:"error"`
	}{problemError{portico.EInvalid, msg, ps}})
	if err != nil { // cannot happen: strings only
		f.write(w, http.StatusBadRequest, portico.EInvalid, msg)
		return
	}
	if ex, ok := w.(*exchange); ok {
		ex.errCode = portico.EInvalid
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(http.StatusBadRequest)
	w.Write(append(b, '\n'))
}

// jsonErrors is the form of the errors answered before a request reached
// an API.
var jsonErrors errorForm

// formOf returns the form of the errors of r, a request of up's API: JSON,
// or for a SOAP API a fault of the version of r as its client sent it —
// st's when the policies may have changed r's headers since (st not nil),
// else read from them.
func (up *upstream) formOf(r *http.Request, st *reqState) errorForm {
	if st != nil {
		return st.form
	}
	if up == nil || up.soap == nil {
		return jsonErrors
	}
	var a reqAction
	return errorForm{fault: a.of(r.Header).faultVersion(r.Header)}
}
