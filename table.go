package portico

import (
	"encoding/json"
	"hash/maphash"
	"iter"
	"math/bits"
)

// Table is an immutable map from string IDs to entities: a hash array
// mapped trie. With and Without return a new Table that shares all but the
// changed path with the old one, so a change costs O(log n) time and
// memory whatever the size of the table, and Diff walks only the paths two
// tables do not share. The zero Table is empty and ready to use.
//
// Tables hash with a per-process seed: never persist their layout or
// iteration order.
type Table[V any] struct {
	root *tnode[V]
	n    int
}

// A tnode is a leaf (kids == nil), holding up to leafMax entries whose
// hashes agree on every bit above the node's depth, or a branch, holding
// one child per 5-bit digit present in bitmap.
type tnode[V any] struct {
	bitmap  uint32
	kids    []*tnode[V]
	entries []tentry[V]
}

type tentry[V any] struct {
	hash uint64
	key  string
	val  *V
}

const (
	leafMax   = 8  // entries a leaf holds before it splits
	digitBits = 5  // hash bits consumed per level
	maxShift  = 60 // below this depth leaves no longer split (hash exhausted)
)

var tableSeed = maphash.MakeSeed()

func hashKey(key string) uint64 { return maphash.String(tableSeed, key) }

func digit(h uint64, shift uint) uint32 { return uint32(h>>shift) & (1<<digitBits - 1) }

// Len returns the number of entries.
func (t Table[V]) Len() int { return t.n }

// Get returns the value of key, or nil.
func (t Table[V]) Get(key string) *V { return t.root.get(0, hashKey(key), key) }

// With returns a Table in which key maps to v; a nil v removes key.
func (t Table[V]) With(key string, v *V) Table[V] {
	if v == nil {
		return t.Without(key)
	}
	root, added := t.root.with(0, hashKey(key), key, v)
	t.root = root
	if added {
		t.n++
	}
	return t
}

func (n *tnode[V]) with(shift uint, h uint64, key string, v *V) (*tnode[V], bool) {
	if n == nil {
		return &tnode[V]{entries: []tentry[V]{{h, key, v}}}, true
	}
	if n.kids == nil {
		for i := range n.entries {
			if e := &n.entries[i]; e.hash == h && e.key == key {
				c := &tnode[V]{entries: append([]tentry[V](nil), n.entries...)}
				c.entries[i].val = v
				return c, false
			}
		}
		entries := make([]tentry[V], len(n.entries), len(n.entries)+1)
		copy(entries, n.entries)
		entries = append(entries, tentry[V]{h, key, v})
		if len(entries) <= leafMax || shift >= maxShift {
			return &tnode[V]{entries: entries}, true
		}
		split, _ := build(entries, shift)
		return split, true
	}
	d := digit(h, shift)
	bit := uint32(1) << d
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	c := &tnode[V]{bitmap: n.bitmap | bit}
	if n.bitmap&bit == 0 {
		c.kids = make([]*tnode[V], len(n.kids)+1)
		copy(c.kids, n.kids[:i])
		c.kids[i] = &tnode[V]{entries: []tentry[V]{{h, key, v}}}
		copy(c.kids[i+1:], n.kids[i:])
		return c, true
	}
	kid, added := n.kids[i].with(shift+digitBits, h, key, v)
	c.kids = append([]*tnode[V](nil), n.kids...)
	c.kids[i] = kid
	return c, added
}

// Without returns a Table without key.
func (t Table[V]) Without(key string) Table[V] {
	root, removed := t.root.without(0, hashKey(key), key)
	if !removed {
		return t
	}
	t.root = root
	t.n--
	return t
}

