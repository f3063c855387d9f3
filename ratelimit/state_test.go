package ratelimit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// size returns the number of counters m holds.
func (m *Memory) size() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].m)
		m.shards[i].mu.Unlock()
	}
	return n
}

func mustTake(t *testing.T, m *Memory, at time.Time, sp ...portico.LimitSpec) portico.Decision {
	t.Helper()
	d, err := m.Take(context.Background(), at, sp)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSweep(t *testing.T) {
	var m Memory
	base := ts(t, "2028-02-29T12:00:30Z")
	mustTake(t, &m, base, fixed("second", 5, portico.Second))
	mustTake(t, &m, base, fixed("minute", 5, portico.Minute))
	mustTake(t, &m, base, rollingSpec("rolling", 5, portico.Minute)) // bucket [12:00:30, 12:00:31)
	mustTake(t, &m, base, fixed("day", 5, portico.Day))
	mustTake(t, &m, base, fixed("month", 5, portico.Month))
	m.Restore([]portico.CounterState{{Key: "restored", Start: ts(t, "2028-02-01T00:00:00Z"), Count: 3}})

	steps := []struct {
		at   string
		want int
	}{
		{"2028-02-29T12:00:30Z", 6},
		{"2028-02-29T12:00:30.999999999Z", 6},
		{"2028-02-29T12:00:31Z", 5},           // second
		{"2028-02-29T12:01:00Z", 4},           // minute
		{"2028-02-29T12:01:30.999999998Z", 4}, // the bucket still overlaps (t-1m, t]
		{"2028-02-29T12:01:30.999999999Z", 3}, // rolling
		{"2028-03-01T00:00:00Z", 1},           // day and month
		{"2028-03-02T23:59:59.999999999Z", 1},
		{"2028-03-03T00:00:00Z", 0}, // restored, 31 days after its start
	}
	for _, s := range steps {
		m.Sweep(ts(t, s.at))
		if got := m.size(); got != s.want {
			t.Errorf("after Sweep(%s): %d counters, want %d", s.at, got, s.want)
		}
	}
}

func TestSweepKeepsLiveCounts(t *testing.T) {
	var m Memory
	base := ts(t, "2028-02-29T12:00:00Z")
	sp := fixed("minute", 3, portico.Minute)
	mustTake(t, &m, base, sp)
	mustTake(t, &m, base, sp)
	m.Sweep(base.Add(59 * time.Second))
	if d := mustTake(t, &m, base.Add(59*time.Second), sp); !reflect.DeepEqual(d, reached(allow(3, 0, time.Second), "minute")) {
		t.Errorf("after Sweep: %+v, want the third request of the minute", d)
	}
}

func TestCountersRestore(t *testing.T) {
	now := ts(t, "2028-02-29T12:00:00Z") // a Tuesday
	var m1 Memory
	for range 3 {
		mustTake(t, &m1, now, fixed("day", 10, portico.Day), soft("week", 100, portico.Week, 0))
	}
	mustTake(t, &m1, now, fixed("month", 5, portico.Month))
	mustTake(t, &m1, now, fixed("rate", 5, portico.Minute))
	mustTake(t, &m1, now, rollingSpec("rolling day", 5, portico.Day))
	mustTake(t, &m1, now, fixed("full", 1, portico.Day), fixed("rate2", 1, portico.Minute))
	mustTake(t, &m1, now, fixed("unused", 1, portico.Month), fixed("rate2", 1, portico.Minute))

	want := []portico.CounterState{
		{Key: "day", Start: ts(t, "2028-02-29T00:00:00Z"), Count: 3},
		{Key: "full", Start: ts(t, "2028-02-29T00:00:00Z"), Count: 1},
		{Key: "month", Start: ts(t, "2028-02-01T00:00:00Z"), Count: 1},
		{Key: "week", Start: ts(t, "2028-02-28T00:00:00Z"), Count: 3},
	}
	got := m1.Counters(now)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Counters =\n%+v\nwant\n%+v", got, want)
	}
	if got := m1.Counters(ts(t, "2028-03-01T00:00:00Z")); len(got) != 1 || got[0].Key != "week" {
		t.Errorf("Counters on March 1 = %+v, want only the week", got)
	}

	// Through JSON, as a CounterStore would keep it.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var saved []portico.CounterState
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}

	t.Run("same period", func(t *testing.T) {
		var m2 Memory
		m2.Restore(saved)
		if got := m2.Counters(now); !reflect.DeepEqual(got, want) {
			t.Errorf("Counters after Restore =\n%+v\nwant\n%+v", got, want)
		}
		at := now.Add(time.Hour)
		runSteps(t, &m2, []step{
			{at.Format(time.RFC3339Nano), specs(fixed("day", 10, portico.Day)), allow(10, 6, 11*time.Hour)},
			{at.Format(time.RFC3339Nano), specs(soft("week", 100, portico.Week, 0)), allow(100, 96, 5*day+11*time.Hour)},
			{at.Format(time.RFC3339Nano), specs(fixed("month", 5, portico.Month)), allow(5, 3, 11*time.Hour)},
			{at.Format(time.RFC3339Nano), specs(fixed("full", 1, portico.Day)), reject("full", 1, 11*time.Hour)},
		})
	})
	t.Run("next period", func(t *testing.T) {
		var m3 Memory
		m3.Restore(saved)
		runSteps(t, &m3, []step{
			// March 1 is a Wednesday: same week, new day and month.
			{"2028-03-01T00:00:00Z", specs(fixed("day", 10, portico.Day)), allow(10, 9, day)},
			{"2028-03-01T00:00:00Z", specs(soft("week", 100, portico.Week, 0)), allow(100, 96, 5*day)},
			{"2028-03-01T00:00:00Z", specs(fixed("month", 5, portico.Month)), allow(5, 4, 31*day)},
		})
	})
	t.Run("other window", func(t *testing.T) {
		var m4 Memory
		m4.Restore(saved)
		runSteps(t, &m4, []step{
			// The same key now names a rolling counter: the state does not fit.
			{"2028-02-29T13:00:00Z", specs(rollingSpec("day", 10, portico.Day)), allow(10, 9, day+12*time.Minute-1)},
		})
	})
}

