package admin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFirstN: the bounded heap keeps exactly the n earliest items (by time,
// then ID, ties included), in order, whatever order they come in.
func TestFirstN(t *testing.T) {
	type item struct {
		t  int64
		id string
	}
	created := func(x *item) (int64, string) { return x.t, x.id }
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 300 {
		items := make([]*item, rng.IntN(200))
		for i := range items {
			items[i] = &item{int64(rng.IntN(20)), fmt.Sprint(rng.IntN(1000))}
		}
		n := rng.IntN(250)
		f := firstN[item]{n: n, created: created}
		for _, x := range items {
			f.offer(x)
		}
		want := slices.Clone(items)
		slices.SortStableFunc(want, func(a, b *item) int {
			if a.t != b.t {
				return int(a.t - b.t)
			}
			switch {
			case a.id < b.id:
				return -1
			case a.id > b.id:
				return 1
			}
			return 0
		})
		want = want[:min(n, len(want))]
		got := f.sorted()
		if len(got) != len(want) {
			t.Fatalf("round %d: kept %d of %d items for n=%d, want %d", round, len(got), len(items), n, len(want))
		}
		for i := range got {
			if *got[i] != *want[i] {
				t.Fatalf("round %d: item %d is %v, want %v", round, i, *got[i], *want[i])
			}
		}
	}
}
