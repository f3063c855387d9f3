package soap

import (
	"strings"
	"unicode"

	"github.com/portico-gw/portico"
)

// ResourcePattern is the resource pattern of every operation of a SOAP
// API. The API's target is the service's SOAP address, so clients post
// every envelope to the API's context root, which the gateway forwards
// to that address: what tells the operations apart is their action, not
// their path.
const ResourcePattern = "POST /"

// maxSummaryBytes is portico.Resource's bound on Summary.
const maxSummaryBytes = 1000

// Resources returns the API's resources for the service: one for each
// operation, in order, with ResourcePattern, the operation's name as
// OperationID, its documentation as Summary (on one line, without
// control characters, cut to 1000 bytes), its BodyElement as SOAPBody,
// and as SOAPAction the action every client names it by: its SOAPAction
// (the SOAP 1.2 binding's when only that lists it).
//
// An action that several operations share is given to none of them: the
// gateway could not tell which one a request calls, so none can be
// limited separately, as none can whose action is "". (JAX-WS services
// give every operation the action "": a request names no operation.)
// Nor is an action given to an operation whose SOAP 1.1 and 1.2 bindings
// give it different ones (SOAP12Action set, "" for one of them
// included): a Resource has one action, which the other version's
// clients do not send, so they would dodge its limits; and the gateway
// refuses a SOAP API's calls that name no resource's action when every
// resource has one, which would refuse them.
// The operation's WS-Addressing action is not read: clients send it in
// the envelope, which the gateway does not read, and as the HTTP action
// only when they use WS-Addressing.
//
// The resources pass portico.CheckResources: ParseWSDL refuses what
// would not.
func (s *Service) Resources() []portico.Resource {
	uses := make(map[string]int, len(s.Operations))
	for _, o := range s.Operations {
		uses[o.action()]++
	}
	rs := make([]portico.Resource, 0, len(s.Operations))
	for _, o := range s.Operations {
		r := portico.Resource{Pattern: ResourcePattern, OperationID: o.Name, Summary: summary(o.Documentation), SOAPBody: o.BodyElement}
		if a := o.action(); uses[a] == 1 {
			r.SOAPAction = a
		}
		rs = append(rs, r)
	}
	return rs
}

// action is the one action a Resource gives the operation: "" when its
// SOAP 1.1 and 1.2 bindings give it two.
func (o *Operation) action() string {
	if o.SOAP12Action != "" {
		return ""
	}
	return o.SOAPAction
}

// summary makes a resource's summary of documentation: spaces and line
// breaks as single spaces, control characters left out, cut to
// maxSummaryBytes on a character boundary with an ellipsis.
func summary(doc string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(doc, "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case isControl(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) <= maxSummaryBytes {
		return s
	}
	return truncate(s, maxSummaryBytes-len("…"))
}
