package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/portico-gw/portico"
)

// Limits on the documents ParseWSDL reads, beyond MaxDocumentBytes.
const (
	// MaxDepth bounds the nesting of elements. A WSDL's own elements
	// nest 4 deep; its schemas nest deeper, 3 levels for each anonymous
	// type inside another (the documents of testdata nest 13 at most).
	MaxDepth = 100
	// MaxNodes bounds the elements and attributes (namespace
	// declarations included) of a document: 2^20, one for every 16
	// bytes of a document of MaxDocumentBytes. The documents of testdata
	// spend 25 to 36 bytes a node.
	MaxNodes = 1 << 20
)

// Namespaces Portico reads or refuses, matched by URI whatever the
// prefix a document binds to them.
const (
	nsWSDL   = "http://schemas.xmlsoap.org/wsdl/"
	nsSOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsSOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
	nsMIME   = "http://schemas.xmlsoap.org/wsdl/mime/"
	nsWSDL20 = "http://www.w3.org/ns/wsdl"
	nsXML    = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS  = "http://www.w3.org/2000/xmlns/"
)

// isXSD reports whether ns is an XML Schema namespace: the
// recommendation's, or one of the drafts' that old WSDLs name.
func isXSD(ns string) bool {
	return ns == "http://www.w3.org/2001/XMLSchema" || ns == "http://www.w3.org/2000/10/XMLSchema" || ns == "http://www.w3.org/1999/XMLSchema"
}

// reader walks the elements of a document with encoding/xml's RawToken
// (which checks the syntax: names, characters, UTF-8, quoting, entity
// references) and does itself what RawToken leaves out: end tags that
// match, one root element, namespace prefixes resolved (so that
// elements are matched by URI), attributes given once, and the limits.
// It keeps only the open elements: the WSDL reader (wsdl.go) and the
// envelope reader (envelope.go) take what they need as they pass.
type reader struct {
	doc  []byte // the document as given, for positions; nil for a stream
	what string // what it reads, for messages: "WSDL documents", "envelopes"
	base int64  // offset in doc of what the decoder reads (after a byte order mark)
	d    *xml.Decoder
	// stack holds the open elements, the root first; free, those that
	// closed, for the next to open (no event keeps an element after its
	// end).
	stack []*element
	free  []*element
	// ns maps each prefix in scope ("" for the default namespace) to
	// the URIs bound to it by the open elements, the innermost last.
	ns map[string][]string
	// declared lists the prefixes the open elements bind, in order.
	declared []string
	nodes    int
	rootDone bool
}

// element is an open element.
type element struct {
	raw   xml.Name // as written: Space is the prefix
	space string   // the namespace URI
	local string
	attrs []attr // its attributes but namespace declarations, resolved
	off   int64  // where its start tag starts in doc
	decls int    // len(reader.declared) before it
	kind  kind   // what it is to the WSDL reader
	name  string // its name attribute, for paths
}

type attr struct{ space, local, value string }

// attr returns the value of e's attribute local in no namespace, as
// WSDL's attributes are.
func (e *element) attr(local string) (string, bool) {
	for _, a := range e.attrs {
		if a.space == "" && a.local == local {
			return a.value, true
		}
	}
	return "", false
}

// is reports whether e is the element local of namespace space.
func (e *element) is(space, local string) bool { return e.space == space && e.local == local }

// qname returns e's name as written.
func (e *element) qname() string {
	if e.raw.Space == "" {
		return e.raw.Local
	}
	return e.raw.Space + ":" + e.raw.Local
}

// events receives what reader.run reads.
type events interface {
	start(e *element) error
	end(e *element) error
	text(t []byte) error
}

var (
	errEncoding = errors.New("unsupported encoding")
	errNotASCII = errors.New("a byte over 0x7F in a document declared US-ASCII")
)

func newReader(doc []byte) *reader {
	body := doc
	var base int64
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) { // a UTF-8 byte order mark
		body, base = body[3:], 3
	}
	r := newStreamReader(bytes.NewReader(body), "WSDL documents")
	r.doc, r.base = doc, base
	return r
}

// newStreamReader returns a reader of src, which starts after any byte
// order mark; errors place themselves by the decoder's position.
func newStreamReader(src io.Reader, what string) *reader {
	r := &reader{what: what, ns: map[string][]string{"xml": {nsXML}}}
	r.d = xml.NewDecoder(src)
	r.d.Strict = true
	r.d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if l := strings.ToLower(label); l == "us-ascii" || l == "ascii" {
			return &asciiReader{in}, nil
		}
		return nil, errEncoding
	}
	return r
}

