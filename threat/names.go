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
// memory is 8 bytes a name, plus 16 more (an index slot at half load at
// most) for each name of a scope past linearNames names.
type nameSet struct {
	seen  []uint64
	index hashIndex // the hashes of indexed scopes; their serials keep scopes apart
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
		for _, x := range names {
			s.index.add(x)
		}
		sc.indexed = true
	}
	if !s.index.add(h) {
		return false
	}
	s.seen = append(s.seen, h)
	return true
}

// close forgets sc, the innermost scope.
func (s *nameSet) close(sc nameScope) {
	if sc.indexed {
		for _, x := range s.seen[sc.start:] {
			s.index.remove(x)
		}
	}
	s.seen = s.seen[:sc.start]
}

// hashIndex is a set of hashes, open addressing with linear probing:
// the hashes are keyed, so a client cannot make them cluster. It takes
// less memory than a map and does not grow more than twice its peak
// (TestJSONWorstKeysMemory).
type hashIndex struct {
	slots []uint64 // 0 is empty; a length of a power of 2
	n     int
}

// slotOf returns h as stored: 0 marks an empty slot.
func slotOf(h uint64) uint64 { return max(h, 1) }

// add adds h and reports whether it was not there.
func (x *hashIndex) add(h uint64) bool {
	h = slotOf(h)
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch x.slots[i] {
		case h:
			return false
		case 0:
			x.slots[i] = h
			x.n++
			return true
		}
	}
}

func (x *hashIndex) grow() {
	old := x.slots
	x.slots, x.n = make([]uint64, max(64, 2*len(old))), 0
	for _, h := range old {
		if h != 0 {
			x.add(h)
		}
	}
}

// remove removes h, shifting back the hashes after it that probed past
// its slot.
func (x *hashIndex) remove(h uint64) {
	h = slotOf(h)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != h {
		if x.slots[i] == 0 {
			return // not there
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		// The hash in j may move to i if its home slot does not lie
		// cyclically in (i, j].
		if home := x.slots[j] & mask; (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}
