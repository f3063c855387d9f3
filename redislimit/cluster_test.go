package redislimit

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redisinfo"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// tap is a redis.Scripter that records the script's replies: the Redis
// time and outcome of every decision made in Redis.
type tap struct {
	redis.Scripter
	mu      sync.Mutex
	replies [][]int64
}

func (s *tap) record(cmd *redis.Cmd) *redis.Cmd {
	if v, err := cmd.Result(); err == nil {
		if a, ok := v.([]any); ok {
			if r, err := ints(v, len(a)); err == nil {
				s.mu.Lock()
				s.replies = append(s.replies, r)
				s.mu.Unlock()
			}
		}
	}
	return cmd
}

func (s *tap) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return s.record(s.Scripter.EvalSha(ctx, sha, keys, args...))
}

func (s *tap) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.record(s.Scripter.Eval(ctx, script, keys, args...))
}

// cluster is n Limiters, each with its own client, on one Redis, all
// recording into one tap.
func cluster(t testing.TB, s *redistest.Server, n int) ([]*Limiter, *tap) {
	tp := &tap{}
	var ls []*Limiter
	for i := 0; i < n; i++ {
		c := client(t, s)
		l := New(&shared{c: c, tp: tp}, "test:{c}:lim:")
		l.LiveNodes = func() int { return n }
		ls = append(ls, l)
	}
	return ls, tp
}

// shared forwards to one node's client and records into the cluster's tap.
type shared struct {
	c  *redis.Client
	tp *tap
}

func (s *shared) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return s.tp.record(s.c.EvalSha(ctx, sha, keys, args...))
}
func (s *shared) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.tp.record(s.c.Eval(ctx, script, keys, args...))
}
func (s *shared) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.c.EvalRO(ctx, script, keys, args...)
}
func (s *shared) EvalShaRO(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return s.c.EvalShaRO(ctx, sha, keys, args...)
}
func (s *shared) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return s.c.ScriptExists(ctx, hashes...)
}
func (s *shared) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return s.c.ScriptLoad(ctx, script)
}

// outcome is one request of a load run.
type outcome struct {
	at time.Time // the now given to Take
	d  portico.Decision
}

// load sends rate requests per second for dur, spread evenly over the
// nodes with workers goroutines per node, and returns every outcome.
// stop, if not nil, ends the run early when it returns true.
func load(t testing.TB, nodes []*Limiter, specs []portico.LimitSpec, rate float64, dur time.Duration, workers int, stop func([]outcome) bool) []outcome {
	total := len(nodes) * workers
	interval := time.Duration(float64(time.Second) * float64(total) / rate)
	start := time.Now()
	end := start.Add(dur)
	var mu sync.Mutex
	var out []outcome
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < total; w++ {
		l := nodes[w%len(nodes)]
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			next := start.Add(interval * time.Duration(w) / time.Duration(total))
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				now := time.Now()
				if !now.Before(end) {
					return
				}
				d, err := l.Take(context.Background(), now, specs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out = append(out, outcome{at: now, d: d})
				if stop != nil && k%16 == 0 && stop(out) {
					once.Do(func() { close(done) })
				}
				mu.Unlock()
				next = next.Add(interval)
			}
		}(w)
	}
	wg.Wait()
	return out
}

func trips(nodes []*Limiter) (n int64) {
	for _, l := range nodes {
		n += l.RoundTrips()
	}
	return n
}

// TestClusterFixed: 3 nodes at 3× the limit of a fixed 100/second plan
// for four seconds: no window above 100, every full window at least 98.
func TestClusterFixed(t *testing.T) {
	s := redistest.Start(t)
	nodes, tp := cluster(t, s, 3)
	specs := []portico.LimitSpec{{Key: "fixed-100-s", Limit: 100, Per: portico.Second}}
	atWindowStart(time.Second)
	start := time.Now()
	out := load(t, nodes, specs, 300, 4*time.Second, 2, nil)
	perWindow := map[int64]int64{}
	var admitted int64
	for _, o := range out {
		if o.d.Allowed {
			admitted++
			// now + Reset is the window's end (within a round trip).
			end := o.at.Add(o.d.Reset).Round(time.Second).Unix()
			perWindow[end]++
		}
	}
	granted := map[int64]int64{}
	for _, r := range tp.replies {
		if r[0] == 1 {
			granted[(r[1]+r[5])/1e6] += r[3]
		}
	}
	first := start.Truncate(time.Second).Unix() + 1
	var ends []int64
	for e := range perWindow {
		ends = append(ends, e)
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i] < ends[j] })
	for _, e := range ends {
		n := perWindow[e]
		full := e >= first && e <= first+3
		t.Logf("window ending %d: admitted %d, counted in Redis %d (full window %v)", e, n, granted[e], full)
		if n > 100 || granted[e] > 100 {
			t.Errorf("window ending %d: admitted %d, Redis counted %d: over the limit of 100", e, n, granted[e])
		}
		if full && n < 98 {
			t.Errorf("window ending %d: admitted %d, under 98%% of 100", e, n)
		}
	}
	t.Logf("fixed 100/s: %d requests, %d admitted, %d round trips (%.3f per request)", len(out), admitted, trips(nodes), float64(trips(nodes))/float64(len(out)))
}