// run reads the document to its end, passing elements and text to ev.
func (r *reader) run(ev events) error {
	if bytes.HasPrefix(r.doc, []byte{0xfe, 0xff}) || bytes.HasPrefix(r.doc, []byte{0xff, 0xfe}) {
		return &Error{Code: portico.EInvalid, Line: 1, Column: 1, Message: "the document is in UTF-16; Portico reads " + r.what + " in UTF-8: convert it"}
	}
	for {
		off := r.base + r.d.InputOffset()
		tok, err := r.d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r.syntaxError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := r.start(t, off, ev); err != nil {
				return err
			}
		case xml.EndElement:
			if err := r.end(t, off, ev); err != nil {
				return err
			}
		case xml.CharData:
			if len(r.stack) > 0 {
				if err := ev.text(t); err != nil {
					return err
				}
			} else if rest := bytes.TrimLeft(t, " \t\r\n"); len(rest) > 0 {
				return r.errorAt(off+int64(len(t)-len(rest)), "text outside the root element")
			}
		case xml.Directive:
			return r.errorAt(off, "the document has a document type declaration (<!DOCTYPE) or another markup declaration: "+
				"Portico refuses them all (no DTD, so no entity is ever defined or fetched)")
		}
	}
	if len(r.stack) > 0 {
		return r.errorAt(r.base+r.d.InputOffset(), "the document ends inside the element %s", r.stack[len(r.stack)-1].qname())
	}
	if !r.rootDone {
		return &Error{Code: portico.EInvalid, Message: "the document is empty: it has no root element"}
	}
	return nil
}

func (r *reader) start(t xml.StartElement, off int64, ev events) error {
	if r.rootDone {
		return r.errorAt(off, "a second root element, %s: a document has one", quote(qnameOf(t.Name)))
	}
	if len(r.stack) >= MaxDepth {
		return r.errorAt(off, "elements nest deeper than %d", MaxDepth)
	}
	if r.nodes += 1 + len(t.Attr); r.nodes > MaxNodes {
		return r.errorAt(off, "the document has more than %d elements and attributes", MaxNodes)
	}
	var e *element
	if n := len(r.free); n > 0 {
		e = r.free[n-1]
		r.free = r.free[:n-1]
		*e = element{raw: t.Name, off: off, decls: len(r.declared), attrs: e.attrs[:0]}
	} else {
		e = &element{raw: t.Name, off: off, decls: len(r.declared)}
	}
	r.stack = append(r.stack, e)
	// Namespace declarations first: they apply to the element's own
	// name and attributes.
	for _, a := range t.Attr {
		prefix, isDecl := "", false
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			isDecl = true
		case a.Name.Space == "xmlns":
			prefix, isDecl = a.Name.Local, true
		}
		if !isDecl {
			continue
		}
		switch {
		case prefix == "xmlns" || (prefix == "xml") != (a.Value == nsXML) || (prefix != "xml" && a.Value == nsXMLNS):
			return r.errorAt(off, "the namespace declaration %s=%s binds a reserved prefix or namespace", qnameOf(a.Name), quote(a.Value))
		case prefix != "" && a.Value == "":
			return r.errorAt(off, "the namespace declaration %s=\"\" is not allowed (Namespaces in XML 1.0 cannot undeclare a prefix)", qnameOf(a.Name))
		}
		r.ns[prefix] = append(r.ns[prefix], a.Value)
		r.declared = append(r.declared, prefix)
	}
	var ok bool
	if e.space, e.local, ok = r.resolve(t.Name, true); !ok {
		return r.errorAt(off, "the element %s has an undeclared namespace prefix or is not a qualified name", quote(qnameOf(t.Name)))
	}
	for _, a := range t.Attr {
		if (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == "xmlns" {
			continue
		}
		space, local, ok := r.resolve(a.Name, false)
		if !ok {
			return r.errorAt(off, "the attribute %s has an undeclared namespace prefix or is not a qualified name", quote(qnameOf(a.Name)))
		}
		e.attrs = append(e.attrs, attr{space, local, a.Value})
	}
	if err := checkUniqueAttrs(t.Attr, e.attrs); err != "" {
		return r.errorAt(off, "the attribute %s is given twice", quote(err))
	}
	e.name, _ = e.attr("name")
	return ev.start(e)
}

