package jsonxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/portico-gw/portico"
)

// xmlDoc is an XML document read by the mapping: a flat list of nodes
// (elements, attributes, text) of 28 bytes each, their names and text in
// one byte arena. Node 0 is the document element.
type xmlDoc struct {
	nodes []xnode
	arena []byte
}

// xnode is an element, an attribute or the text of an element read as an
// object.
type xnode struct {
	kind  nodeKind
	mode  kind   // an element: the JSON type it reads as
	key   span   // an element: its member name; an attribute: "@" and its name
	text  span   // an attribute: its value; text; an element read as a string or a literal: that
	first uint32 // an element read as an object or array: its first child (attributes, text, elements in order); 0 for none
	next  uint32 // the next child of the same element; 0 for none
}

type nodeKind uint8

const (
	nodeElement nodeKind = iota
	nodeAttr
	nodeText
)

// span is a piece of the arena.
type span struct{ off, n uint32 }

func (d *xmlDoc) bytes(s span) []byte { return d.arena[s.off : s.off+s.n] }

// keep copies b into the arena.
func (d *xmlDoc) keep(b []byte) span {
	s := span{uint32(len(d.arena)), uint32(len(b))}
	d.arena = append(d.arena, b...)
	return s
}

func (d *xmlDoc) keepString(parts ...string) span {
	s := span{off: uint32(len(d.arena))}
	for _, p := range parts {
		d.arena = append(d.arena, p...)
	}
	s.n = uint32(len(d.arena)) - s.off
	return s
}

// xmlReader reads an XML document into an xmlDoc by the mapping of doc.go.
// It takes encoding/xml's raw tokens (names as written, prefixes not
// resolved), resolves prefixes itself and checks what encoding/xml leaves
// to it: end tags that match, namespace well-formedness, unique
// attributes, no DTD.
type xmlReader struct {
	xmlDoc
	d        *xml.Decoder
	maxDepth int
	stack    []frame  // the open elements
	scope    nsScope  // the declarations of the open elements
	written  nameSet  // one element's attribute names as written (prefix, local)
	seen     nameSet  // one element's attribute expanded names
	chunk    []byte   // the text since the last tag
	kept     [][]byte // buffers for the frames' text, by depth
	done     bool
}

// frame is an open element.
type frame struct {
	node     uint32 // its node
	last     uint32 // its last child node, 0 for none
	name     xml.Name
	scope    int    // r.scope's mark before its declarations
	typ      string // the type marker's value, "" for none
	attrs    bool   // it has attributes that are members
	children bool   // it holds an element
	text     uint32 // its text node, 0 while none
	kept     []byte // its text other than white space, so far
}

func parseXML(in []byte, maxDepth int) (*xmlDoc, error) {
	r := new(xmlReader)
	if err := r.parse(in, maxDepth); err != nil {
		return nil, err
	}
	return &r.xmlDoc, nil
}

// xmlReaders keep readers, with the memory of their nodes and arena, for
// the next conversion (unless a large document grew them).
var xmlReaders = sync.Pool{New: func() any { return new(xmlReader) }}

func (r *xmlReader) release() {
	if cap(r.nodes) > maxPoolSize/28 || cap(r.arena) > maxPoolSize || len(r.kept) > 64 {
		return
	}
	r.nodes, r.arena, r.d = r.nodes[:0], r.arena[:0], nil
	clear(r.stack)
	r.stack, r.chunk, r.done = r.stack[:0], r.chunk[:0], false
	r.scope.pop(0)
	xmlReaders.Put(r)
}

// parse reads document in into r.xmlDoc.
func (r *xmlReader) parse(in []byte, maxDepth int) error {
	in = bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF")) // a UTF-8 byte order mark
	r.d, r.maxDepth = xml.NewDecoder(bytes.NewReader(in)), maxDepth
	r.d.CharsetReader = refuseCharset
	for first := true; ; first = false {
		tok, err := r.d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return portico.Errorf(portico.EInvalid, "malformed XML on line %d: %s", se.Line, se.Msg)
			}
			return portico.Errorf(portico.EInvalid, "malformed XML: %s", strings.TrimPrefix(err.Error(), "xml: "))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = r.start(t)
		case xml.EndElement:
			err = r.end(t)
		case xml.CharData:
			err = r.charData(t)
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml") && !first {
				err = r.errorf("the XML declaration <?xml …?> must start the document")
			}
		case xml.Directive:
			err = r.errorf("document type declarations (<!DOCTYPE …>) and other <!…> declarations are refused: no DTD, no entity but &lt; &gt; &amp; &apos; &quot;")
		case xml.Comment: // dropped
		}
		if err != nil {
			return err
		}
	}
	if len(r.stack) > 0 {
		return r.errorf("unexpected end: element <%s> is not closed", rawName(r.stack[len(r.stack)-1].name))
	}
	if !r.done {
		return r.errorf("no document element")
	}
	return nil
}