func (n *tnode[V]) without(shift uint, h uint64, key string) (*tnode[V], bool) {
	if n == nil {
		return nil, false
	}
	if n.kids == nil {
		for i := range n.entries {
			if e := &n.entries[i]; e.hash == h && e.key == key {
				if len(n.entries) == 1 {
					return nil, true
				}
				entries := make([]tentry[V], 0, len(n.entries)-1)
				entries = append(entries, n.entries[:i]...)
				entries = append(entries, n.entries[i+1:]...)
				return &tnode[V]{entries: entries}, true
			}
		}
		return n, false
	}
	bit := uint32(1) << digit(h, shift)
	if n.bitmap&bit == 0 {
		return n, false
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	kid, removed := n.kids[i].without(shift+digitBits, h, key)
	if !removed {
		return n, false
	}
	if kid != nil {
		c := &tnode[V]{bitmap: n.bitmap, kids: append([]*tnode[V](nil), n.kids...)}
		c.kids[i] = kid
		return c, true
	}
	if len(n.kids) == 1 {
		return nil, true
	}
	c := &tnode[V]{bitmap: n.bitmap &^ bit, kids: make([]*tnode[V], 0, len(n.kids)-1)}
	c.kids = append(c.kids, n.kids[:i]...)
	c.kids = append(c.kids, n.kids[i+1:]...)
	return c, true
}

// All yields every entry once, in no particular order.
func (t Table[V]) All() iter.Seq2[string, *V] {
	return func(yield func(string, *V) bool) {
		t.root.each(func(e *tentry[V]) bool { return yield(e.key, e.val) })
	}
}

// Values yields every value once, in no particular order.
func (t Table[V]) Values() iter.Seq[*V] {
	return func(yield func(*V) bool) {
		t.root.each(func(e *tentry[V]) bool { return yield(e.val) })
	}
}

// Map returns the entries in a new Go map.
func (t Table[V]) Map() map[string]*V {
	m := make(map[string]*V, t.n)
	for k, v := range t.All() {
		m[k] = v
	}
	return m
}

// MarshalJSON encodes t as a JSON object, as a map would be.
func (t Table[V]) MarshalJSON() ([]byte, error) { return json.Marshal(t.Map()) }

// UnmarshalJSON decodes a JSON object into t, replacing its contents.
func (t *Table[V]) UnmarshalJSON(b []byte) error {
	var m map[string]*V
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*t = TableOf(m)
	return nil
}

// TableOf returns a Table holding the entries of m; nil values are left
// out. It builds the trie in one pass, much faster than a With per entry.
func TableOf[V any](m map[string]*V) Table[V] {
	entries := make([]tentry[V], 0, len(m))
	for k, v := range m {
		if v != nil {
			entries = append(entries, tentry[V]{hashKey(k), k, v})
		}
	}
	return tableOf(entries)
}

// TableFrom returns a Table mapping ids[i] to vals[i] (nil values left
// out); where an ID repeats, the last value wins. It saves building a map
// first, as TableOf needs, when the entries come as a list.
func TableFrom[V any](ids []string, vals []*V) Table[V] {
	entries := make([]tentry[V], 0, len(ids))
	for i, k := range ids {
		if vals[i] != nil {
			entries = append(entries, tentry[V]{hashKey(k), k, vals[i]})
		}
	}
	return tableOf(entries)
}

func tableOf[V any](entries []tentry[V]) Table[V] {
	if len(entries) == 0 {
		return Table[V]{}
	}
	root, n := build(entries, 0)
	return Table[V]{root: root, n: n}
}

// build returns the subtree at shift holding entries and the number of
// distinct keys in it; where a key repeats, the later entry wins. It may
// reorder entries (keeping the order of equal keys) and keeps no
// reference to the slice.
func build[V any](entries []tentry[V], shift uint) (*tnode[V], int) {
	if len(entries) <= leafMax || shift >= maxShift {
		leaf := make([]tentry[V], 0, len(entries))
	next:
		for _, e := range entries {
			for i := range leaf {
				if leaf[i].hash == e.hash && leaf[i].key == e.key {
					leaf[i] = e
					continue next
				}
			}
			leaf = append(leaf, e)
		}
		return &tnode[V]{entries: leaf}, len(leaf)
	}
	// Counting sort by this level's digit (stable), then one child per digit.
	var count [1 << digitBits]int
	for i := range entries {
		count[digit(entries[i].hash, shift)]++
	}
	var start [1<<digitBits + 1]int
	n := &tnode[V]{}
	for d, c := range count {
		start[d+1] = start[d] + c
		if c > 0 {
			n.bitmap |= 1 << d
		}
	}
	sorted := make([]tentry[V], len(entries))
	next := start
	for _, e := range entries {
		d := digit(e.hash, shift)
		sorted[next[d]] = e
		next[d]++
	}
	n.kids = make([]*tnode[V], 0, bits.OnesCount32(n.bitmap))
	total := 0
	for d, c := range count {
		if c > 0 {
			kid, k := build(sorted[start[d]:start[d+1]], shift+digitBits)
			n.kids = append(n.kids, kid)
			total += k
		}
	}
	return n, total
}

// Diff calls fn for every key whose value differs between old and t (by
// pointer): old is nil for an added key, cur nil for a removed one. Paths
// the two tables share are skipped, so after k changes the cost is about
// k·log n. It stops early when fn returns false and reports whether it ran
// to the end.
func (t Table[V]) Diff(old Table[V], fn func(key string, old, cur *V) bool) bool {
	return diff(old.root, t.root, 0, fn)
}

func diff[V any](a, b *tnode[V], shift uint, fn func(string, *V, *V) bool) bool {
	if a == b {
		return true
	}
	if a != nil && b != nil && a.kids != nil && b.kids != nil {
		for all := a.bitmap | b.bitmap; all != 0; all &= all - 1 {
			bit := all & -all
			if !diff(a.child(bit), b.child(bit), shift+digitBits, fn) {
				return false
			}
		}
		return true
	}
	// A leaf on either side: compare entry by entry.
	ok := a.each(func(e *tentry[V]) bool {
		if vb := b.get(shift, e.hash, e.key); vb != e.val {
			return fn(e.key, e.val, vb)
		}
		return true
	})
	return ok && b.each(func(e *tentry[V]) bool {
		if a.get(shift, e.hash, e.key) == nil {
			return fn(e.key, nil, e.val)
		}
		return true
	})
}

// each calls fn for every entry of the subtree n until fn returns false,
// and reports whether it ran to the end.
func (n *tnode[V]) each(fn func(*tentry[V]) bool) bool {
	if n == nil {
		return true
	}
	for i := range n.entries {
		if !fn(&n.entries[i]) {
			return false
		}
	}
	for _, k := range n.kids {
		if !k.each(fn) {
			return false
		}
	}
	return true
}

func (n *tnode[V]) child(bit uint32) *tnode[V] {
	if n.bitmap&bit == 0 {
		return nil
	}
	return n.kids[bits.OnesCount32(n.bitmap&(bit-1))]
}

// get looks key up in the subtree n at depth shift.
func (n *tnode[V]) get(shift uint, h uint64, key string) *V {
	for ; n != nil; shift += digitBits {
		if n.kids == nil {
			for i := range n.entries {
				if e := &n.entries[i]; e.hash == h && e.key == key {
					return e.val
				}
			}
			return nil
		}
		n = n.child(uint32(1) << digit(h, shift))
	}
	return nil
}
