package balance

import (
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

var t0 = time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)

// endpoint returns a load-balancer endpoint with one target per weight.
func endpoint(alg portico.Algorithm, weights ...int) portico.Endpoint {
	ep := portico.Endpoint{Type: portico.LoadBalancer, Algorithm: alg}
	for i, w := range weights {
		ep.Targets = append(ep.Targets, portico.Target{URL: fmt.Sprintf("http://10.0.0.%d:7001/base", i+1), Weight: w})
	}
	return ep
}

// picks returns the next n picks at t0 with nothing tried.
func picks(t *testing.T, b *Balancer, n int) []int {
	t.Helper()
	var got []int
	for range n {
		i, ok := b.Pick(t0, 0)
		if !ok {
			t.Fatalf("Pick after %v: no target", got)
		}
		got = append(got, i)
	}
	return got
}

func TestSequence(t *testing.T) {
	tests := []struct {
		name string
		ep   portico.Endpoint
		want []int // one cycle; checked twice
	}{
		{"weights 5 1 1", endpoint(portico.WeightedRoundRobin, 5, 1, 1), []int{0, 0, 1, 0, 2, 0, 0}},
		{"weights 3 1", endpoint(portico.WeightedRoundRobin, 3, 1), []int{0, 0, 1, 0}},
		{"weights 2 3", endpoint(portico.WeightedRoundRobin, 2, 3), []int{1, 0, 1, 0, 1}},
		{"weights 1 2 4", endpoint(portico.WeightedRoundRobin, 1, 2, 4), []int{2, 1, 2, 0, 2, 1, 2}},
		{"weights 0 -3 2 count as 1 1 2", endpoint(portico.WeightedRoundRobin, 0, -3, 2), []int{2, 0, 1, 2}},
		{"round robin ignores weights", endpoint(portico.RoundRobin, 5, 1, 1), []int{0, 1, 2}},
		{"no algorithm is round robin", endpoint("", 5, 1), []int{0, 1}},
		{"single uses the first target", portico.Endpoint{Type: portico.Single, Targets: endpoint("", 1, 1).Targets}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.ep)
			want := append(slices.Clone(tt.want), tt.want...)
			if got := picks(t, b, len(want)); !slices.Equal(got, want) {
				t.Errorf("picks = %v, want %v", got, want)
			}
		})
	}
}

// TestRunCounts checks, for random weights, that every run of sum(weights)
// consecutive picks holds each target exactly its weight times.
func TestRunCounts(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := range 50 {
		weights := make([]int, 1+rng.Intn(8))
		sum := 0
		for i := range weights {
			weights[i] = 1 + rng.Intn(10)
			sum += weights[i]
		}
		b := New(endpoint(portico.WeightedRoundRobin, weights...))
		seq := picks(t, b, 100*sum)
		counts := make([]int, len(weights))
		for i, x := range seq {
			counts[x]++
			if i >= sum {
				counts[seq[i-sum]]--
			}
			if i >= sum-1 && !slices.Equal(counts, weights) {
				t.Fatalf("trial %d, weights %v: picks %d..%d count %v", trial, weights, i-sum+1, i, counts)
			}
		}
	}
}