func refuseCharset(string, io.Reader) (io.Reader, error) {
	return nil, errors.New("only UTF-8 is converted")
}

func (r *xmlReader) errorf(format string, args ...any) error {
	line, _ := r.d.InputPos()
	return portico.Errorf(portico.EInvalid, "malformed XML on line %d: %s", line, fmt.Sprintf(format, args...))
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func isDeclaration(a *xml.Attr) bool {
	return a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns"
}

// add appends node n as the next child of open element f.
func (r *xmlReader) add(f *frame, n xnode) uint32 {
	i := uint32(len(r.nodes))
	r.nodes = append(r.nodes, n)
	if f.last == 0 {
		r.nodes[f.node].first = i
	} else {
		r.nodes[f.last].next = i
	}
	f.last = i
	return i
}

func (r *xmlReader) start(t xml.StartElement) error {
	if r.done {
		return r.errorf("a second document element <%s>", rawName(t.Name))
	}
	if len(r.stack) >= r.maxDepth {
		return r.errorf("elements nested deeper than %d", r.maxDepth)
	}
	if strings.Contains(t.Name.Local, ":") {
		return r.errorf("element name %q has an empty prefix or local part", rawName(t.Name))
	}
	f := frame{name: t.Name, scope: r.scope.mark()}
	if len(r.stack) > 0 {
		parent := &r.stack[len(r.stack)-1]
		switch parent.typ {
		case typeNumber, typeBoolean, typeNull:
			return r.errorf("element <%s>, marked %s, holds an element", rawName(parent.name), parent.typ)
		}
		if err := r.endChunk(parent); err != nil {
			return err
		}
		parent.children = true
		// The member name: the prefix as written, the local name unescaped.
		n := xnode{kind: nodeElement, key: span{off: uint32(len(r.arena))}}
		if t.Name.Space != "" {
			r.arena = append(r.arena, t.Name.Space...)
			r.arena = append(r.arena, ':')
		}
		r.arena = appendDecodedName(r.arena, t.Name.Local)
		n.key.n = uint32(len(r.arena)) - n.key.off
		f.node = r.add(parent, n)
	} else {
		r.nodes = append(r.nodes, xnode{kind: nodeElement})
	}
	if err := r.attributes(t, &f); err != nil {
		return err
	}
	if len(r.stack) < len(r.kept) {
		f.kept = r.kept[len(r.stack)][:0]
	}
	r.stack = append(r.stack, f)
	return nil
}

// attributes checks the attributes of the element t opens, puts its
// namespace declarations in scope, finds its type marker and adds the
// attributes that are members.
func (r *xmlReader) attributes(t xml.StartElement, f *frame) error {
	for i := range t.Attr {
		a := &t.Attr[i]
		if strings.Contains(a.Name.Local, ":") {
			return r.errorf("attribute name %q has an empty prefix or local part", rawName(a.Name))
		}
		if isDeclaration(a) {
			prefix := ""
			if a.Name.Space == "xmlns" {
				prefix = a.Name.Local
			}
			if err := r.checkDeclaration(prefix, a.Value); err != nil {
				return err
			}
			r.scope.push(prefix, a.Value)
		}
	}
	if t.Name.Space != "" {
		uri, err := r.resolve(t.Name.Space, rawName(t.Name))
		if err != nil {
			return err
		}
		if uri == Namespace {
			return r.errorf("element <%s> is in the type marker namespace %s", rawName(t.Name), Namespace)
		}
	}
	// No attribute twice, by its name as written or by its expanded name;
	// the type marker.
	r.written.reset()
	r.seen.reset()
	for i := range t.Attr {
		a := &t.Attr[i]
		if r.written.add(expandedName{a.Name.Space, a.Name.Local}) {
			return r.errorf("attribute %s twice in element <%s>", rawName(a.Name), rawName(t.Name))
		}
	}
	for i := range t.Attr {
		a := &t.Attr[i]
		if isDeclaration(a) || a.Name.Space == "" {
			continue
		}
		uri, err := r.resolve(a.Name.Space, rawName(a.Name))
		if err != nil {
			return err
		}
		if r.seen.add(expandedName{uri, a.Name.Local}) {
			return r.errorf("attribute %s of element <%s> has the expanded name of another", rawName(a.Name), rawName(t.Name))
		}
		if uri == Namespace {
			if a.Name.Local != "type" {
				return r.errorf("unknown attribute %s in the type marker namespace", rawName(a.Name))
			}
			switch a.Value {
			case typeNumber, typeBoolean, typeNull, typeObject, typeArray:
			default:
				return r.errorf("unknown type marker %s=%q", rawName(a.Name), a.Value)
			}
			f.typ = a.Value
		}
	}
	// The members: all attributes but the markers and the declarations of
	// the marker namespace. An element marked with a type other than
	// object has none (its namespace declarations are dropped).
	for i := range t.Attr {
		a := &t.Attr[i]
		decl := isDeclaration(a)
		if decl && a.Value == Namespace {
			continue
		}
		if !decl && a.Name.Space != "" {
			if uri, _ := r.scope.lookup(a.Name.Space); uri == Namespace {
				continue
			}
		}
		if f.typ != "" && f.typ != typeObject {
			if decl {
				continue
			}
			return r.errorf("element <%s>, marked %s, has attribute %s", rawName(t.Name), f.typ, rawName(a.Name))
		}
		n := xnode{kind: nodeAttr, key: r.keepString("@", rawName(a.Name)), text: r.keepString(a.Value)}
		r.add(f, n)
		f.attrs = true
	}
	return nil
}

// checkDeclaration checks a namespace declaration (Namespaces in XML 1.0,
// sections 3 and 4): xml is bound to its namespace only, xmlns never, no
// other prefix to either of theirs, a prefix never to "" (XML 1.0 cannot
// undeclare one); the default namespace never to Namespace, which would
// put elements in it.
func (r *xmlReader) checkDeclaration(prefix, uri string) error {
	switch {
	case prefix == "xmlns":
		return r.errorf("the prefix xmlns cannot be declared")
	case prefix == "xml" && uri != xmlNamespace:
		return r.errorf("the prefix xml cannot be bound to %q", uri)
	case prefix != "xml" && (uri == xmlNamespace || uri == xmlnsNamespace):
		return r.errorf("the namespace %s cannot be bound to another prefix", uri)
	case prefix != "" && uri == "":
		return r.errorf("the prefix %s cannot be undeclared in XML 1.0", prefix)
	case prefix == "" && uri == Namespace:
		return r.errorf("the type marker namespace %s cannot be the default namespace", Namespace)
	}
	return nil
}

func (r *xmlReader) resolve(prefix, name string) (string, error) {
	if prefix == "xmlns" {
		return "", r.errorf("%s: the prefix xmlns is for declarations only", name)
	}
	uri, ok := r.scope.lookup(prefix)
	if !ok {
		return "", r.errorf("%s: prefix %s is not declared", name, prefix)
	}
	return uri, nil
}

func (r *xmlReader) charData(t xml.CharData) error {
	if len(r.stack) == 0 {
		if !isSpace([]byte(t)) {
			return r.errorf("text outside the document element")
		}
		return nil
	}
	r.chunk = append(r.chunk, t...)
	return nil
}

// endChunk ends the text of element f before one of its tags: text with a
// character other than white space joins its "$" member.
func (r *xmlReader) endChunk(f *frame) error {
	chunk := r.chunk
	r.chunk = r.chunk[:0]
	if isSpace(chunk) {
		return nil
	}
	if f.typ == typeArray {
		return r.errorf("element <%s>, marked array, holds text", rawName(f.name))
	}
	if f.text == 0 {
		f.text = r.add(f, xnode{kind: nodeText})
	}
	f.kept = append(f.kept, chunk...)
	return nil
}

func (r *xmlReader) end(t xml.EndElement) error {
	if len(r.stack) == 0 {
		return r.errorf("end tag </%s> without a start", rawName(t.Name))
	}
	f := &r.stack[len(r.stack)-1]
	if t.Name != f.name {
		return r.errorf("end tag </%s> does not match <%s>", rawName(t.Name), rawName(f.name))
	}
	n := &r.nodes[f.node]
	switch f.typ {
	case "", typeObject:
		if f.typ == "" && !f.attrs && !f.children {
			n.mode, n.text = kindString, r.keep(r.chunk)
			break
		}
		if err := r.endChunk(f); err != nil {
			return err
		}
		n = &r.nodes[f.node] // endChunk may have grown r.nodes
		n.mode = kindObject
		if f.text != 0 {
			r.nodes[f.text].text = r.keep(f.kept)
		}
	case typeArray:
		if err := r.endChunk(f); err != nil {
			return err
		}
		r.nodes[f.node].mode = kindArray
	default:
		s := bytes.Trim(r.chunk, " \t\r\n")
		switch {
		case f.typ == typeNumber && validNumber(s):
			n.mode = kindNumber
		case f.typ == typeBoolean && string(s) == "true":
			n.mode = kindTrue
		case f.typ == typeBoolean && string(s) == "false":
			n.mode = kindFalse
		case f.typ == typeNull && len(s) == 0:
			n.mode = kindNull
		default:
			return r.errorf("element <%s>, marked %s, holds %.40q", rawName(f.name), f.typ, s)
		}
		n.text = r.keep(s)
	}
	r.chunk = r.chunk[:0]
	r.scope.pop(f.scope)
	depth := len(r.stack) - 1
	for len(r.kept) <= depth {
		r.kept = append(r.kept, nil)
	}
	r.kept[depth] = f.kept[:0]
	r.stack = r.stack[:depth]
	r.done = depth == 0
	return nil
}
