package jsonxml

import (
	"strconv"
	"strings"
)

// xmlWriter writes a jsonDoc as XML by the mapping of doc.go.
type xmlWriter struct {
	out
	d       *jsonDoc
	marker  string  // the prefix bound to Namespace; "" when no marker is written
	scope   nsScope // the declarations of the open elements
	attr    []bool  // for the members of the open objects: written as an attribute
	seen    nameSet // the expanded names of one element's attributes
	name    []byte  // an element name being escaped
	scratch []byte  // a string being decoded
}

// writeXML writes d as an XML document whose document element is named
// root.
func writeXML(o out, d *jsonDoc, root string) error {
	a := analysis{d: d}
	a.name(root)
	a.walk(0, false)
	w := xmlWriter{out: o, d: d}
	if a.markers {
		w.marker = a.freePrefix()
	}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`...)
	w.element(root, 0, true)
	return w.close()
}

// analysis is a pass over the document before writing: whether any
// element needs a type marker, and which prefixes the document's names
// use (the marker's prefix must be none of them, so no declaration of the
// document hides it and no name of the document falls in its namespace).
type analysis struct {
	d        *jsonDoc
	markers  bool
	prefixes map[string]struct{}
}

// walk looks at value i, a member's value when member.
func (a *analysis) walk(i uint32, member bool) {
	t := &a.d.toks[i]
	switch t.kind {
	case kindString:
	case kindObject:
		if a.d.needsObjectMarker(i) {
			a.markers = true
		}
		for k := i + 1; k < t.end; k = a.d.next(k + 1) {
			a.name(a.d.str(k))
			a.walk(k+1, true)
		}
	case kindArray:
		// A member's array of two or more items is written as repeated
		// elements; any other array as one element with the marker.
		if !member || t.n < 2 {
			a.markers = true
		}
		for k := i + 1; k < t.end; k = a.d.next(k) {
			a.walk(k, false)
		}
	default:
		a.markers = true
	}
}

// name notes the prefixes key could be written with.
func (a *analysis) name(key string) {
	key = strings.TrimPrefix(key, "@")
	prefix, rest, ok := strings.Cut(key, ":")
	if !ok {
		return
	}
	if a.prefixes == nil {
		a.prefixes = make(map[string]struct{})
	}
	a.prefixes[prefix] = struct{}{}
	if prefix == "xmlns" {
		a.prefixes[rest] = struct{}{}
	}
}

// freePrefix returns "j", or "j1", "j2", … when the document uses it.
func (a *analysis) freePrefix() string {
	p := "j"
	for i := 1; ; i++ {
		if _, used := a.prefixes[p]; !used {
			return p
		}
		p = "j" + strconv.Itoa(i)
	}
}

// isText reports whether the member named by token k (its value at k+1)
// is written as its element's text: a "$" member whose value is a string
// with a character other than white space.
func (d *jsonDoc) isText(k uint32) bool {
	v := &d.toks[k+1]
	if v.kind != kindString || d.str(k) != textKey {
		return false
	}
	if !v.esc {
		return !isSpace(d.raw(k + 1))
	}
	return !isSpace(decodeString(nil, d.raw(k+1)))
}

// needsObjectMarker reports whether object i is written with the type
// marker: without it an element with no attribute and no child element
// reads as a string.
func (d *jsonDoc) needsObjectMarker(i uint32) bool {
	t := &d.toks[i]
	return t.n == 0 || t.n == 1 && d.isText(i+1)
}

// element writes value i as one element named by key.
func (w *xmlWriter) element(key string, i uint32, root bool) {
	t := &w.d.toks[i]
	scopeMark, attrBase := w.scope.mark(), len(w.attr)
	var mark string
	var empty bool
	switch t.kind {
	case kindString:
		empty = t.start == t.end
	case kindObject:
		if w.d.needsObjectMarker(i) {
			mark = typeObject
		}
		empty = w.attributes(i)
	case kindArray:
		mark, empty = typeArray, t.n == 0
	case kindNull:
		mark, empty = typeNull, true
	default:
		mark = t.kind.typeName()
	}
	name := w.elementName(key)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	if t.kind == kindObject {
		m := 0
		for k := i + 1; k < t.end; k = w.d.next(k + 1) {
			if w.attr[attrBase+m] {
				w.b = append(w.b, ' ')
				w.b = append(w.b, w.d.str(k)[1:]...)
				w.b = append(w.b, '=', '"')
				w.text(k+1, true)
				w.b = append(w.b, '"')
			}
			m++
		}
	}
	if root && w.marker != "" {
		w.b = append(w.b, " xmlns:"...)
		w.b = append(w.b, w.marker...)
		w.b = append(w.b, `="`+Namespace+`"`...)
	}
	if mark != "" {
		w.b = append(w.b, ' ')
		w.b = append(w.b, w.marker...)
		w.b = append(w.b, `:type="`...)
		w.b = append(w.b, mark...)
		w.b = append(w.b, '"')
	}
	if empty {
		w.b = append(w.b, '/', '>')
	} else {
		w.b = append(w.b, '>')
		w.content(i, attrBase)
		w.b = append(w.b, '<', '/')
		w.b = append(w.b, name...)
		w.b = append(w.b, '>')
	}
	w.scope.pop(scopeMark)
	w.attr = w.attr[:attrBase]
	w.flushIfFull()
}

