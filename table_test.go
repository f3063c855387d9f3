package portico

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// testTable drives a trie with a chosen hash function, so that tests can
// force shared prefixes and full 64-bit collisions.
type testTable struct {
	root *tnode[int]
	hash func(string) uint64
}

func (tt testTable) with(k string, v *int) testTable {
	tt.root, _ = tt.root.with(0, tt.hash(k), k, v)
	return tt
}

func (tt testTable) without(k string) testTable {
	tt.root, _ = tt.root.without(0, tt.hash(k), k)
	return tt
}

func (tt testTable) get(k string) *int { return tt.root.get(0, tt.hash(k), k) }

func (tt testTable) all() map[string]*int {
	m := map[string]*int{}
	tt.root.each(func(e *tentry[int]) bool {
		if _, dup := m[e.key]; dup {
			panic("key yielded twice: " + e.key)
		}
		m[e.key] = e.val
		return true
	})
	return m
}

// TestTableMatchesMap applies random puts and deletes to a trie and to a Go
// map side by side, under hash functions from the real one to ones that
// make every key collide, and checks lookups, contents and Diff.
func TestTableMatchesMap(t *testing.T) {
	hashes := map[string]func(string) uint64{
		"maphash":        hashKey,
		"deep prefixes":  func(k string) uint64 { return hashKey(k) & 0xF000_0000_0000_0007 },
		"all collide":    func(string) uint64 { return 42 },
		"few collisions": func(k string) uint64 { return hashKey(k) % 13 },
	}
	for name, h := range hashes {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			tt := testTable{hash: h}
			want := map[string]*int{}
			keys := 3000
			if name == "all collide" {
				keys = 200
			}
			var snaps []testTable
			var wants []map[string]*int
			for i := range 20_000 {
				k := fmt.Sprint("k", rng.IntN(keys))
				if rng.IntN(3) == 0 {
					tt = tt.without(k)
					delete(want, k)
				} else {
					v := i
					tt = tt.with(k, &v)
					want[k] = &v
				}
				if i%2000 == 0 {
					snaps = append(snaps, tt)
					wants = append(wants, maps.Clone(want))
				}
			}
			snaps = append(snaps, tt)
			wants = append(wants, maps.Clone(want))
			for i, s := range snaps {
				if got := s.all(); !maps.Equal(got, wants[i]) {
					t.Fatalf("snapshot %d: contents differ from the map (%d vs %d entries)", i, len(got), len(wants[i]))
				}
				for k := range keys {
					key := fmt.Sprint("k", k)
					if got := s.get(key); got != wants[i][key] {
						t.Fatalf("snapshot %d: get(%s) = %v, want %v", i, key, got, wants[i][key])
					}
				}
			}
			for i := 1; i < len(snaps); i++ {
				checkDiff(t, snaps[i-1].root, snaps[i].root, wants[i-1], wants[i])
				checkDiff(t, snaps[i].root, snaps[0].root, wants[i], wants[0])
			}
		})
	}
}

func checkDiff(t *testing.T, a, b *tnode[int], wa, wb map[string]*int) {
	t.Helper()
	want := map[string][2]*int{}
	for k, v := range wa {
		if wb[k] != v {
			want[k] = [2]*int{v, wb[k]}
		}
	}
	for k, v := range wb {
		if wa[k] == nil {
			want[k] = [2]*int{nil, v}
		}
	}
	got := map[string][2]*int{}
	diff(a, b, 0, func(k string, old, cur *int) bool {
		if _, dup := got[k]; dup {
			t.Fatalf("diff reported %s twice", k)
		}
		got[k] = [2]*int{old, cur}
		return true
	})
	if !maps.Equal(got, want) {
		t.Fatalf("diff: %d changes reported, want %d", len(got), len(want))
	}
}

func TestTableAPI(t *testing.T) {
	var tb Table[string]
	if tb.Len() != 0 || tb.Get("x") != nil {
		t.Fatal("zero Table is not empty")
	}
	a, b := "a", "b"
	t1 := tb.With("x", &a)
	t2 := t1.With("y", &b).With("x", &b)
	t3 := t2.With("y", nil).Without("nope")
	if t1.Len() != 1 || *t1.Get("x") != "a" {
		t.Fatalf("t1 changed: len %d", t1.Len())
	}
	if t2.Len() != 2 || *t2.Get("x") != "b" || *t2.Get("y") != "b" {
		t.Fatalf("t2 = %d entries", t2.Len())
	}
	if t3.Len() != 1 || t3.Get("y") != nil {
		t.Fatalf("t3 = %d entries, y=%v", t3.Len(), t3.Get("y"))
	}
	m := map[string]*string{}
	for i := range 1000 {
		s := fmt.Sprint(i)
		m[s] = &s
	}
	m["nil"] = nil
	built := TableOf(m)
	if built.Len() != 1000 || built.Get("nil") != nil || *built.Get("999") != "999" {
		t.Fatalf("TableOf: %d entries", built.Len())
	}
	n := 0
	for k, v := range built.All() {
		if *v != k {
			t.Fatalf("All yielded %s=%s", k, *v)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("All yielded %d entries", n)
	}
	b2, err := json.Marshal(built)
	if err != nil {
		t.Fatal(err)
	}
	var back Table[string]
	if err := json.Unmarshal(b2, &back); err != nil || !maps.EqualFunc(back.Map(), built.Map(), func(x, y *string) bool { return *x == *y }) {
		t.Fatalf("JSON round trip: %d entries, %v", back.Len(), err)
	}
	changed := built.With("5", &a).Without("6").With("new", &b)
	var got []string
	complete := changed.Diff(built, func(k string, old, cur *string) bool {
		got = append(got, k)
		return true
	})
	if !complete || len(got) != 3 {
		t.Fatalf("Diff = %v (complete %v), want 3 keys", got, complete)
	}
	if changed.Diff(built, func(string, *string, *string) bool { return false }) {
		t.Fatal("Diff did not stop when fn returned false")
	}
}

// BenchmarkTable reports the cost of one change and one lookup in a table
// of a million entries, and the memory per entry.
func BenchmarkTable(b *testing.B) {
	const n = 1_000_000
	m := make(map[string]*int, n)
	for i := range n {
		v := i
		m[fmt.Sprintf("key-%07d", i)] = &v
	}
	tb := TableOf(m)
	b.Run("With", func(b *testing.B) {
		v := 1
		for i := range b.N {
			tb.With(fmt.Sprintf("key-%07d", i%n), &v)
		}
	})
	b.Run("Get", func(b *testing.B) {
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("key-%07d", i*977%n)
		}
		b.ResetTimer()
		for i := range b.N {
			if tb.Get(keys[i%len(keys)]) == nil {
				b.Fatal("missing")
			}
		}
	})
}

// TestTableFrom: a list with repeated IDs and nil values builds the same
// Table as assigning the entries to a map in order.
func TestTableFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 50 {
		n := rng.IntN(5000)
		ids := make([]string, n)
		vals := make([]*int, n)
		want := map[string]*int{}
		for i := range n {
			ids[i] = fmt.Sprint("k", rng.IntN(n/2+1))
			if rng.IntN(10) > 0 {
				v := i
				vals[i] = &v
			}
			if vals[i] != nil {
				want[ids[i]] = vals[i]
			}
		}
		got := TableFrom(ids, vals)
		if !maps.Equal(got.Map(), want) || got.Len() != len(want) {
			t.Fatalf("round %d: %d entries (Len %d), want %d", round, len(got.Map()), got.Len(), len(want))
		}
	}
}
