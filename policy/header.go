package policy

import (
	"net/http"
	"net/textproto"

	"github.com/portico-gw/portico"
)

// Vars are one request's values of the header rule variables (see
// portico.HeaderVarRequestID and the others). The gateway fills them
// once per request.
type Vars struct {
	RequestID   string
	Application string // "" on an API without auth
	Subscriber  string // "" on an API without auth
	API         string
	ClientIP    string // ClientIP's answer, as a string; "" when unknown
}

// HeaderRules is the compiled form of an API's portico.HeaderRules: names
// in canonical form, values without variables made once. It is safe for
// concurrent use. A nil *HeaderRules changes nothing.
//
// The rules cannot name the fields portico.HeaderRules reserves (framing,
// hop-by-hop, the gateway's forwarding fields, X-Portico-*, CORS): they
// are refused when compiled, so the gateway's own fields win whether it
// sets them before or after the rules.
type HeaderRules struct {
	request, response []headerOp
}

type headerOp struct {
	kind  portico.HeaderOpKind
	name  string   // canonical
	to    string   // canonical, for rename
	value []string // a value without variables, made once (len = cap = 1)
	parts []part   // else its parts
}

// part is literal text, or the variable v when v != varNone.
type part struct {
	text string
	v    varID
}

type varID uint8

const (
	varNone varID = iota
	varRequestID
	varApplication
	varSubscriber
	varAPI
	varClientIP
)

var varIDs = map[string]varID{
	portico.HeaderVarRequestID:   varRequestID,
	portico.HeaderVarApplication: varApplication,
	portico.HeaderVarSubscriber:  varSubscriber,
	portico.HeaderVarAPI:         varAPI,
	portico.HeaderVarClientIP:    varClientIP,
}

// NewHeaderRules validates r and compiles it.
func NewHeaderRules(r *portico.HeaderRules) (*HeaderRules, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	req, err := compileOps(r.Request)
	if err != nil {
		return nil, err
	}
	resp, err := compileOps(r.Response)
	if err != nil {
		return nil, err
	}
	return &HeaderRules{request: req, response: resp}, nil
}

func compileOps(ops []portico.HeaderOp) ([]headerOp, error) {
	out := make([]headerOp, 0, len(ops))
	for _, op := range ops {
		c := headerOp{kind: op.Op, name: textproto.CanonicalMIMEHeaderKey(op.Name)}
		switch op.Op {
		case portico.HeaderRename:
			c.to = textproto.CanonicalMIMEHeaderKey(op.To)
		case portico.HeaderAdd, portico.HeaderSet:
			ps, err := compileValue(op.Value)
			if err != nil {
				return nil, err
			}
			if len(ps) == 0 {
				c.value = []string{""}
			} else if len(ps) == 1 && ps[0].v == varNone {
				c.value = []string{ps[0].text}
			} else {
				c.parts = ps
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// compileValue parses a header rule's value into parts.
func compileValue(s string) ([]part, error) {
	pp, err := portico.ParseHeaderValue(s)
	if err != nil {
		return nil, err
	}
	ps := make([]part, len(pp))
	for i, p := range pp {
		ps[i] = part{text: p.Text, v: varIDs[p.Var]}
	}
	return ps, nil
}

// ApplyRequest applies the request rules to h, the header of the request
// the gateway forwards, in their order.
func (r *HeaderRules) ApplyRequest(h http.Header, v *Vars) {
	if r != nil {
		apply(r.request, h, v)
	}
}

// ApplyResponse applies the response rules to h, the header of the
// response the gateway returns, in their order.
func (r *HeaderRules) ApplyResponse(h http.Header, v *Vars) {
	if r != nil {
		apply(r.response, h, v)
	}
}

// apply runs ops on h. h's keys are expected in canonical form, as
// net/http makes them. Values without variables are shared between
// requests (len = cap = 1, so an append copies); a value with variables
// costs one string and one slice (BenchmarkHeaderRules).
func apply(ops []headerOp, h http.Header, v *Vars) {
	for i := range ops {
		op := &ops[i]
		switch op.kind {
		case portico.HeaderAdd:
			if old := h[op.name]; len(old) > 0 {
				h[op.name] = append(old[:len(old):len(old)], op.render(v))
			} else {
				h[op.name] = op.values(v)
			}
		case portico.HeaderSet:
			h[op.name] = op.values(v)
		case portico.HeaderRemove:
			delete(h, op.name)
		case portico.HeaderRename:
			if vs, ok := h[op.name]; ok {
				delete(h, op.name)
				h[op.to] = vs
			}
		}
	}
}

func (op *headerOp) values(v *Vars) []string {
	if op.value != nil {
		return op.value
	}
	return []string{op.render(v)}
}

func (op *headerOp) render(v *Vars) string {
	if op.value != nil {
		return op.value[0]
	}
	return renderValue(op.parts, v)
}

// renderValue joins parts with the variables of v filled in. Control
// characters in a variable's value (but tab) are left out, so no value,
// whatever a variable holds, can add a field or end the header.
func renderValue(ps []part, v *Vars) string {
	var buf [128]byte
	b := buf[:0]
	for _, p := range ps {
		if p.v == varNone {
			b = append(b, p.text...)
			continue
		}
		var s string
		if v != nil {
			switch p.v {
			case varRequestID:
				s = v.RequestID
			case varApplication:
				s = v.Application
			case varSubscriber:
				s = v.Subscriber
			case varAPI:
				s = v.API
			case varClientIP:
				s = v.ClientIP
			}
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= ' ' && c != 0x7f || c == '\t' {
				b = append(b, c)
			}
		}
	}
	return string(b)
}
