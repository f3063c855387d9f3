package redislimit

import (
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

const ms = int64(time.Millisecond)

// TestLeaseSteps walks a lease through grants, takes and window ends with
// the time passed in.
func TestLeaseSteps(t *testing.T) {
	var l lease
	type step struct {
		name    string
		do      func()
		t       int64
		usable  bool
		blocked bool
		left    int64
	}
	steps := []step{
		{name: "empty", do: func() {}, t: 0, usable: false, blocked: false, left: 0},
		// Window ends at Redis 2_000_000 µs; deadline local 1000 ms; units 11…15 granted, 11 used by the asker.
		{name: "grant 5 from 10", do: func() { l.grant(2_000_000, 1000*ms, 10, 5, terms{limit: 100}, false) }, t: 500 * ms, usable: true, left: 4},
		{name: "take 12", do: func() { mustTake(t, &l, 12) }, t: 500 * ms, usable: true, left: 3},
		{name: "same-window grant appends", do: func() { l.grant(2_000_000, 990*ms, 40, 3, terms{limit: 100}, false) }, t: 600 * ms, usable: true, left: 5},
		{name: "take 13", do: func() { mustTake(t, &l, 13) }, t: 600 * ms, usable: true, left: 4},
		{name: "take 14", do: func() { mustTake(t, &l, 14) }, t: 600 * ms, usable: true, left: 3},
		{name: "take 15", do: func() { mustTake(t, &l, 15) }, t: 600 * ms, usable: true, left: 2},
		{name: "take 42 (second span)", do: func() { mustTake(t, &l, 42) }, t: 600 * ms, usable: true, left: 1},
		{name: "deadline is the earlier one", do: func() {}, t: 990 * ms, usable: false, left: 1},
		{name: "late grant of an older window is dropped", do: func() { l.grant(1_000_000, 900*ms, 7, 9, terms{limit: 100}, false) }, t: 700 * ms, usable: true, left: 1},
		{name: "grant using up the budget", do: func() { l.grant(3_000_000, 1990*ms, 97, 3, terms{limit: 100}, true) }, t: 1000 * ms, usable: true, left: 2},
		{name: "take 99", do: func() { mustTake(t, &l, 99) }, t: 1100 * ms, usable: true, left: 1},
		{name: "take 100", do: func() { mustTake(t, &l, 100) }, t: 1100 * ms, usable: false, blocked: true, left: 0},
		{name: "blocked until the deadline", do: func() {}, t: 1989 * ms, blocked: true},
		{name: "free at the deadline", do: func() {}, t: 1990 * ms},
		{name: "exhaust in a new window", do: func() { l.exhaust(4_000_000, 2990*ms, terms{limit: 100}) }, t: 2000 * ms, blocked: true},
		{name: "exhaust of an old window ignored", do: func() { l.exhaust(3_000_000, 1990*ms, terms{limit: 100}) }, t: 2000 * ms, blocked: true},
		{name: "next window", do: func() { l.grant(5_000_000, 3990*ms, 0, 1, terms{limit: 100}, false) }, t: 3000 * ms},
		{name: "grant 10 from 1", do: func() { l.grant(5_000_000, 3990*ms, 1, 10, terms{limit: 100}, false) }, t: 3000 * ms, usable: true, left: 9},
		// A call made for other terms (the spec changed while it was in flight) replaces the lease.
		{name: "same-window grant of other terms replaces", do: func() { l.grant(5_000_000, 3990*ms, 20, 3, terms{limit: 200}, false) }, t: 3000 * ms, usable: true, left: 2},
	}
	for _, s := range steps {
		s.do()
		if got := l.usable(s.t); got != s.usable {
			t.Fatalf("%s: usable(%d ms) = %v, want %v", s.name, s.t/ms, got, s.usable)
		}
		if got := l.blocked(s.t); got != s.blocked {
			t.Fatalf("%s: blocked(%d ms) = %v, want %v", s.name, s.t/ms, got, s.blocked)
		}
		if got := l.left(); got != s.left {
			t.Fatalf("%s: left = %d, want %d", s.name, got, s.left)
		}
	}
}

func mustTake(t *testing.T, l *lease, want int64) {
	t.Helper()
	if got := l.take(); got != want {
		t.Fatalf("take = %d, want %d", got, want)
	}
}

// TestLeaseWant checks lease sizing from the observed rate.
func TestLeaseWant(t *testing.T) {
	target := 50 * time.Millisecond
	tests := []struct {
		name  string
		reqs  int64 // requests observed evenly over span
		span  int64
		rate  float64 // previous estimate
		want  int64
		limit int64
	}{
		{name: "first request", reqs: 1, span: 0, want: 1, limit: maxLease},
		{name: "10 req/s is exact", reqs: 10, span: 1000 * ms, want: 1, limit: maxLease},
		{name: "1000 req/s", reqs: 100, span: 100 * ms, want: 49, limit: maxLease},
		{name: "averaged with the last estimate", reqs: 100, span: 100 * ms, rate: 3000, want: 99, limit: maxLease},
		{name: "a long sample replaces the estimate", reqs: 20, span: 2000 * ms, rate: 3000, want: 1, limit: maxLease},
		{name: "burst stretched to 10 ms", reqs: 10, span: 1 * ms, want: 45, limit: maxLease},
		{name: "capped", reqs: 10000, span: 100 * ms, want: 7, limit: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lease{rate: tt.rate}
			base := 1000 * ms
			for i := int64(0); i < tt.reqs; i++ {
				var at int64
				if tt.reqs > 1 {
					at = base + tt.span*i/(tt.reqs-1)
				} else {
					at = base
				}
				l.observe(at)
			}
			if got := l.want(base+tt.span, target, tt.limit); got != tt.want {
				t.Errorf("want = %d, want %d (rate %.0f)", got, tt.want, l.rate)
			}
		})
	}
}