// TestClusterRolling: 3 nodes at 3× a rolling 100/second limit: never
// more than 100 admissions in any interval of one second of Redis time.
func TestClusterRolling(t *testing.T) {
	s := redistest.Start(t)
	nodes, tp := cluster(t, s, 3)
	specs := []portico.LimitSpec{{Key: "rolling-100-s", Limit: 100, Per: portico.Second, Window: portico.Rolling}}
	dur := 4 * time.Second
	out := load(t, nodes, specs, 300, dur, 2, nil)
	var admitted int64
	for _, o := range out {
		if o.d.Allowed {
			admitted++
		}
	}
	var at []int64 // Redis time of every admission, µs
	for _, r := range tp.replies {
		if r[0] == 1 {
			at = append(at, r[1])
		}
	}
	if int64(len(at)) != admitted {
		t.Fatalf("%d admissions but %d admitting script calls", admitted, len(at))
	}
	sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
	worst, j := 0, 0
	for i := range at {
		for at[j] <= at[i]-1e6 {
			j++
		}
		worst = max(worst, i-j+1)
	}
	if worst > 100 {
		t.Errorf("%d admissions within one second", worst)
	}
	// Any interval of P holds at most Limit; the bucketed window admits
	// about Limit·B/(B+1) per P after the first one.
	steady := 0
	from := at[0] + 1e6
	to := from + 2e6
	for _, x := range at {
		if x >= from && x < to {
			steady++
		}
	}
	rate := float64(steady) / 2
	t.Logf("rolling 100/s: %d requests, %d admitted, most in any 1 s: %d; over 2 s after the first: %.1f/s (under-admission %.1f%%; B/(B+1) predicts %.1f%%); %d round trips (%.3f per request)",
		len(out), admitted, worst, rate, 100-rate, 100-100*60.0/61, trips(nodes), float64(trips(nodes))/float64(len(out)))
	if rate < 95 {
		t.Errorf("steady rate %.1f/s, under 95%% of the limit", rate)
	}
}

// TestClusterMinute: 3 nodes at 3× a fixed 6,000/minute plan until the
// budget of one minute window is used up: exactly used, never exceeded.
func TestClusterMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("runs up to 50 s")
	}
	s := redistest.Start(t)
	nodes, tp := cluster(t, s, 3)
	specs := []portico.LimitSpec{{Key: "fixed-6000-m", Limit: 6000, Per: portico.Minute}}
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 25*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
	window := time.Now().Truncate(time.Minute).Add(time.Minute).Unix()
	var rejectedSince time.Time
	out := load(t, nodes, specs, 300, 24*time.Second, 2, func(out []outcome) bool {
		last := out[len(out)-1]
		if last.d.Allowed {
			rejectedSince = time.Time{}
			return false
		}
		if rejectedSince.IsZero() {
			rejectedSince = last.at
		}
		return last.at.Sub(rejectedSince) > time.Second
	})
	var admitted int64
	for _, o := range out {
		if o.d.Allowed {
			if e := o.at.Add(o.d.Reset).Round(time.Second).Unix(); e != window {
				t.Fatalf("admission in window ending %d, want %d", e, window)
			}
			admitted++
		}
	}
	var granted int64
	for _, r := range tp.replies {
		if r[0] == 1 {
			granted += r[3]
		}
	}
	t.Logf("fixed 6000/min: %d requests, %d admitted (%.2f%%), Redis counted %d, %d round trips (%.3f per request)",
		len(out), admitted, 100*float64(admitted)/6000, granted, trips(nodes), float64(trips(nodes))/float64(len(out)))
	if admitted > 6000 || granted > 6000 {
		t.Errorf("admitted %d, counted %d: over 6000", admitted, granted)
	}
	if admitted < 5880 {
		t.Errorf("admitted %d, under 98%% of 6000", admitted)
	}
}

// TestRoundTrips: 1,500 requests per second on one key over 3 nodes, for
// a limit the load exceeds and for one it does not: Redis round trips
// per request at most 0.1. Also reports Redis commands per request from
// INFO commandstats.
func TestRoundTrips(t *testing.T) {
	s := redistest.Start(t)
	admin := client(t, s)
	for _, limit := range []int64{1000, 1_000_000} {
		t.Run(strconv.FormatInt(limit, 10), func(t *testing.T) {
			nodes, _ := cluster(t, s, 3)
			admin.ConfigResetStat(context.Background())
			specs := []portico.LimitSpec{{Key: fmt.Sprintf("rt-%d", limit), Limit: limit, Per: portico.Second}}
			out := load(t, nodes, specs, 1500, 3*time.Second, 3, nil)
			var admitted int64
			for _, o := range out {
				if o.d.Allowed {
					admitted++
				}
			}
			n := trips(nodes)
			per := float64(n) / float64(len(out))
			calls, cmds := commandStats(t, admin)
			t.Logf("limit %d/s at %.0f req/s: %d requests, %d admitted, %d round trips = %.4f per request; Redis: %d EVALSHA/EVAL, %d commands incl. those inside the script = %.4f per request",
				limit, float64(len(out))/3, len(out), admitted, n, per, calls, cmds, float64(cmds)/float64(len(out)))
			if per > 0.1 {
				t.Errorf("%.3f round trips per request, want at most 0.1", per)
			}
		})
	}
}

// commandStats returns the script calls and all commands Redis executed
// since the last CONFIG RESETSTAT, minus the test's own (INFO, CONFIG,
// connection set-up).
func commandStats(t testing.TB, c *redis.Client) (calls, all int64) {
	info, err := c.Info(context.Background(), "stats", "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	s, err := redisinfo.Parse(info)
	if err != nil {
		t.Fatal(err)
	}
	for _, own := range []string{"config", "config|resetstat", "ping", "hello", "client|setinfo"} {
		delete(s.Calls, own)
	}
	_, all = s.Since(redisinfo.Sample{})
	return s.Calls["evalsha"] + s.Calls["eval"], all
}