// text writes string i as character data or as an attribute value.
func (w *xmlWriter) text(i uint32, attr bool) {
	if !w.d.toks[i].esc {
		w.b = appendEscaped(w.b, w.d.raw(i), attr)
		return
	}
	w.scratch = decodeString(w.scratch[:0], w.d.raw(i))
	w.b = appendEscaped(w.b, w.scratch, attr)
}

func (w *xmlWriter) content(i uint32, attrBase int) {
	t := &w.d.toks[i]
	switch t.kind {
	case kindString:
		w.text(i, false)
	case kindNumber, kindTrue, kindFalse:
		w.b = append(w.b, w.d.raw(i)...)
	case kindArray:
		for k := i + 1; k < t.end; k = w.d.next(k) {
			w.element(itemName, k, false)
		}
	case kindObject:
		m := 0
		for k := i + 1; k < t.end; k = w.d.next(k + 1) {
			v := &w.d.toks[k+1]
			switch {
			case w.attr[attrBase+m]:
			case w.d.isText(k):
				w.text(k+1, false)
			case v.kind == kindArray && v.n >= 2:
				key := w.d.str(k)
				for j := k + 2; j < v.end; j = w.d.next(j) {
					w.element(key, j, false)
				}
			default:
				w.element(w.d.str(k), k+1, false)
			}
			m++
		}
	}
}

// attributes decides which members of object i are written as attributes
// of its element, in w.attr, and puts the namespace declarations among
// them in scope. It reports whether nothing else is left to write, so the
// element is empty.
func (w *xmlWriter) attributes(i uint32) (empty bool) {
	t := &w.d.toks[i]
	base := len(w.attr)
	for range t.n {
		w.attr = append(w.attr, false)
	}
	m := base
	for k := i + 1; k < t.end; k = w.d.next(k + 1) {
		if w.d.toks[k+1].kind == kindString {
			if key := w.d.str(k); strings.HasPrefix(key, "@xmlns") {
				uri := w.d.str(k + 1)
				if prefix, ok := declaration(key[1:], uri); ok {
					w.attr[m] = true
					w.scope.push(prefix, uri)
				}
			}
		}
		m++
	}
	w.seen.reset()
	empty, m = true, base
	for k := i + 1; k < t.end; k = w.d.next(k + 1) {
		if !w.attr[m] {
			key := w.d.str(k)
			if w.d.toks[k+1].kind == kindString && len(key) > 1 && key[0] == '@' {
				if uri, local, ok := w.attributeName(key[1:]); ok && !w.seen.add(expandedName{uri, local}) {
					w.attr[m] = true
				}
			}
			if !w.attr[m] {
				empty = false
			}
		}
		m++
	}
	return empty
}

// declaration reports whether attribute name with value uri is a
// namespace declaration XML allows and returns the prefix it declares
// ("" for the default namespace). Namespace itself is never declared by
// the document: the writer declares it for the markers.
func declaration(name, uri string) (prefix string, ok bool) {
	if name == "xmlns" {
		return "", uri != xmlNamespace && uri != xmlnsNamespace && uri != Namespace
	}
	prefix, found := strings.CutPrefix(name, "xmlns:")
	if !found || !isNCName(prefix) || prefix == "xmlns" {
		return "", false
	}
	if prefix == "xml" {
		return prefix, uri == xmlNamespace
	}
	return prefix, uri != "" && uri != xmlNamespace && uri != xmlnsNamespace && uri != Namespace
}

// attributeName returns the expanded name of an attribute named name, when
// it may be written as one in the current scope: an NCName (other than
// xmlns), or prefix:local with a declared prefix.
func (w *xmlWriter) attributeName(name string) (uri, local string, ok bool) {
	if isNCName(name) {
		return "", name, name != "xmlns"
	}
	prefix, local, found := strings.Cut(name, ":")
	if !found || prefix == "xmlns" || !isNCName(prefix) || !isNCName(local) {
		return "", "", false
	}
	uri, ok = w.scope.lookup(prefix)
	return uri, local, ok
}

// elementName returns the name of the element for member key: the key
// itself when it is an XML name whose prefix (if any) is declared,
// otherwise the key escaped (name.go).
func (w *xmlWriter) elementName(key string) string {
	if plainName(key) {
		return key
	}
	w.name = w.name[:0]
	if prefix, local, ok := strings.Cut(key, ":"); ok && prefix != "xmlns" && isNCName(prefix) {
		if _, bound := w.scope.lookup(prefix); bound {
			w.name = append(w.name, prefix...)
			w.name = append(w.name, ':')
			w.name = appendNCName(w.name, local)
		}
	}
	if len(w.name) == 0 {
		w.name = appendNCName(w.name, key)
	}
	if string(w.name) == key {
		return key
	}
	return string(w.name)
}

// plainName reports whether s is an NCName of ASCII characters with
// nothing that reads as an escape: the common case, written as it is.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case c == '_':
			if i+1 < len(s) && s[i+1] == 'x' {
				return false
			}
		case '0' <= c && c <= '9' || c == '-' || c == '.':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// appendEscaped appends s as character data, or as an attribute value
// in double quotes: '&', '<', '>' as references, CR (which a parser would
// turn into LF) as &#xD;, and in an attribute also '"', tab and LF (which
// a parser would turn into spaces).
func appendEscaped[T string | []byte](b []byte, s T, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '"':
			if attr {
				esc = "&quot;"
			}
		case '\t':
			if attr {
				esc = "&#x9;"
			}
		case '\n':
			if attr {
				esc = "&#xA;"
			}
		}
		if esc != "" {
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			last = i + 1
		}
	}
	return append(b, s[last:]...)
}
