package admin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

type ordItem struct {
	t    int64
	id   string
	name string
}

var ordKind = kind[ordItem]{
	created: func(x *ordItem) (int64, string) { return x.t, x.id },
	text:    func(x *ordItem) string { return searchText(x.name, x.id) },
}

// heapWindow is the page of the values of t that keep selects, and their
// count, as readPage finds them: by the bounded heap.
func heapWindow(t portico.Table[ordItem], p page, keep func(*ordItem) bool) ([]*ordItem, int) {
	first := firstN[ordItem]{n: p.offset + p.limit, created: ordKind.created}
	total := 0
	for x := range t.Values() {
		if keep == nil || keep(x) {
			total++
			first.offer(x)
		}
	}
	w := first.sorted()
	return w[min(p.offset, len(w)):], total
}

// TestOrderMatchesHeap: on random tables changed at random, version after
// version, the page an order gives (built, or derived from the order of
// the version before) is the page of the bounded heap, with the same
// total, for random windows and filters; and each value's searched text
// sits beside it.
func TestOrderMatchesHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var cache atomic.Pointer[order[ordItem]]
		m := map[string]*ordItem{}
		newItem := func() *ordItem {
			id := fmt.Sprint(rng.IntN(400))
			return &ordItem{t: int64(rng.IntN(30)), id: id, name: fmt.Sprintf("N%d", rng.IntN(10))}
		}
		for range rng.IntN(300) {
			x := newItem()
			m[x.id] = x
		}
		table := portico.TableOf(m)
		for version := range int64(8) {
			o := orderOf(&cache, version, table, ordKind)
			if o.table != table || len(o.items) != table.Len() || len(o.text) != len(o.items) {
				t.Fatalf("round %d v%d: order of %d items, %d texts for a table of %d", round, version, len(o.items), len(o.text), table.Len())
			}
			for i, x := range o.items {
				if o.text[i] != ordKind.text(x) {
					t.Fatalf("round %d v%d: text %d is %q, want %q", round, version, i, o.text[i], ordKind.text(x))
				}
			}
			for range 10 {
				p := page{limit: 1 + rng.IntN(40), offset: rng.IntN(max(1, table.Len()+10))}
				var keep func(*ordItem) bool
				var keepText func(*ordItem, string) bool
				if rng.IntN(2) == 0 {
					want := fmt.Sprintf("n%d", rng.IntN(10))
					keep = func(x *ordItem) bool { return x.name == "N"+want[1:] }
					keepText = func(x *ordItem, text string) bool {
						return (search{q: want}).text(text, nil) && keep(x)
					}
				}
				got, gotTotal := o.window(p, keepText)
				want, wantTotal := heapWindow(table, p, keep)
				if gotTotal != wantTotal || !slices.Equal(got, want) {
					t.Fatalf("round %d v%d page %+v: total %d, %d items; heap: total %d, %d items", round, version, p, gotTotal, len(got), wantTotal, len(want))
				}
			}
			// Change a few values (or, now and then, most of them).
			changes := 1 + rng.IntN(5)
			if rng.IntN(6) == 0 {
				changes = 1 + rng.IntN(400)
			}
			for range changes {
				switch x := newItem(); rng.IntN(3) {
				case 0:
					table = table.Without(x.id)
				default:
					table = table.With(x.id, x)
				}
			}
		}
	}
}

// TestOrderKeepsNewest: a list of an older Config does not replace the
// order kept for a newer one.
func TestOrderKeepsNewest(t *testing.T) {
	var cache atomic.Pointer[order[ordItem]]
	old := portico.TableOf(map[string]*ordItem{"a": {t: 1, id: "a"}})
	cur := old.With("b", &ordItem{t: 2, id: "b"})
	orderOf(&cache, 2, cur, ordKind)
	if o := orderOf(&cache, 1, old, ordKind); len(o.items) != 1 {
		t.Fatalf("order of version 1 has %d items, want 1", len(o.items))
	}
	if o := cache.Load(); o.version != 2 || o.table != cur {
		t.Fatalf("kept the order of version %d, want 2", o.version)
	}
}

// BenchmarkBuildOrder is the first list of 100,000 subscriptions after a
// start or a full reload: sorting the table into its order.
func BenchmarkBuildOrder(b *testing.B) {
	m := make(map[string]*portico.Subscription, 100_000)
	for i := range 100_000 {
		id := fmt.Sprintf("sub%06d", i)
		m[id] = &portico.Subscription{ID: id, CreatedAt: time.Unix(int64(i*7919%100_000), 0)}
	}
	t := portico.TableOf(m)
	b.ReportAllocs()
	for b.Loop() {
		buildOrder(1, t, subKind)
	}
}
