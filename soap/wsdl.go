package soap

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// SOAP versions, as Endpoint.Version, Operation.Versions, Action and
// Fault name them.
const (
	SOAP11 = "1.1"
	SOAP12 = "1.2"
)

// Bounds on what ParseWSDL takes from a document: those of
// portico.Resource and of an API's target.
const (
	// MaxNameBytes bounds the names of a document's services, ports,
	// bindings, port types and operations: an operation's name is its
	// resource's operation ID.
	MaxNameBytes = 200
	// MaxActionBytes bounds a SOAP action, in a document and in a
	// request.
	MaxActionBytes = 2048
	// MaxAddressBytes bounds a SOAP address, as the admin API bounds a
	// target URL.
	MaxAddressBytes = 2000
)

// Service is what Portico takes from a WSDL 1.1 document: one service,
// where it is served and its operations.
type Service struct {
	// Name is the service's name.
	Name string
	// TargetNamespace is the document's target namespace ("" when it
	// declares none).
	TargetNamespace string
	// Documentation is the text of the service's documentation, or the
	// document's when the service has none (markup left out, each line
	// trimmed of spaces, no blank line at either end or twice in a row).
	Documentation string
	// Endpoints are the service's SOAP ports, in document order. An
	// API's target is the first one's Address.
	Endpoints []Endpoint
	// Operations are the operations of the SOAP bindings the Endpoints
	// use, in the order of the first binding that lists each; an
	// operation that bindings of both SOAP versions list is there once.
	Operations []Operation
}

// Endpoint is a SOAP port of the service.
type Endpoint struct {
	Port    string `json:"port"`
	Binding string `json:"binding"` // the local name of its binding
	// Address is the location of its soap:address (SOAP 1.1) or
	// soap12:address (SOAP 1.2): an absolute http or https URL without
	// credentials, query or fragment, as the admin API takes a target.
	Address string `json:"address"`
	Version string `json:"version"` // SOAP11 or SOAP12
}

// Operation is an operation of the service, as its SOAP bindings list
// it.
type Operation struct {
	Name string `json:"name"`
	// Versions are the SOAP versions of the bindings that list the
	// operation: [SOAP11], [SOAP12], or [SOAP11 SOAP12].
	Versions []string `json:"versions"`
	// SOAPAction is the soapAction its SOAP 1.1 binding gives it, or its
	// SOAP 1.2 binding when no SOAP 1.1 binding lists it; "" when the
	// binding gives none (or gives "").
	SOAPAction string `json:"soap_action,omitempty"`
	// SOAP12Action is the soapAction its SOAP 1.2 binding gives it when
	// a SOAP 1.1 binding lists it too and the two actions differ; ""
	// otherwise (most documents give both versions the same action).
	SOAP12Action string `json:"soap12_action,omitempty"`
	// Style is "document" or "rpc": the style of its soap:operation, or
	// of its binding, or "document", in the first binding that lists it.
	Style string `json:"style"`
	// Documentation is the text of the port type operation's
	// documentation, or of the binding operation's when that has none,
	// tidied as Service.Documentation is.
	Documentation string `json:"documentation,omitempty"`
	// BodyElement is the element a request's soap:Body starts with when
	// it calls the operation, in Clark notation ("{namespace}local", or
	// "local" in no namespace): in document style the element of the
	// one part of its input message that the soap:body binds; in rpc
	// style the operation's name in the soap:body's namespace. It is ""
	// where the document does not tell it: no input or no soap:body, a
	// document style body of no part or of several, or of a part with a
	// type rather than an element; an rpc soap:body without a namespace;
	// bindings (of one SOAP version or both) that give the operation
	// different elements.
	BodyElement string `json:"body_element,omitempty"`
}

