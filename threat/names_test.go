package threat

import (
	"math/rand/v2"
	"testing"
)

// TestHashIndex: random adds and removes agree with a map, through
// growth and wrap-around, hashes of 0 and colliding low bits included.
func TestHashIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x hashIndex
	want := map[uint64]bool{}
	var in []uint64
	for step := range 200000 {
		var h uint64
		switch r.IntN(4) {
		case 0:
			h = uint64(r.IntN(64)) // the same home slots again and again
		case 1:
			h = uint64(r.IntN(64)) << 40 // the same low bits: one long run
		default:
			h = r.Uint64()
		}
		if r.IntN(3) > 0 || len(in) == 0 {
			if got := x.add(h); got != !want[slotOf(h)] {
				t.Fatalf("step %d: add(%#x) = %v with %v in", step, h, got, want[slotOf(h)])
			}
			if !want[slotOf(h)] {
				want[slotOf(h)] = true
				in = append(in, h)
			}
		} else {
			i := r.IntN(len(in))
			h = in[i]
			in[i] = in[len(in)-1]
			in = in[:len(in)-1]
			x.remove(h)
			delete(want, slotOf(h))
		}
		if x.n != len(want) {
			t.Fatalf("step %d: %d hashes, want %d", step, x.n, len(want))
		}
	}
	for h := range want {
		if x.add(h) {
			t.Fatalf("%#x lost", h)
		}
	}
}