func TestConcurrentFixed(t *testing.T) {
	const limit, workers, each = 500, 8, 200
	var m Memory
	base := ts(t, "2028-02-29T12:00:00Z")
	sp := specs(fixed("k", limit, portico.Minute))
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Times within the minute, out of order across workers.
				at := base.Add(time.Duration((w*each+i)*7919%59_000) * time.Millisecond)
				d, err := m.Take(context.Background(), at, sp)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != limit {
		t.Errorf("admitted %d of %d, want exactly the limit %d", got, workers*each, limit)
	}
}

// TestConcurrentAllOrNothing takes two keys in different shards, in both
// orders, from many goroutines while Sweep and Counters run: no deadlock,
// no over-admission, and both counters count the same requests.
func TestConcurrentAllOrNothing(t *testing.T) {
	a, b := "a", ""
	for i := 0; b == ""; i++ {
		if k := fmt.Sprint("b", i); shardOf(k) != shardOf(a) {
			b = k
		}
	}
	const workers, each = 8, 150
	var m Memory
	now := ts(t, "2028-02-29T12:00:00Z")
	ab := specs(fixed(a, 400, portico.Day), fixed(b, 300, portico.Day))
	ba := specs(ab[1], ab[0])
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			sp := ab
			if w%2 == 1 {
				sp = ba
			}
			for range each {
				if d, _ := m.Take(context.Background(), now, sp); d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			m.Sweep(now)
			m.Counters(now)
		}
	})
	wg.Wait()
	if got := admitted.Load(); got != 300 {
		t.Errorf("admitted %d, want 300", got)
	}
	for _, c := range m.Counters(now) {
		if c.Count != 300 {
			t.Errorf("counter %s = %d, want 300", c.Key, c.Count)
		}
	}
}

func BenchmarkTake(b *testing.B) {
	benchmarks := []struct {
		name  string
		specs []portico.LimitSpec
	}{
		{"fixed", specs(fixed("sub:1234/rate", 1<<62, portico.Minute))},
		{"rolling", specs(rollingSpec("sub:1234/rate", 1<<62, portico.Minute))},
		{"fixed+quota", specs(fixed("sub:1234/rate", 1<<62, portico.Minute), fixed("sub:1234/quota", 1<<62, portico.Month))},
		{"rejected", specs(fixed("sub:1234/rate", 1, portico.Hour))},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			var m Memory
			ctx := context.Background()
			now := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
			m.Take(ctx, now, bm.specs)
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				m.Take(ctx, now, bm.specs)
			}
		})
	}
}

func BenchmarkTakeParallel(b *testing.B) {
	var m Memory
	ctx := context.Background()
	keys := make([][]portico.LimitSpec, 1024)
	for i := range keys {
		keys[i] = specs(fixed(fmt.Sprint("sub:", i, "/rate"), 1<<62, portico.Minute), fixed(fmt.Sprint("sub:", i, "/quota"), 1<<62, portico.Month))
	}
	now := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	for _, sp := range keys {
		m.Take(ctx, now, sp)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			m.Take(ctx, now, keys[i%len(keys)])
		}
	})
}