// ParseWSDL reads a WSDL 1.1 document describing a SOAP service over
// HTTP. It reads the document alone: it never follows an import, and
// refuses with an *Error naming the element (its path, line and column)
// what it cannot take whole:
//   - a document over portico.MaxDocumentBytes (portico.ETooLarge);
//   - a document that is not well-formed XML (per encoding/xml, and end
//     tags that match, one root element, attributes given once), whose
//     namespace prefixes are not all declared, or that is not in UTF-8
//     (or US-ASCII);
//   - a document type declaration (<!DOCTYPE) or any other markup
//     declaration: no DTD, so no entities to expand or to fetch;
//   - elements nested deeper than MaxDepth, or more than MaxNodes
//     elements and attributes;
//   - a root other than WSDL 1.1's definitions (WSDL 2.0's description is
//     named as such);
//   - a wsdl:import, or an XML Schema import, include, redefine or
//     override with a location: Portico does not follow them, and the
//     document must be whole (an XML Schema import without a
//     schemaLocation names a namespace, such as another schema of the
//     same types section, and is taken);
//   - names (of services, ports, bindings, port types, operations,
//     messages) that are empty, over MaxNameBytes, or hold spaces, colons
//     or control characters (parts' names may hold colons); a name given
//     twice (a part's in its message); operations overloaded (a name
//     twice in a port type or binding);
//   - a part with both an element and a type; a part's element, or an
//     input's message, that is not a qualified name with a declared
//     prefix; an element, or a soap:body's namespace, in a namespace over
//     MaxActionBytes or holding control characters or braces; a use
//     other than literal or encoded; two inputs in an operation, two
//     soap:bodies in an input;
//   - a binding whose type is no port type of the document, a SOAP
//     binding that lacks an operation of its port type or lists one the
//     port type lacks, a binding with both a soap:binding and a
//     soap12:binding, a port whose SOAP address does not match its
//     binding's SOAP version, a soap:body of the other version, a style
//     other than document or rpc;
//   - an operation of a SOAP binding's port type whose input message is
//     no message of the document, a soap:body whose parts attribute
//     names a part its message lacks;
//   - a soapAction over MaxActionBytes or with control characters, or
//     an operation that two bindings of one SOAP version give different
//     actions;
//   - no service with a SOAP port (a port with a soap:address or
//     soap12:address), a SOAP address that is not an absolute http or
//     https URL (without credentials, query or fragment), or more than
//     portico.MaxResources operations.
//
// The first service with a SOAP port is the Service; the document's
// other services are left out. Its ports of other bindings (HTTP GET and
// POST, say) are left out too.
func ParseWSDL(doc []byte) (*Service, error) {
	if len(doc) > portico.MaxDocumentBytes {
		return nil, &Error{Code: portico.ETooLarge, Message: fmt.Sprintf("the document is %d bytes; the limit is %d (16 MiB)", len(doc), portico.MaxDocumentBytes)}
	}
	p := &parser{reader: newReader(doc), portTypes: map[string]*portType{}, bindings: map[string]*binding{}, messages: map[string]*message{},
		services: map[string]bool{}, ports: map[string]bool{}}
	if err := p.run(p); err != nil {
		return nil, err
	}
	return p.build()
}

// kind is what an element is to the WSDL reader.
type kind uint8

const (
	other kind = iota
	definitionsKind
	documentationKind // a documentation whose text is kept
	messageKind
	portTypeKind
	portTypeOpKind
	bindingKind
	bindingOpKind
	bindingInputKind // a binding operation's input, or a MIME multipart in it
	serviceKind
	portKind
)

// parser reads a WSDL document as its elements pass: what it keeps of
// each port type, binding and service, then build puts them together.
type parser struct {
	*reader
	tns     string
	defsDoc string

	portTypes    map[string]*portType // by local name: each is in tns
	bindings     map[string]*binding
	messages     map[string]*message
	bindingOrder []*binding
	serviceOrder []*service
	services     map[string]bool // by name
	ports        map[string]bool

	// The innermost open element of each kind.
	msg  *message
	pt   *portType
	ptOp *portTypeOp
	b    *binding
	bOp  *bindingOp
	s    *service
	port *port

	// The documentation being read, and where its text goes.
	docInto *string
	docText strings.Builder
}

// ref places an element for an error found after it has passed.
type ref struct {
	path string
	off  int64
}

func (p *parser) ref(e *element) ref { return ref{p.path(), e.off} }

