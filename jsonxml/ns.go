package jsonxml

// The namespaces XML reserves (Namespaces in XML 1.0, section 3).
const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// nsScope holds the namespace declarations in scope while a document is
// read or written. A lookup costs a map access however many declarations
// the open elements hold (a scan of them would let a document of many
// declarations and many prefixed names cost quadratic time).
type nsScope struct {
	bound map[string][]string // prefix ("" for the default namespace) → namespace names, innermost last
	order []string            // the prefixes in the order declared, to undo them
}

// mark returns the point to pop back to when the element now opening ends.
func (s *nsScope) mark() int { return len(s.order) }

// push binds prefix to uri until the current element ends.
func (s *nsScope) push(prefix, uri string) {
	if s.bound == nil {
		s.bound = make(map[string][]string)
	}
	s.bound[prefix] = append(s.bound[prefix], uri)
	s.order = append(s.order, prefix)
}

// pop undoes the declarations made since mark.
func (s *nsScope) pop(mark int) {
	for i := len(s.order) - 1; i >= mark; i-- {
		p := s.order[i]
		uris := s.bound[p]
		if len(uris) == 1 {
			delete(s.bound, p)
		} else {
			s.bound[p] = uris[:len(uris)-1]
		}
	}
	s.order = s.order[:mark]
}

// lookup returns the namespace name prefix is bound to; xml is always
// bound.
func (s *nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNamespace, true
	}
	uris := s.bound[prefix]
	if len(uris) == 0 {
		return "", false
	}
	return uris[len(uris)-1], true
}

// expandedName is an attribute's namespace name ("" for none) and local
// name: two attributes of one element may not share it.
type expandedName struct{ space, local string }

// nameSet tells whether a name was seen among one element's attributes:
// by a scan while there are few, by a map beyond.
type nameSet struct {
	list []expandedName
	set  map[expandedName]struct{}
}

// add adds n and reports whether it was there already.
func (s *nameSet) add(n expandedName) bool {
	if s.set != nil {
		if _, ok := s.set[n]; ok {
			return true
		}
		s.set[n] = struct{}{}
		return false
	}
	for _, m := range s.list {
		if m == n {
			return true
		}
	}
	s.list = append(s.list, n)
	if len(s.list) > 16 {
		s.set = make(map[expandedName]struct{}, 2*len(s.list))
		for _, m := range s.list {
			s.set[m] = struct{}{}
		}
	}
	return false
}

// reset empties s for the next element, keeping its memory.
func (s *nameSet) reset() {
	clear(s.list)
	s.list = s.list[:0]
	s.set = nil
}
