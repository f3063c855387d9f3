package threat

import (
	"hash/maphash"
	"slices"
)

// nameHash hashes one name (a JSON key, an XML name) as it streams by,
// keyed by a seed drawn at random when the process starts, so a client
// cannot aim for collisions.
type nameHash struct {
	h maphash.Hash
}

var nameSeed = maphash.MakeSeed()

func (n *nameHash) reset() {
	n.h.SetSeed(nameSeed) // resets too
}

func (n *nameHash) write(p []byte)   { n.h.Write(p) }
func (n *nameHash) writeByte(c byte) { n.h.WriteByte(c) }

// sum returns the name's hash in scope serial: equal names of different
// scopes hash apart.
func (n *nameHash) sum(serial uint64) uint64 {
	return n.h.Sum64() ^ (serial * 0x9E3779B97F4A7C15) // odd: different serials stay different
}

// linearNames is how many names a scope holds before nameSet indexes it:
// below it a scan of the scope's hashes is cheaper than a map.
const linearNames = 16

// nameScope is one scope of a nameSet: an open JSON object, an XML
// start tag.
type nameScope struct {
	start   int  // index of the scope's first hash in nameSet.seen
	indexed bool // the scope's hashes are in nameSet.index too
}

// nameSet remembers the hashes of the names seen in the scopes open at
// once, innermost last, to refuse a name given twice in one scope. Its
// memory is at most 8 bytes a name, plus a map entry for each name of a
// scope past linearNames names.
type nameSet struct {
	seen  []uint64
	index map[uint64]struct{} // the hashes of indexed scopes; their serials keep scopes apart
}

func (s *nameSet) open() nameScope { return nameScope{start: len(s.seen)} }

// add records h in sc, the innermost scope, and reports false if sc
// holds it already.
func (s *nameSet) add(sc *nameScope, h uint64) bool {
	if !sc.indexed {
		names := s.seen[sc.start:]
		if slices.Contains(names, h) {
			return false
		}
		if len(names) < linearNames {
			s.seen = append(s.seen, h)
			return true
		}
		if s.index == nil {
			s.index = make(map[uint64]struct{})
		}
		for _, x := range names {
			s.index[x] = struct{}{}
		}
		sc.indexed = true
	}
	if _, dup := s.index[h]; dup {
		return false
	}
	s.index[h] = struct{}{}
	s.seen = append(s.seen, h)
	return true
}

// close forgets sc, the innermost scope.
func (s *nameSet) close(sc nameScope) {
	if sc.indexed {
		for _, x := range s.seen[sc.start:] {
			delete(s.index, x)
		}
	}
	s.seen = s.seen[:sc.start]
}