func (p *parser) errorAtRef(r ref, format string, args ...any) *Error {
	line, col := position(p.doc, r.off)
	return &Error{Code: portico.EInvalid, Path: r.path, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

type portType struct {
	name string
	ref  ref
	ops  []*portTypeOp
	op   map[string]*portTypeOp
}

type portTypeOp struct {
	name, doc string
	// Its input's message, when it has an input.
	input         bool
	inNS, inLocal string
	inRef         ref
}

// message is a wsdl:message: its parts, in order and by name.
type message struct {
	parts []*part
	part  map[string]*part
}

type part struct {
	name    string
	element string // its element in Clark notation; "" for a part with a type
}

type binding struct {
	name              string
	ref               ref
	typeNS, typeLocal string // its port type
	version           string // of its soap:binding or soap12:binding; "" for none
	style             string
	ops               []*bindingOp
	op                map[string]*bindingOp
}

type bindingOp struct {
	name, doc string
	ref       ref
	version   string // of its soap:operation or soap12:operation; "" for none
	action    string
	style     string

	input bool // it has an input
	// Its input's soap:body or soap12:body, when it has one.
	body        bool
	bodyVersion string
	bodyRef     ref
	partsGiven  bool     // the soap:body has a parts attribute
	parts       []string // its part names
	bodyNS      string   // its namespace attribute
}

type service struct {
	name, doc string
	ports     []*port
}

type port struct {
	name                    string
	ref                     ref
	bindingNS, bindingLocal string
	version                 string // of its soap:address or soap12:address; "" for none
	address                 string
}

// start reads an element as it opens.
func (p *parser) start(e *element) error {
	if isXSD(e.space) && (e.local == "import" || e.local == "include" || e.local == "redefine" || e.local == "override") {
		if loc, ok := e.attr("schemaLocation"); ok {
			return p.errorAt(e.off, "the schema %ss %s: Portico does not follow imports; give one document with every schema inline", e.local, quote(loc))
		}
	}
	if len(p.stack) == 1 {
		return p.root(e)
	}
	parent := p.stack[len(p.stack)-2]
	switch parent.kind {
	case definitionsKind:
		if e.space != nsWSDL {
			return nil
		}
		switch e.local {
		case "documentation":
			p.collect(e, &p.defsDoc)
		case "import":
			loc, _ := e.attr("location")
			return p.errorAt(e.off, "the document imports %s: Portico does not follow imports; give one document with every definition inline", quote(loc))
		case "message":
			if err := p.checkName(e, "message"); err != nil {
				return err
			}
			if p.messages[e.name] != nil {
				return p.errorAt(e.off, "a second message named %s", quote(e.name))
			}
			p.msg = &message{part: map[string]*part{}}
			p.messages[e.name] = p.msg
			e.kind = messageKind
		case "portType":
			if err := p.checkName(e, "port type"); err != nil {
				return err
			}
			if p.portTypes[e.name] != nil {
				return p.errorAt(e.off, "a second port type named %s", quote(e.name))
			}
			p.pt = &portType{name: e.name, ref: p.ref(e), op: map[string]*portTypeOp{}}
			p.portTypes[e.name] = p.pt
			e.kind = portTypeKind
		case "binding":
			return p.startBinding(e)
		case "service":
			if err := p.checkName(e, "service"); err != nil {
				return err
			}
			if p.services[e.name] {
				return p.errorAt(e.off, "a second service named %s", quote(e.name))
			}
			p.services[e.name] = true
			p.s = &service{name: e.name}
			p.serviceOrder = append(p.serviceOrder, p.s)
			e.kind = serviceKind
		}
	case portTypeKind:
		if e.is(nsWSDL, "operation") {
			if err := p.checkName(e, "operation"); err != nil {
				return err
			}
			if p.pt.op[e.name] != nil {
				return p.errorAt(e.off, "the port type has two operations named %s: Portico does not take overloaded operations (WS-I Basic Profile R2304)", quote(e.name))
			}
			p.ptOp = &portTypeOp{name: e.name}
			p.pt.ops = append(p.pt.ops, p.ptOp)
			p.pt.op[e.name] = p.ptOp
			e.kind = portTypeOpKind
		}
	case messageKind:
		if e.is(nsWSDL, "part") {
			return p.startPart(e)
		}
	case portTypeOpKind:
		switch {
		case e.is(nsWSDL, "documentation"):
			p.collect(e, &p.ptOp.doc)
		case e.is(nsWSDL, "input"):
			if p.ptOp.input {
				return p.errorAt(e.off, "the operation has a second input")
			}
			m, _ := e.attr("message")
			ns, local, ok := p.resolveQName(strings.TrimSpace(m))
			if !ok {
				return p.errorAt(e.off, "the input's message %s is not a qualified name with a declared prefix", quote(m))
			}
			p.ptOp.input, p.ptOp.inNS, p.ptOp.inLocal, p.ptOp.inRef = true, ns, local, p.ref(e)
		}
	case bindingKind:
		return p.startInBinding(e)
	case bindingOpKind:
		return p.startInBindingOp(e)
	case bindingInputKind:
		switch {
		case e.space == nsMIME && (e.local == "multipartRelated" || e.local == "part"):
			// SOAP with attachments: the soap:body is in a MIME part.
			e.kind = bindingInputKind
		case soapVersion(e.space) != "" && e.local == "body":
			return p.startBody(e)
		}
	case serviceKind:
		switch {
		case e.is(nsWSDL, "documentation"):
			p.collect(e, &p.s.doc)
		case e.is(nsWSDL, "port"):
			return p.startPort(e)
		}
	case portKind:
		if v := soapVersion(e.space); v != "" && e.local == "address" {
			if p.port.version != "" {
				return p.errorAt(e.off, "the port has a second SOAP address")
			}
			loc, _ := e.attr("location")
			p.port.version, p.port.address = v, strings.TrimSpace(loc)
		}
	}
	return nil
}

// root checks the root element: WSDL 1.1's definitions.
func (p *parser) root(e *element) error {
	switch {
	case e.is(nsWSDL, "definitions"):
	case e.is(nsWSDL20, "description"):
		return p.errorAt(e.off, "the document is WSDL 2.0 (its root is description in %s); Portico reads WSDL 1.1 only", nsWSDL20)
	case e.local == "definitions" && e.space == "":
		return p.errorAt(e.off, "the root element definitions is in no namespace: WSDL 1.1's is in %s (declare it with xmlns)", nsWSDL)
	case e.local == "definitions":
		return p.errorAt(e.off, "the root element definitions is in the namespace %s, not WSDL 1.1's, %s", quote(e.space), nsWSDL)
	default:
		return p.errorAt(e.off, "the root element is %s (namespace %s): not a WSDL 1.1 document, whose root is definitions in %s", quote(e.local), quote(e.space), nsWSDL)
	}
	e.kind = definitionsKind
	p.tns, _ = e.attr("targetNamespace")
	if len(p.tns) > MaxActionBytes || strings.ContainsFunc(p.tns, isControl) {
		return p.errorAt(e.off, "the targetNamespace is over %d bytes or holds control characters", MaxActionBytes)
	}
	return nil
}

func (p *parser) startBinding(e *element) error {
	if err := p.checkName(e, "binding"); err != nil {
		return err
	}
	if p.bindings[e.name] != nil {
		return p.errorAt(e.off, "a second binding named %s", quote(e.name))
	}
	t, _ := e.attr("type")
	ns, local, ok := p.resolveQName(t)
	if !ok {
		return p.errorAt(e.off, "the binding's type %s is not a qualified name with a declared prefix", quote(t))
	}
	p.b = &binding{name: e.name, ref: p.ref(e), typeNS: ns, typeLocal: local, op: map[string]*bindingOp{}}
	p.bindings[e.name] = p.b
	p.bindingOrder = append(p.bindingOrder, p.b)
	e.kind = bindingKind
	return nil
}

func (p *parser) startInBinding(e *element) error {
	if v := soapVersion(e.space); v != "" && e.local == "binding" {
		if p.b.version != "" {
			return p.errorAt(e.off, "the binding has a second soap:binding or soap12:binding")
		}
		style, err := p.style(e)
		if err != nil {
			return err
		}
		p.b.version, p.b.style = v, style
		return nil
	}
	if !e.is(nsWSDL, "operation") {
		return nil
	}
	if err := p.checkName(e, "operation"); err != nil {
		return err
	}
	if p.b.op[e.name] != nil {
		return p.errorAt(e.off, "the binding has two operations named %s: Portico does not take overloaded operations (WS-I Basic Profile R2304)", quote(e.name))
	}
	p.bOp = &bindingOp{name: e.name, ref: p.ref(e)}
	p.b.ops = append(p.b.ops, p.bOp)
	p.b.op[e.name] = p.bOp
	e.kind = bindingOpKind
	return nil
}

func (p *parser) startInBindingOp(e *element) error {
	if e.is(nsWSDL, "documentation") {
		p.collect(e, &p.bOp.doc)
		return nil
	}
	if e.is(nsWSDL, "input") {
		if p.bOp.input {
			return p.errorAt(e.off, "the operation has a second input")
		}
		p.bOp.input = true
		e.kind = bindingInputKind
		return nil
	}
	v := soapVersion(e.space)
	if v == "" || e.local != "operation" {
		return nil
	}
	if p.bOp.version != "" {
		return p.errorAt(e.off, "the operation has a second soap:operation or soap12:operation")
	}
	action, _ := e.attr("soapAction")
	action = strings.TrimSpace(action)
	if len(action) > MaxActionBytes || strings.ContainsFunc(action, isControl) {
		return p.errorAt(e.off, "the soapAction is over %d bytes or holds control characters", MaxActionBytes)
	}
	style, err := p.style(e)
	if err != nil {
		return err
	}
	p.bOp.version, p.bOp.action, p.bOp.style = v, action, style
	return nil
}

// startPart reads a part of a message: its name, and its element.
func (p *parser) startPart(e *element) error {
	n, _ := e.attr("name")
	switch {
	case n == "":
		return p.errorAt(e.off, "the part has no name")
	case len(n) > MaxNameBytes:
		return p.errorAt(e.off, "the part's name is over %d bytes", MaxNameBytes)
	case strings.ContainsFunc(n, func(r rune) bool { return isControl(r) || unicode.IsSpace(r) }):
		return p.errorAt(e.off, "the part's name %s holds spaces or control characters", quote(n))
	case p.msg.part[n] != nil:
		return p.errorAt(e.off, "the message has two parts named %s", quote(n))
	}
	pt := &part{name: n}
	el, hasElement := e.attr("element")
	if _, hasType := e.attr("type"); hasElement && hasType {
		return p.errorAt(e.off, "the part has both an element and a type (WS-I Basic Profile R2306)")
	}
	if hasElement {
		ns, local, ok := p.resolveQName(strings.TrimSpace(el))
		if !ok {
			return p.errorAt(e.off, "the part's element %s is not a qualified name with a declared prefix", quote(el))
		}
		if msg := checkElement(ns, local); msg != "" {
			return p.errorAt(e.off, "the part's element %s %s", quote(el), msg)
		}
		pt.element = clark(ns, local)
	}
	p.msg.parts = append(p.msg.parts, pt)
	p.msg.part[n] = pt
	return nil
}

// startBody reads the soap:body or soap12:body of a binding operation's
// input.
func (p *parser) startBody(e *element) error {
	op := p.bOp
	if op.body {
		return p.errorAt(e.off, "the input has a second soap:body or soap12:body")
	}
	op.body, op.bodyVersion, op.bodyRef = true, soapVersion(e.space), p.ref(e)
	if parts, ok := e.attr("parts"); ok {
		op.partsGiven, op.parts = true, strings.Fields(parts)
	}
	ns, _ := e.attr("namespace")
	ns = strings.TrimSpace(ns)
	if len(ns) > MaxActionBytes || strings.ContainsFunc(ns, func(r rune) bool { return isControl(r) || r == '{' || r == '}' }) {
		return p.errorAt(e.off, "the namespace %s is over %d bytes or holds control characters or braces", quote(ns), MaxActionBytes)
	}
	op.bodyNS = ns
	if use, _ := e.attr("use"); strings.TrimSpace(use) != "" && strings.TrimSpace(use) != "literal" && strings.TrimSpace(use) != "encoded" {
		return p.errorAt(e.off, "the use %s is neither literal nor encoded", quote(use))
	}
	return nil
}

// checkElement returns what is wrong with an element's namespace and
// local name as a Resource's SOAPBody would hold them, or "".
func checkElement(ns, local string) string {
	switch {
	case len(ns) > MaxActionBytes:
		return fmt.Sprintf("is in a namespace of over %d bytes", MaxActionBytes)
	case strings.ContainsFunc(ns, func(r rune) bool { return isControl(r) || r == '{' || r == '}' }):
		return "is in a namespace that holds control characters or braces"
	case len(local) > MaxNameBytes:
		return fmt.Sprintf("has a name of over %d bytes", MaxNameBytes)
	case strings.ContainsFunc(local, func(r rune) bool { return isControl(r) || unicode.IsSpace(r) || r == '{' || r == '}' }):
		return "has a name that holds spaces, control characters or braces"
	}
	return ""
}

// clark writes an element's name in Clark notation: "{namespace}local",
// or "local" in no namespace.
func clark(ns, local string) string {
	if ns == "" {
		return local
	}
	return "{" + ns + "}" + local
}

func (p *parser) startPort(e *element) error {
	if err := p.checkName(e, "port"); err != nil {
		return err
	}
	if p.ports[e.name] {
		return p.errorAt(e.off, "a second port named %s", quote(e.name))
	}
	p.ports[e.name] = true
	b, _ := e.attr("binding")
	ns, local, ok := p.resolveQName(b)
	if !ok {
		return p.errorAt(e.off, "the port's binding %s is not a qualified name with a declared prefix", quote(b))
	}
	p.port = &port{name: e.name, ref: p.ref(e), bindingNS: ns, bindingLocal: local}
	p.s.ports = append(p.s.ports, p.port)
	e.kind = portKind
	return nil
}

// style returns the style attribute of a soap:binding or soap:operation:
// "document", "rpc", or "" when it has none.
func (p *parser) style(e *element) (string, error) {
	s, _ := e.attr("style")
	if s = strings.TrimSpace(s); s != "" && s != "document" && s != "rpc" {
		return "", p.errorAt(e.off, "the style %s is neither document nor rpc", quote(s))
	}
	return s, nil
}

// checkName refuses a name Portico could not show or use as an
// operation ID.
func (p *parser) checkName(e *element, what string) error {
	n, ok := e.attr("name")
	switch {
	case !ok || n == "":
		return p.errorAt(e.off, "the %s has no name", what)
	case len(n) > MaxNameBytes:
		return p.errorAt(e.off, "the %s's name is over %d bytes", what, MaxNameBytes)
	case strings.ContainsFunc(n, func(r rune) bool { return isControl(r) || unicode.IsSpace(r) || r == ':' }):
		return p.errorAt(e.off, "the %s's name %s holds spaces, colons or control characters", what, quote(n))
	}
	return nil
}

// collect keeps the text of documentation element e in *into.
func (p *parser) collect(e *element, into *string) {
	e.kind = documentationKind
	p.docInto = into
	p.docText.Reset()
}

func (p *parser) text(t []byte) error {
	if p.docInto != nil {
		p.docText.Write(t)
	}
	return nil
}

func (p *parser) end(e *element) error {
	if e.kind == documentationKind && p.docInto != nil {
		if s := docText(p.docText.String()); *p.docInto == "" {
			*p.docInto = s
		} else if s != "" {
			*p.docInto += "\n\n" + s
		}
		p.docInto = nil
		p.docText.Reset()
	}
	return nil
}

// docText tidies the text of a documentation element: each line trimmed
// of spaces, no blank line at either end, none twice in a row.
func docText(s string) string {
	var b strings.Builder
	blank := false
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			blank = b.Len() > 0
		default:
			if blank {
				b.WriteByte('\n')
				blank = false
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

func soapVersion(ns string) string {
	switch ns {
	case nsSOAP11:
		return SOAP11
	case nsSOAP12:
		return SOAP12
	}
	return ""
}

// build puts the Service together from what the reader kept.
func (p *parser) build() (*Service, error) {
	for _, b := range p.bindingOrder {
		if b.typeNS != p.tns || p.portTypes[b.typeLocal] == nil {
			return nil, p.errorAtRef(b.ref, "the binding's type %s is no port type of the document%s", quote(b.typeLocal), p.notInTNS(b.typeNS))
		}
	}
	var svc *service
	for _, s := range p.serviceOrder {
		if slices.ContainsFunc(s.ports, func(pt *port) bool { return pt.version != "" }) {
			svc = s
			break
		}
	}
	if svc == nil {
		return nil, &Error{Code: portico.EInvalid, Message: "no service of the document has a SOAP port (a port with a soap:address or soap12:address): Portico imports SOAP services over HTTP"}
	}
	out := &Service{Name: svc.name, TargetNamespace: p.tns, Documentation: svc.doc}
	if out.Documentation == "" {
		out.Documentation = p.defsDoc
	}
	m := merger{byName: map[string]*merged{}}
	checked := map[*binding]bool{}
	for _, pt := range svc.ports {
		if pt.version == "" {
			continue
		}
		if msg := checkAddress(pt.address); msg != "" {
			return nil, p.errorAtRef(pt.ref, "the SOAP address %s %s", quote(pt.address), msg)
		}
		b := p.bindings[pt.bindingLocal]
		if pt.bindingNS != p.tns || b == nil {
			return nil, p.errorAtRef(pt.ref, "the port's binding %s is no binding of the document%s", quote(pt.bindingLocal), p.notInTNS(pt.bindingNS))
		}
		switch {
		case b.version == "":
			return nil, p.errorAtRef(pt.ref, "the port has a SOAP address but its binding %s is no SOAP binding (it has no soap:binding or soap12:binding)", quote(b.name))
		case b.version != pt.version:
			return nil, p.errorAtRef(pt.ref, "the port has a SOAP %s address but its binding %s is a SOAP %s binding", pt.version, quote(b.name), b.version)
		}
		if !checked[b] {
			if err := p.checkBinding(b); err != nil {
				return nil, err
			}
			checked[b] = true
		}
		out.Endpoints = append(out.Endpoints, Endpoint{Port: pt.name, Binding: b.name, Address: pt.address, Version: pt.version})
		pType := p.portTypes[b.typeLocal]
		for _, op := range b.ops {
			if err := m.add(p, b, op, pType.op[op.name]); err != nil {
				return nil, err
			}
		}
	}
	if len(m.ops) > portico.MaxResources {
		return nil, &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the service has %d operations; Portico takes at most %d", len(m.ops), portico.MaxResources)}
	}
	out.Operations = make([]Operation, 0, len(m.ops))
	for _, o := range m.ops {
		out.Operations = append(out.Operations, o.Operation)
	}
	return out, nil
}

// notInTNS explains a reference to a namespace other than the target
// namespace: nothing there can be defined, since imports are refused.
func (p *parser) notInTNS(ns string) string {
	if ns == p.tns {
		return ""
	}
	return fmt.Sprintf(" (it names the namespace %s; the document's target namespace is %s)", quote(ns), quote(p.tns))
}

// checkBinding checks a SOAP binding against its port type: the same
// operations (WS-I Basic Profile R2718), and SOAP elements of the
// binding's version.
func (p *parser) checkBinding(b *binding) error {
	pt := p.portTypes[b.typeLocal]
	for _, op := range b.ops {
		if pt.op[op.name] == nil {
			return p.errorAtRef(op.ref, "the binding lists the operation %s, which its port type %s lacks", quote(op.name), quote(pt.name))
		}
		if op.version != "" && op.version != b.version {
			return p.errorAtRef(op.ref, "the operation has a SOAP %s soap:operation in a SOAP %s binding", op.version, b.version)
		}
		if op.body && op.bodyVersion != b.version {
			return p.errorAtRef(op.bodyRef, "the input has a SOAP %s soap:body in a SOAP %s binding", op.bodyVersion, b.version)
		}
		ptOp := pt.op[op.name]
		if !ptOp.input {
			continue
		}
		msg := p.messages[ptOp.inLocal]
		if ptOp.inNS != p.tns || msg == nil {
			return p.errorAtRef(ptOp.inRef, "the input's message %s is no message of the document%s", quote(ptOp.inLocal), p.notInTNS(ptOp.inNS))
		}
		for _, n := range op.parts {
			if msg.part[n] == nil {
				return p.errorAtRef(op.bodyRef, "the soap:body's parts name %s, which the message %s lacks", quote(n), quote(ptOp.inLocal))
			}
		}
	}
	for _, op := range pt.ops {
		if b.op[op.name] == nil {
			return p.errorAtRef(b.ref, "the operation %s of the port type %s has no operation in this SOAP binding: it would have no SOAP binding", quote(op.name), quote(pt.name))
		}
	}
	return nil
}

// merger gathers the operations of a service's SOAP bindings, once each
// by name.
type merger struct {
	ops    []*merged
	byName map[string]*merged
}

type merged struct {
	Operation
	// action, binding and body element for each SOAP version, for the
	// checks.
	has     [2]bool
	action  [2]string
	binding [2]string
	body    [2]string
}

func (m *merger) add(p *parser, b *binding, op *bindingOp, ptOp *portTypeOp) error {
	v := 0
	if b.version == SOAP12 {
		v = 1
	}
	style := op.style
	if style == "" {
		style = b.style
	}
	if style == "" {
		style = "document"
	}
	body := p.bodyElement(style, op, ptOp)
	o := m.byName[op.name]
	if o == nil {
		doc := ptOp.doc
		if doc == "" {
			doc = op.doc
		}
		o = &merged{Operation: Operation{Name: op.name, Style: style, Documentation: doc}}
		m.byName[op.name] = o
		m.ops = append(m.ops, o)
	}
	if o.has[v] {
		if o.action[v] != op.action {
			return p.errorAtRef(op.ref, "the operation %s has the SOAP %s action %s in the binding %s and %s in the binding %s: Portico could not tell which to match",
				quote(op.name), b.version, quote(o.action[v]), quote(o.binding[v]), quote(op.action), quote(b.name))
		}
		if o.body[v] != body {
			o.body[v] = ""
			o.BodyElement = ""
		}
		return nil
	}
	o.has[v], o.action[v], o.binding[v], o.body[v] = true, op.action, b.name, body
	o.Versions = o.Versions[:0]
	for i, ver := range []string{SOAP11, SOAP12} {
		if o.has[i] {
			o.Versions = append(o.Versions, ver)
		}
	}
	switch {
	case o.has[0]:
		o.SOAPAction = o.action[0]
		if o.has[1] && o.action[1] != o.action[0] {
			o.SOAP12Action = o.action[1]
		}
	default:
		o.SOAPAction = o.action[1]
	}
	switch {
	case o.has[0] && o.has[1] && o.body[0] != o.body[1]:
		o.BodyElement = ""
	case o.has[0]:
		o.BodyElement = o.body[0]
	default:
		o.BodyElement = o.body[1]
	}
	return nil
}

// bodyElement returns the element, in Clark notation, that the soap:Body
// of a request calling op (of the port type's ptOp, in style) starts
// with, or "" when the document does not tell it (see
// Operation.BodyElement). checkBinding has checked the references.
func (p *parser) bodyElement(style string, op *bindingOp, ptOp *portTypeOp) string {
	if !ptOp.input || !op.body {
		return ""
	}
	if style == "rpc" {
		// The wrapper element: the operation's name in the namespace.
		if op.bodyNS == "" || strings.ContainsAny(op.name, "{}") {
			return ""
		}
		return clark(op.bodyNS, op.name)
	}
	msg := p.messages[ptOp.inLocal]
	parts := msg.parts
	if op.partsGiven {
		parts = parts[:0:0]
		for _, n := range op.parts {
			parts = append(parts, msg.part[n])
		}
	}
	if len(parts) != 1 {
		return ""
	}
	return parts[0].element
}

// checkAddress returns what is wrong with a SOAP address as an API's
// target, or "".
func checkAddress(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > MaxAddressBytes {
		return fmt.Sprintf("is over %d bytes", MaxAddressBytes)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return isControl(r) || unicode.IsSpace(r) }) {
		return "holds spaces or control characters"
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "" {
		return "is not an absolute http or https URL"
	}
	if u.User != nil {
		return "carries credentials"
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return "has a query or a fragment, which an API's target cannot have"
	}
	return ""
}

// isControl reports the characters portico.CheckResources refuses.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