func TestTargets(t *testing.T) {
	ep := endpoint(portico.WeightedRoundRobin, 3, 0)
	ep.Targets = append(ep.Targets, portico.Target{URL: "10.0.0.9:7001", Weight: 2}, portico.Target{URL: "http://[::1", Weight: 2})
	b := New(ep)
	ep.Targets[0].URL = "http://changed" // New copies
	if b.Len() != 4 {
		t.Fatalf("Len = %d, want 4", b.Len())
	}
	if got, want := b.Target(0), (portico.Target{URL: "http://10.0.0.1:7001/base", Weight: 3}); got != want {
		t.Errorf("Target(0) = %+v, want %+v", got, want)
	}
	if got := b.Target(1).Weight; got != 1 {
		t.Errorf("Target(1).Weight = %d, want 1", got)
	}
	if u := b.URL(1); u == nil || u.Host != "10.0.0.2:7001" || u.Path != "/base" {
		t.Errorf("URL(1) = %v, want http://10.0.0.2:7001/base", u)
	}
	if b.URL(2) != nil || b.URL(3) != nil {
		t.Errorf("URL of bad targets = %v, %v; want nil", b.URL(2), b.URL(3))
	}
	// Targets without a usable URL are never picked.
	if got, want := picks(t, b, 8), []int{0, 0, 1, 0, 0, 0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
}

func TestNoTargets(t *testing.T) {
	b := New(portico.Endpoint{Type: portico.LoadBalancer})
	if i, ok := b.Pick(t0, 0); ok {
		t.Errorf("Pick = %d, want none", i)
	}
}

func TestTried(t *testing.T) {
	b := New(endpoint(portico.RoundRobin, 1, 1, 1))
	tests := []struct {
		tried  uint64
		want   int
		wantOK bool
	}{
		{0b000, 0, true},
		{0b010, 2, true},
		{0b001, 1, true},
		{0b110, 0, true},
		{0b011, 2, true},
		{0b111, -1, false},
	}
	for _, tt := range tests {
		if i, ok := b.Pick(t0, tt.tried); i != tt.want || ok != tt.wantOK {
			t.Errorf("Pick(tried %03b) = %d, %v; want %d, %v", tt.tried, i, ok, tt.want, tt.wantOK)
		}
	}
	// A down target and a tried one leave nothing.
	b2 := New(endpoint(portico.RoundRobin, 1, 1))
	b2.MarkDown(0, t0)
	if i, ok := b2.Pick(t0, 0b10); ok {
		t.Errorf("Pick with one down and one tried = %d, want none", i)
	}
}

// TestCooldown follows a target through an outage: skipped while cooling
// down, probed once when the cool-down has passed, back on MarkUp.
func TestCooldown(t *testing.T) {
	b := New(endpoint(portico.RoundRobin, 1, 1))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		at   time.Duration
		do   string // "pick", "down 0", "up 0"
		want int    // the pick; for MarkDown 1 if newly down, else 0
	}
	steps := []step{
		{0, "pick", 0},
		{0, "down 0", 1}, // newly down
		{time.Second, "pick", 1},
		{time.Second, "pick", 1},
		{time.Second, "pick", 1},
		{2 * time.Second, "down 0", 0}, // already down; cool-down now ends at 12s
		{12*time.Second - 1, "pick", 1},
		// The cool-down has passed: 0 is eligible again and, with its
		// current value where it was left, is picked next but one.
		{12 * time.Second, "pick", 1},
		{12 * time.Second, "pick", 0}, // the probe
		{12 * time.Second, "pick", 1}, // no more requests while it runs
		{15 * time.Second, "pick", 1},
		{16 * time.Second, "down 0", 0}, // the probe failed
		{25 * time.Second, "pick", 1},
		{26 * time.Second, "pick", 1},
		{26 * time.Second, "pick", 0}, // the next probe
		{26 * time.Second, "up 0", 0}, // it answered: back
		{27 * time.Second, "down 0", 1},
		{27 * time.Second, "up 0", 0},
		{26 * time.Second, "pick", 1},
		{26 * time.Second, "pick", 0},
		{26 * time.Second, "pick", 1},
		{26 * time.Second, "pick", 0},
	}
	for n, s := range steps {
		var got int
		switch s.do {
		case "pick":
			i, ok := b.Pick(at(s.at), 0)
			if !ok {
				i = -1
			}
			got = i
		case "down 0":
			if b.MarkDown(0, at(s.at)) {
				got = 1
			}
		case "up 0":
			b.MarkUp(0)
		}
		if got != s.want {
			t.Errorf("step %d: %s at +%v = %d, want %d", n, s.do, s.at, got, s.want)
		}
	}
}

