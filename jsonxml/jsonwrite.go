package jsonxml

import "bytes"

// jsonWriter writes an xmlDoc as JSON by the mapping of doc.go.
type jsonWriter struct {
	out
	d    *xmlDoc
	kids [][]uint32 // the children of the objects being written, by depth
}

func writeJSON(o out, d *xmlDoc) error {
	w := jsonWriter{out: o, d: d}
	w.value(0, 0)
	return w.close()
}

// value writes node i, inside depth open objects and arrays.
func (w *jsonWriter) value(i uint32, depth int) {
	n := &w.d.nodes[i]
	if n.kind != nodeElement {
		w.b = appendJSONString(w.b, w.d.bytes(n.text))
		return
	}
	switch n.mode {
	case kindString:
		w.b = appendJSONString(w.b, w.d.bytes(n.text))
	case kindNumber, kindTrue, kindFalse:
		w.b = append(w.b, w.d.bytes(n.text)...)
	case kindNull:
		w.b = append(w.b, "null"...)
	case kindArray:
		w.b = append(w.b, '[')
		for c := n.first; c != 0; c = w.d.nodes[c].next {
			if c != n.first {
				w.b = append(w.b, ',')
			}
			w.value(c, depth+1)
		}
		w.b = append(w.b, ']')
	case kindObject:
		w.object(i, depth)
	}
	w.flushIfFull()
}

// key returns the member name of child node i.
func (w *jsonWriter) key(i uint32) []byte {
	n := &w.d.nodes[i]
	if n.kind == nodeText {
		return []byte(textKey)
	}
	return w.d.bytes(n.key)
}

// object writes element i as an object: its children in order, those of
// one member name gathered into an array at the place of the first.
func (w *jsonWriter) object(i uint32, depth int) {
	for len(w.kids) <= depth {
		w.kids = append(w.kids, nil)
	}
	kids := w.kids[depth][:0]
	for c := w.d.nodes[i].first; c != 0; c = w.d.nodes[c].next {
		kids = append(kids, c)
	}
	w.kids[depth] = kids
	g := w.group(kids)
	w.b = append(w.b, '{')
	comma := false
	for j, c := range kids {
		if g.next != nil && g.later[j] {
			continue // written with the first of its name
		}
		if comma {
			w.b = append(w.b, ',')
		}
		comma = true
		w.b = appendJSONString(w.b, w.key(c))
		w.b = append(w.b, ':')
		if g.next == nil || g.next[j] < 0 {
			w.value(c, depth+1)
			continue
		}
		w.b = append(w.b, '[')
		for k := int32(j); k >= 0; k = g.next[k] {
			if k != int32(j) {
				w.b = append(w.b, ',')
			}
			w.value(kids[k], depth+2)
		}
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, '}')
}

// groups links the children of an object that share a member name.
type groups struct {
	next  []int32 // the index of the next child of the same name, -1 for none; nil when no name is used twice
	later []bool  // not the first child of its name
}

// group finds the children of kids that share a name: by comparing each
// with those before it while there are few, by a map beyond (so many
// children cost linear time).
func (w *jsonWriter) group(kids []uint32) groups {
	var g groups
	link := func(k, j int) {
		if g.next == nil {
			g.next = make([]int32, len(kids))
			g.later = make([]bool, len(kids))
			for i := range g.next {
				g.next[i] = -1
			}
		}
		g.next[k], g.later[j] = int32(j), true
	}
	if len(kids) <= 16 {
		for j := 1; j < len(kids); j++ {
			for k := j - 1; k >= 0; k-- {
				if bytes.Equal(w.key(kids[j]), w.key(kids[k])) {
					link(k, j) // k is the one before j of its name
					break
				}
			}
		}
		return g
	}
	last := make(map[string]int, len(kids)) // the last child of a name so far
	for j, c := range kids {
		if k, ok := last[string(w.key(c))]; ok {
			link(k, j)
		}
		last[string(w.key(c))] = j
	}
	return g
}

const lowerHex = "0123456789abcdef"

// appendJSONString appends s, valid UTF-8, as a JSON string, escaped as
// JavaScript's JSON.stringify escapes.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[last:i]...)
		last = i + 1
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
		}
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}