// TestDecideLocalAllOrNothing checks that a request served from leases
// takes a unit from every lease or from none.
func TestDecideLocalAllOrNothing(t *testing.T) {
	specs := []portico.LimitSpec{
		{Key: "rate", Limit: 100, Per: portico.Second},
		{Key: "quota", Limit: 1000, Per: portico.Day},
	}
	rate, quota := &lease{}, &lease{}
	rate.grant(2_000_000, 1000*ms, 0, 3, terms{limit: 100}, false) // units 2, 3 leased
	ls := []*lease{rate, quota}

	if _, ok := decideLocal(10*ms, specs, ls); ok {
		t.Fatal("decided with an empty quota lease")
	}
	if rate.left() != 2 {
		t.Fatalf("rate lease lost units: %d left", rate.left())
	}

	quota.grant(86_400_000_000, 1000*ms, 500, 2, terms{limit: 1000}, false) // unit 502 leased
	d, ok := decideLocal(10*ms, specs, ls)
	if !ok || !d.Allowed {
		t.Fatalf("decideLocal = %+v, %v; want allowed", d, ok)
	}
	if d.Limit != 100 || d.Remaining != 98 {
		t.Errorf("decision describes limit %d remaining %d, want 100 and 98", d.Limit, d.Remaining)
	}
	if rate.left() != 1 || quota.left() != 0 {
		t.Fatalf("left: rate %d quota %d, want 1 and 0", rate.left(), quota.left())
	}

	// A used-up hard counter rejects locally and nothing is taken.
	quota.exhaust(86_400_000_000, 1000*ms, terms{limit: 1000})
	d, ok = decideLocal(20*ms, specs, ls)
	if !ok || d.Allowed || d.Rejected != "quota" || d.RetryAfter != 980*time.Millisecond {
		t.Fatalf("decideLocal = %+v, %v; want rejected by quota after 980ms", d, ok)
	}
	if rate.left() != 1 {
		t.Fatalf("a rejected request took a rate unit")
	}
}