func TestAllDown(t *testing.T) {
	b := New(endpoint(portico.WeightedRoundRobin, 2, 1))
	b.Cooldown = 2 * time.Second
	if !b.MarkDown(0, t0) || !b.MarkDown(1, t0.Add(time.Second)) {
		t.Fatal("MarkDown of an up target = false")
	}
	if i, ok := b.Pick(t0.Add(time.Second), 0); ok {
		t.Errorf("Pick with all down = %d, want none", i)
	}
	if i, ok := b.Pick(t0.Add(2*time.Second), 0); !ok || i != 0 {
		t.Errorf("Pick after 0's cool-down = %d, %v; want the probe of 0", i, ok)
	}
	if i, ok := b.Pick(t0.Add(2*time.Second), 0); ok {
		t.Errorf("Pick during 0's probe = %d, want none", i)
	}
	if i, ok := b.Pick(t0.Add(3*time.Second), 0); !ok || i != 1 {
		t.Errorf("Pick after 1's cool-down = %d, %v; want the probe of 1", i, ok)
	}
}

func TestCooldownDefault(t *testing.T) {
	b := New(endpoint(portico.RoundRobin, 1, 1))
	b.MarkDown(0, t0)
	b.MarkDown(1, t0)
	if i, ok := b.Pick(t0.Add(DefaultCooldown-1), 0); ok {
		t.Errorf("Pick before the default cool-down = %d, want none", i)
	}
	if _, ok := b.Pick(t0.Add(DefaultCooldown), 0); !ok {
		t.Errorf("Pick after the default cool-down: none, want the probe")
	}
}

// TestConcurrent picks from many goroutines: the picks stay exactly
// weighted, and MarkDown and MarkUp may run alongside.
func TestConcurrent(t *testing.T) {
	const workers, each = 8, 700 // 800 runs of 7
	b := New(endpoint(portico.WeightedRoundRobin, 5, 1, 1))
	counts := make([][3]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				i, _ := b.Pick(t0, 0)
				counts[w][i]++
			}
		})
	}
	wg.Wait()
	var total [3]int
	for _, c := range counts {
		for i := range c {
			total[i] += c[i]
		}
	}
	if want := [3]int{4000, 800, 800}; total != want {
		t.Errorf("picks per target = %v, want %v", total, want)
	}

	b2 := New(endpoint(portico.WeightedRoundRobin, 5, 1, 1))
	b2.Cooldown = time.Millisecond
	for w := range workers {
		wg.Go(func() {
			now := t0
			var tried uint64
			for n := range each {
				now = now.Add(100 * time.Microsecond)
				i, ok := b2.Pick(now, tried)
				if !ok {
					tried = 0
					continue
				}
				if (n+w)%5 == 0 {
					tried |= 1 << i
					b2.MarkDown(i, now)
				} else {
					tried = 0
					b2.MarkUp(i)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkPick(b *testing.B) {
	bal := New(endpoint(portico.WeightedRoundRobin, 5, 1, 1))
	b.ReportAllocs()
	for b.Loop() {
		i, _ := bal.Pick(t0, 0)
		bal.MarkUp(i)
	}
}

func BenchmarkPickParallel(b *testing.B) {
	bal := New(endpoint(portico.WeightedRoundRobin, 5, 1, 1))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i, _ := bal.Pick(t0, 0)
			bal.MarkUp(i)
		}
	})
}

func TestDown(t *testing.T) {
	b := New(portico.Endpoint{Type: portico.LoadBalancer, Targets: []portico.Target{{URL: "http://a"}, {URL: "http://b"}}})
	now := time.Unix(1000, 0)
	if b.Down(0) || b.Down(1) {
		t.Fatal("new targets are down")
	}
	b.MarkDown(1, now)
	if b.Down(0) || !b.Down(1) {
		t.Fatal("MarkDown(1) not reflected")
	}
	b.MarkUp(1)
	if b.Down(1) {
		t.Fatal("MarkUp(1) not reflected")
	}
}

func TestSingleTargetNeverCoolsDown(t *testing.T) {
	b := New(portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://a"}}})
	now := time.Unix(1000, 0)
	if !b.MarkDown(0, now) {
		t.Fatal("first MarkDown not reported")
	}
	if i, ok := b.Pick(now.Add(time.Millisecond), 0); !ok || i != 0 {
		t.Fatalf("single target skipped while down: %d %v", i, ok)
	}
	if _, ok := b.Pick(now, 1); ok {
		t.Fatal("a tried single target was picked again")
	}
}
