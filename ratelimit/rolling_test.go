package ratelimit

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// clone returns a deep copy of m's counters, so a test can probe a future
// decision without changing m.
func clone(m *Memory) *Memory {
	c := &Memory{Buckets: m.Buckets}
	for i := range m.shards {
		for k, v := range m.shards[i].m {
			nv := *v
			if v.r != nil {
				r := *v.r
				r.ring = append([]int64(nil), v.r.ring...)
				nv.r = &r
			}
			if c.shards[i].m == nil {
				c.shards[i].m = map[string]*counter{}
			}
			c.shards[i].m[k] = &nv
		}
	}
	return c
}

// TestRollingNeverOverAdmits feeds random request times to rolling
// counters of random limits and bucket counts and checks, by brute force,
// that no interval of length P holds more than Limit admissions, and that
// each RetryAfter is exact: a request RetryAfter later passes, one a
// nanosecond sooner does not.
func TestRollingNeverOverAdmits(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	ctx := context.Background()
	base := ts(t, "2028-02-29T11:59:58.123456789Z").UnixNano()
	for trial := range 150 {
		per := []portico.Period{portico.Second, portico.Minute}[rng.Intn(2)]
		p := int64(per.Duration())
		limit := 1 + rng.Int63n(12)
		buckets := []int{1, 2, 3, 4, 7, 60}[rng.Intn(6)]
		m := &Memory{Buckets: buckets}
		sp := specs(rollingSpec("k", limit, per))
		w := (p + int64(buckets) - 1) / int64(buckets)

		var admitted []int64
		at := base + rng.Int63n(p)
		for range 300 {
			switch rng.Intn(5) {
			case 0: // a burst at the same instant
			case 1: // a short gap
				at += rng.Int63n(p / limit)
			case 2: // up to a whole period
				at += rng.Int63n(p + 1)
			case 3: // to just before or at a bucket edge
				at = (at/w+1)*w - rng.Int63n(2)
			case 4: // to just before or at the expiry of the oldest admission
				if len(admitted) >= int(limit) {
					at = max(at, admitted[len(admitted)-int(limit)]+p-rng.Int63n(2))
				}
			}
			d, err := m.Take(ctx, time.Unix(0, at), sp)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admitted = append(admitted, at)
				continue
			}
			if d.RetryAfter <= 0 || d.RetryAfter > time.Duration(p+w) {
				t.Fatalf("trial %d: RetryAfter = %v, want in (0, P+w]", trial, d.RetryAfter)
			}
			retry := at + int64(d.RetryAfter)
			if d2, _ := clone(m).Take(ctx, time.Unix(0, retry-1), sp); d2.Allowed {
				t.Fatalf("trial %d: allowed 1ns before RetryAfter %v", trial, d.RetryAfter)
			}
			if d2, _ := clone(m).Take(ctx, time.Unix(0, retry), sp); !d2.Allowed {
				t.Fatalf("trial %d: rejected at RetryAfter %v", trial, d.RetryAfter)
			}
		}
		// The interval (s-P, s] holding the most admissions ends at one.
		for _, s := range admitted {
			var n int64
			for _, a := range admitted {
				if a > s-p && a <= s {
					n++
				}
			}
			if n > limit {
				t.Fatalf("trial %d (limit %d per %s, %d buckets): %d admissions in (%v - %s, %v]",
					trial, limit, per, buckets, n, time.Unix(0, s).UTC(), per, time.Unix(0, s).UTC())
			}
		}
		if len(admitted) < int(limit) {
			t.Fatalf("trial %d: only %d admitted", trial, len(admitted))
		}
	}
}

// TestRollingSteadyLoad sends 3× the limit, evenly spaced, for many
// periods and checks the admitted rate against the documented bound: at
// least (1 - 1/B) of the limit per period in the long run, at least the
// limit less one bucket's worth of requests in every single period, and
// never more than the limit.
func TestRollingSteadyLoad(t *testing.T) {
	tests := []struct {
		per     portico.Period
		limit   int64
		buckets int
	}{
		{portico.Minute, 100, 60},
		{portico.Second, 50, 60}, // buckets of 1/60 s do not divide the second
		{portico.Hour, 120, 60},
		{portico.Minute, 100, 10},
	}
	const periods = 200
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d per %s, %d buckets", tt.limit, tt.per, tt.buckets), func(t *testing.T) {
			m := &Memory{Buckets: tt.buckets}
			sp := specs(rollingSpec("k", tt.limit, tt.per))
			p := int64(tt.per.Duration())
			perPeriod := 3 * tt.limit
			start := ts(t, "2028-02-29T00:00:00Z").UnixNano()
			counts := make([]int64, periods)
			for i := range periods * perPeriod {
				at := start + i*p/perPeriod
				d, err := m.Take(context.Background(), time.Unix(0, at), sp)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					counts[(at-start)/p]++
				}
			}
			var total int64
			oneBucket := (perPeriod + int64(tt.buckets) - 1) / int64(tt.buckets)
			for i, c := range counts {
				total += c
				if c > tt.limit || c < tt.limit-oneBucket-1 {
					t.Errorf("period %d admitted %d, want in [%d, %d]", i, c, tt.limit-oneBucket-1, tt.limit)
				}
			}
			avg := float64(total) / periods
			const epsilon = 0.005
			if want := (1 - 1/float64(tt.buckets) - epsilon) * float64(tt.limit); avg < want {
				t.Errorf("admitted %.2f per period on average, want at least %.2f", avg, want)
			}
			t.Logf("admitted %.2f per period on average (limit %d, %d buckets)", avg, tt.limit, tt.buckets)
		})
	}
}
