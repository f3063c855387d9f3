package cluster_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/cluster"
)

func TestRequestRate(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		addAt int // ms after t0 when n requests are counted
		n     int
		now   int // ms after t0 when Rate is read
		rate  float64
	}{
		{0, 10, 0, 0},            // the current second does not count yet
		{999, 10, 999, 0},        // second 0 holds 20
		{1000, 30, 1000, 4},      // 20 / 5
		{1500, 0, 1500, 4},       // second 1 holds 30, still counting
		{0, 0, 2000, 10},         // (20+30) / 5
		{0, 0, 5999, 10},         // seconds 0..4
		{0, 0, 6000, 6},          // second 0 left the window
		{0, 0, 7000, 0},          // so did second 1
		{8000, 5, 8000, 0},       // second 8 reuses second 0's bucket: counts restart
		{9500, 1, 9500, 1},       // 5 / 5; second 9 reuses second 1's bucket
		{1500, 100, 10000, 1.2},  // a late count for second 1: dropped; (5+1) / 5
		{0, 0, 13000, 1.2},       // seconds 8..12
		{0, 0, 14000, 0.2},       // seconds 9..13
		{0, 0, 15000, 0},         // seconds 10..14
		{60000, 7, 61000, 1.4},   // long idle: old buckets do not count; 7 / 5
		{300000, 1, 301000, 0.2}, // 1 / 5
		{299000, 3, 301000, 0.8}, // counts a little late, in the window: kept
		{-5000, 9, 301000, 0.8},  // long before the window: does not count
	}
	var r cluster.RequestRate
	for _, s := range steps {
		for range s.n {
			r.Inc(at(s.addAt))
		}
		if got := r.Rate(at(s.now)); got != s.rate {
			t.Errorf("add %d at %d ms, at %d ms: Rate = %v, want %v", s.n, s.addAt, s.now, got, s.rate)
		}
	}
}

func TestRequestRateAddSaturates(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var r cluster.RequestRate
	r.Add(t0, 1<<32-2)
	r.Add(t0, 5)
	if got, want := r.Rate(t0.Add(time.Second)), float64(1<<32-1)/5; got != want {
		t.Errorf("Rate = %v, want %v (saturated)", got, want)
	}
}

func TestRequestRateConcurrent(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var r cluster.RequestRate
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				r.Inc(t0.Add(time.Duration(g*5000+i) * 100 * time.Microsecond)) // seconds 0 and 1
			}
		})
	}
	wg.Wait()
	if got, want := r.Rate(t0.Add(2*time.Second)), 20000.0/5; got != want {
		t.Errorf("Rate = %v, want %v", got, want)
	}
}

func BenchmarkRequestRateInc(b *testing.B) {
	var r cluster.RequestRate
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Inc(now)
		}
	})
}

func ExampleRequestRate() {
	var r cluster.RequestRate
	t0 := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	for i := range 250 { // 50 requests a second for 5 seconds
		r.Inc(t0.Add(time.Duration(i) * 20 * time.Millisecond))
	}
	fmt.Println(r.Rate(t0.Add(5 * time.Second)))
	// Output: 50
}
