package sqlitestore

import (
	"bytes"
	"hash/maphash"
)

// names interns the group values of a query: each distinct value gets an
// index, in order of first sight. The values live in one growing arena
// and an open-addressing table of indexes finds them, so that a query over
// many groups (100,000 applications) allocates no string per value, as a
// map[string]int would (BenchmarkAnalyticsQueryManyGroups). Its zero value
// is empty.
type names struct {
	seed  maphash.Seed
	arena []byte
	ends  []int   // value i is arena[ends[i-1]:ends[i]] (ends[-1] = 0)
	table []int32 // 1 + index of a value, 0 for an empty slot; a power of 2 long
}

// len returns the number of values.
func (n *names) len() int { return len(n.ends) }

// value returns value i. It stays valid until the next index.
func (n *names) value(i int) []byte {
	start := 0
	if i > 0 {
		start = n.ends[i-1]
	}
	return n.arena[start:n.ends[i]]
}

// index returns the index of v, adding a copy of v if it is new.
func (n *names) index(v []byte) int {
	if 2*(len(n.ends)+1) > len(n.table) {
		n.grow()
	}
	mask := len(n.table) - 1
	for slot := int(maphash.Bytes(n.seed, v)) & mask; ; slot = (slot + 1) & mask {
		i := int(n.table[slot]) - 1
		if i < 0 {
			n.arena = append(n.arena, v...)
			n.ends = append(n.ends, len(n.arena))
			n.table[slot] = int32(len(n.ends))
			return len(n.ends) - 1
		}
		if bytes.Equal(n.value(i), v) {
			return i
		}
	}
}

// grow doubles the table (starting at 64 slots) and places every value
// again.
func (n *names) grow() {
	if n.table == nil {
		n.seed = maphash.MakeSeed()
	}
	n.table = make([]int32, max(64, 2*len(n.table)))
	mask := len(n.table) - 1
	for i := range n.ends {
		slot := int(maphash.Bytes(n.seed, n.value(i))) & mask
		for n.table[slot] != 0 {
			slot = (slot + 1) & mask
		}
		n.table[slot] = int32(i + 1)
	}
}