// TestDecideLocalHardWithinLimit: a lease whose units are numbered past
// a hard spec's limit (taken while the spec was soft) hands out none of
// them: the request goes to Redis.
func TestDecideLocalHardWithinLimit(t *testing.T) {
	specs := []portico.LimitSpec{{Key: "quota", Limit: 100, Per: portico.Hour}}
	x := &lease{}
	x.grant(2_000_000, 1000*ms, 98, 5, terms{limit: 100, soft: true}, false) // units 100…103 leased
	ls := []*lease{x}
	if d, ok := decideLocal(0, specs, ls); !ok || !d.Allowed || d.Remaining != 0 {
		t.Fatalf("unit 100 of 100: %+v %v, want admitted", d, ok)
	}
	if d, ok := decideLocal(0, specs, ls); ok {
		t.Fatalf("unit 101 of 100: decided locally: %+v", d)
	}
	if x.left() != 3 {
		t.Fatalf("left %d, want 3", x.left())
	}
}

// TestReportAtGrant checks Crossed and Reached: each is reported by the
// request whose script call is granted the threshold's (or the limit's)
// unit, whether it uses the unit or leases it, and never by a request
// decided from a lease.
func TestReportAtGrant(t *testing.T) {
	specs := []portico.LimitSpec{
		{Key: "hard", Limit: 5, Per: portico.Second},
		{Key: "soft", Limit: 10, Per: portico.Day, Soft: true, Threshold: 50}, // threshold unit 5
	}
	l := New(nil, "x:")
	hard, soft := &lease{}, &lease{}
	ls := []*lease{hard, soft}
	// Each step is one script reply: per counter the count before and the units granted.
	for _, tt := range []struct {
		hardFrom, hardG, softFrom, softG int64
		reached, crossed                 bool
	}{
		{hardFrom: 0, hardG: 2, softFrom: 0, softG: 2},                // units 1…2 of both
		{hardFrom: 2, hardG: 1, softFrom: 2, softG: 8, crossed: true}, // soft 3…10 holds 5
		{hardFrom: 3, hardG: 1, softFrom: 10, softG: 1},
		{hardFrom: 4, hardG: 1, softFrom: 11, softG: 1, reached: true}, // hard unit 5
		{hardFrom: 5, hardG: 0, softFrom: 12, softG: 0},                // a rejection
	} {
		fetch := make(chan struct{})
		hard.fetching, soft.fetching = fetch, fetch
		allowed := int64(1)
		if tt.hardG == 0 {
			allowed = 0
		}
		res := []int64{allowed, 1, tt.hardFrom, tt.hardG, 1_000_000, 1_000_000, tt.softFrom, tt.softG, 1_000_000, 1_000_000}
		d := l.apply(0, specs, ls, fetch, res)
		if got := len(d.Reached) == 1 && d.Reached[0] == "hard"; got != tt.reached || len(d.Reached) > 1 {
			t.Errorf("grant of hard %d+%d: reached %v", tt.hardFrom, tt.hardG, d.Reached)
		}
		if got := len(d.Crossed) == 1 && d.Crossed[0] == "soft"; got != tt.crossed || len(d.Crossed) > 1 {
			t.Errorf("grant of soft %d+%d: crossed %v", tt.softFrom, tt.softG, d.Crossed)
		}
		// Requests decided from leased units report nothing.
		for {
			d, ok := decideLocal(0, specs, ls)
			if !ok || !d.Allowed {
				break
			}
			if len(d.Crossed)+len(d.Reached) > 0 {
				t.Fatalf("decided from a lease: %+v", d)
			}
		}
	}
}

func TestFallbackShare(t *testing.T) {
	var f fallback
	sp := []*portico.LimitSpec{{Key: "k", Limit: 10, Per: portico.Second}}
	base := int64(time.Hour) * 500000 // an aligned second
	for i := 0; i < 5; i++ {
		if d := f.take(base+int64(i), sp, 2); !d.Allowed {
			t.Fatalf("request %d rejected", i)
		}
	}
	d := f.take(base+10, sp, 2)
	if d.Allowed || d.RetryAfter != time.Second-10 {
		t.Fatalf("6th of 10/2: %+v", d)
	}
	if d := f.take(base+int64(time.Second), sp, 2); !d.Allowed {
		t.Fatalf("next window rejected")
	}
	if share(1, 3) != 1 || share(100, 3) != 33 || share(100, 0) != 100 {
		t.Fatal("share")
	}
}