// checkUniqueAttrs returns the name of an attribute given twice, by
// name as written (xmlns declarations included) or by namespace and
// local name, or "".
func checkUniqueAttrs(raw []xml.Attr, attrs []attr) string {
	if len(raw) <= 8 {
		for i := range raw {
			for j := range i {
				if raw[i].Name == raw[j].Name {
					return qnameOf(raw[i].Name)
				}
			}
		}
		for i := range attrs {
			for j := range i {
				if attrs[i].space == attrs[j].space && attrs[i].local == attrs[j].local {
					return attrs[i].local
				}
			}
		}
		return ""
	}
	seen := make(map[xml.Name]bool, len(raw)+len(attrs))
	for _, a := range raw {
		if seen[a.Name] {
			return qnameOf(a.Name)
		}
		seen[a.Name] = true
	}
	clear(seen)
	for _, a := range attrs {
		n := xml.Name{Space: a.space, Local: a.local}
		if seen[n] {
			return a.local
		}
		seen[n] = true
	}
	return ""
}

func (r *reader) end(t xml.EndElement, off int64, ev events) error {
	if len(r.stack) == 0 {
		return r.errorAt(off, "the end tag </%s> closes no element", qnameOf(t.Name))
	}
	e := r.stack[len(r.stack)-1]
	if t.Name != e.raw {
		return r.errorAt(off, "the end tag </%s> does not match the start tag <%s>", qnameOf(t.Name), e.qname())
	}
	err := ev.end(e)
	for _, prefix := range r.declared[e.decls:] {
		uris := r.ns[prefix]
		r.ns[prefix] = uris[:len(uris)-1]
	}
	r.declared = r.declared[:e.decls]
	r.stack[len(r.stack)-1] = nil
	r.stack = r.stack[:len(r.stack)-1]
	r.free = append(r.free, e)
	r.rootDone = len(r.stack) == 0
	return err
}

// resolve returns the namespace URI and local part of a name as
// written: for an element, an unprefixed name is in the default
// namespace; for an attribute, in none.
func (r *reader) resolve(n xml.Name, isElement bool) (space, local string, ok bool) {
	if n.Local == "" || strings.Contains(n.Local, ":") {
		return "", "", false
	}
	if n.Space == "" && !isElement {
		return "", n.Local, true
	}
	uris := r.ns[n.Space]
	if len(uris) == 0 {
		return "", n.Local, n.Space == ""
	}
	return uris[len(uris)-1], n.Local, true
}

// resolveQName resolves a QName written in an attribute's value, such
// as "tns:CalcSoap", in the scope of the innermost open element: an
// unprefixed one is in the default namespace, as XML Schema reads them.
func (r *reader) resolveQName(v string) (space, local string, ok bool) {
	prefix, local, found := strings.Cut(v, ":")
	if !found {
		prefix, local = "", v
	}
	if local == "" || strings.Contains(local, ":") {
		return "", "", false
	}
	return r.resolve(xml.Name{Space: prefix, Local: local}, true)
}

// path renders the open elements as a path, each with its name
// attribute when it has one.
func (r *reader) path() string {
	var b strings.Builder
	for _, e := range r.stack {
		b.WriteByte('/')
		b.WriteString(truncate(e.qname(), 100))
		if e.name != "" {
			fmt.Fprintf(&b, "[@name=%s]", quote(truncate(e.name, 100)))
		}
	}
	return b.String()
}

// errorAt returns an EInvalid Error at byte offset off of the document,
// inside the open elements; in a stream, where the decoder is.
func (r *reader) errorAt(off int64, format string, args ...any) *Error {
	var line, col int
	if r.doc != nil {
		line, col = position(r.doc, off)
	} else {
		line, col = r.d.InputPos()
	}
	return &Error{Code: portico.EInvalid, Path: r.path(), Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// syntaxError turns the decoder's error into an Error where it stopped.
func (r *reader) syntaxError(err error) *Error {
	var msg string
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		msg = "the document is not well-formed XML: " + se.Msg
	case errors.Is(err, errEncoding):
		msg = "the document declares an encoding other than UTF-8; Portico reads " + r.what + " in UTF-8: convert it, and declare encoding=\"UTF-8\" or none"
	case errors.Is(err, errNotASCII):
		msg = "the document declares the encoding US-ASCII but holds a byte over 0x7F: declare UTF-8"
	default:
		msg = "the document is not well-formed XML: " + strings.TrimPrefix(err.Error(), "xml: ")
	}
	return r.errorAt(r.base+r.d.InputOffset(), "%s", truncate(msg, 500))
}

func qnameOf(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// asciiReader reads a document declared US-ASCII, which is UTF-8 if it
// holds no byte over 0x7F.
type asciiReader struct{ r io.Reader }

func (a *asciiReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	for _, c := range p[:n] {
		if c >= 0x80 {
			return 0, errNotASCII
		}
	}
	return n, err
}
