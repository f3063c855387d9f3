package redislimit

import (
	"context"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// client returns a client of s that fails fast while the server is down,
// as a node should be configured.
func client(t testing.TB, s *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:          s.Addr,
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// refStart is the reference window start: ratelimit.WindowStart's rules,
// restated with the time package (packages below the root may not import
// each other, not even in tests).
func refStart(per portico.Period, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch per {
	case portico.Day:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case portico.Week:
		return time.Date(y, m, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	case portico.Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(per.Duration())
}

func refEnd(per portico.Period, t time.Time) time.Time {
	s := refStart(per, t)
	switch per {
	case portico.Day:
		return s.AddDate(0, 0, 1)
	case portico.Week:
		return s.AddDate(0, 0, 7)
	case portico.Month:
		return s.AddDate(0, 1, 0)
	}
	return s.Add(per.Duration())
}

// TestCalendarLua checks the script's window arithmetic against the
// reference rules on random times from 1900 to 2400 and on every month
// boundary around leap years, in Redis's Lua.
func TestCalendarLua(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	ctx := context.Background()
	const driver = `
local out = {}
for i = 2, #ARGV do
  local s, e = window(ARGV[1], tonumber(ARGV[i]))
  out[#out + 1] = s
  out[#out + 1] = e
end
return out`
	rng := rand.New(rand.NewSource(1))
	lo := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var times []int64
	for i := 0; i < 3000; i++ {
		times = append(times, lo+rng.Int63n(hi-lo))
	}
	for _, y := range []int{1900, 1970, 1999, 2000, 2023, 2024, 2100, 2399} {
		for m := time.January; m <= time.December; m++ {
			b := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
			times = append(times, b-1, b, b+1)
		}
	}
	times = append(times, 0, -1, time.Now().Unix())
	for per, code := range periodCode {
		args := []any{code}
		for _, x := range times {
			args = append(args, x)
		}
		v, err := rdb.Eval(ctx, calendarLua+driver, nil, args...).Result()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ints(v, 2*len(times))
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range times {
			tm := time.Unix(x, 0)
			ws, we := refStart(per, tm).Unix(), refEnd(per, tm).Unix()
			if got[2*i] != ws || got[2*i+1] != we {
				t.Fatalf("%s at %s: script [%d, %d), want [%d, %d)", per, tm.UTC(), got[2*i], got[2*i+1], ws, we)
			}
			// The Go window of the outage fallback follows the same rules,
			// for the times that Unix nanoseconds hold (up to 2262).
			if we >= time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC).Unix() {
				continue
			}
			gs, ge := window(per, x*int64(time.Second))
			if gs != ws*int64(time.Second) || ge != we*int64(time.Second) {
				t.Fatalf("%s at %s: window [%d, %d), want [%d, %d) s", per, tm.UTC(), gs, ge, ws, we)
			}
		}
	}
}

// exact returns a Limiter without leases: every request is one script
// call, decided exactly.
func exact(t testing.TB, rdb *redis.Client) *Limiter {
	l := New(rdb, "test:{c}:lim:")
	l.LeaseFor = -1
	return l
}

// leasedAndExact returns two Limiters on one new Redis, as two nodes: a
// leasing for a second of its traffic, b deciding every request in Redis.
func leasedAndExact(t *testing.T) (*redis.Client, *Limiter, *Limiter) {
	rdb := client(t, redistest.Start(t))
	a := New(rdb, "test:{c}:lim:")
	a.LeaseFor = time.Second
	return rdb, a, exact(t, rdb)
}

// atWindowStart waits until just after the start of a fixed window of
// per (at most per), so that a short test stays within one window.
func atWindowStart(per time.Duration) {
	now := time.Now()
	time.Sleep(now.Truncate(per).Add(per + 5*time.Millisecond).Sub(now))
}

func TestFixedExact(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	for _, leases := range []bool{false, true} {
		t.Run("leases="+strconv.FormatBool(leases), func(t *testing.T) {
			l := exact(t, rdb)
			if leases {
				l.LeaseFor = 0
			}
			ctx := context.Background()
			key := "fixed-" + strconv.FormatBool(leases)
			specs := []portico.LimitSpec{{Key: key, Limit: 5, Per: portico.Second}}
			atWindowStart(time.Second)
			for i := 1; i <= 5; i++ {
				d, err := l.Take(ctx, time.Now(), specs)
				if err != nil || !d.Allowed {
					t.Fatalf("request %d: %+v %v", i, d, err)
				}
				if d.Remaining != int64(5-i) || d.Limit != 5 {
					t.Errorf("request %d: remaining %d limit %d", i, d.Remaining, d.Limit)
				}
				if (len(d.Reached) == 1) != (i == 5) {
					t.Errorf("request %d: reached %v", i, d.Reached)
				}
				if d.Reset <= 0 || d.Reset > time.Second {
					t.Errorf("request %d: reset %v", i, d.Reset)
				}
			}
			d, err := l.Take(ctx, time.Now(), specs)
			if err != nil || d.Allowed || d.Rejected != key || d.RetryAfter <= 0 || d.RetryAfter > time.Second {
				t.Fatalf("6th: %+v %v", d, err)
			}
			time.Sleep(d.RetryAfter + 10*time.Millisecond)
			if d, err := l.Take(ctx, time.Now(), specs); err != nil || !d.Allowed {
				t.Fatalf("after RetryAfter: %+v %v", d, err)
			}
		})
	}
}

// TestAllOrNothing: a request rejected by its rate limit uses none of its
// quota, and soft counters report their crossing once.
func TestAllOrNothing(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := exact(t, rdb)
	ctx := context.Background()
	specs := []portico.LimitSpec{
		{Key: "rate", Limit: 3, Per: portico.Minute, Window: portico.Rolling},
		{Key: "quota", Limit: 100, Per: portico.Month},
		{Key: "soft", Limit: 4, Per: portico.Week, Soft: true, Threshold: 50},
	}
	var crossed int
	for i := 1; i <= 10; i++ {
		d, err := l.Take(ctx, time.Now(), specs)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != (i <= 3) {
			t.Fatalf("request %d: %+v", i, d)
		}
		if !d.Allowed && (d.Rejected != "rate" || d.RetryAfter < 59*time.Second) {
			t.Fatalf("request %d: %+v", i, d)
		}
		if len(d.Crossed) > 0 {
			if i != 2 || d.Crossed[0] != "soft" {
				t.Fatalf("request %d crossed %v", i, d.Crossed)
			}
			crossed++
		}
		if i == 1 && (d.Limit != 3 || d.Remaining != 2) {
			t.Errorf("first decision describes %d/%d, want the rate limit 3/2", d.Remaining, d.Limit)
		}
	}
	if crossed != 1 {
		t.Fatalf("crossed %d times", crossed)
	}
	n, err := rdb.HGet(ctx, l.redisKey(&specs[1]), "n").Int64()
	if err != nil || n != 3 {
		t.Fatalf("quota counted %d (%v), want 3", n, err)
	}
	ttl, _ := rdb.PTTL(ctx, l.redisKey(&specs[0])).Result()
	if ttl <= 0 || ttl > 62*time.Second {
		t.Fatalf("rolling key TTL %v", ttl)
	}
	ttl, _ = rdb.PTTL(ctx, l.redisKey(&specs[1])).Result()
	if ttl <= 0 || ttl > 32*24*time.Hour {
		t.Fatalf("quota key TTL %v", ttl)
	}
}

// TestRollingExact: a rolling window admits its limit, rejects until the
// oldest bucket expires, and admits again then.
func TestRollingExact(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := exact(t, rdb)
	l.Buckets = 10
	ctx := context.Background()
	specs := []portico.LimitSpec{{Key: "roll", Limit: 5, Per: portico.Second, Window: portico.Rolling}}
	for i := 0; i < 5; i++ {
		if d, err := l.Take(ctx, time.Now(), specs); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	// The server decides on its clock, between sent and received: the
	// window reopens at its time + RetryAfter, so no earlier than sent +
	// RetryAfter and no later than received + RetryAfter (a loaded
	// machine can hold the answer back longer than a fixed margin).
	sent := time.Now()
	d, err := l.Take(ctx, sent, specs)
	received := time.Now()
	if err != nil || d.Allowed || d.RetryAfter <= 900*time.Millisecond || d.RetryAfter > 1100*time.Millisecond {
		t.Fatalf("6th: %+v %v", d, err)
	}
	time.Sleep(time.Until(sent.Add(d.RetryAfter - 50*time.Millisecond)))
	if d, _ := l.Take(ctx, time.Now(), specs); d.Allowed {
		t.Fatalf("admitted 50ms before RetryAfter")
	}
	time.Sleep(time.Until(received.Add(d.RetryAfter + 60*time.Millisecond)))
	if d, _ := l.Take(ctx, time.Now(), specs); !d.Allowed {
		t.Fatalf("rejected after RetryAfter: %+v", d)
	}
}

func TestInvalid(t *testing.T) {
	l := New(nil, "x:")
	for _, sp := range []portico.LimitSpec{
		{Key: "a", Limit: 0, Per: portico.Second},
		{Key: "a", Limit: 1, Per: "fortnight"},
		{Key: "a", Limit: 1, Per: portico.Month, Window: portico.Rolling},
		{Key: "a", Limit: 1, Per: portico.Second, Window: "sliding"},
	} {
		if _, err := l.Take(context.Background(), time.Now(), []portico.LimitSpec{sp}); portico.ErrorCode(errCode(err)) != portico.EInvalid {
			t.Errorf("%+v: err %v", sp, err)
		}
	}
	if d, err := l.Take(context.Background(), time.Now(), nil); err != nil || !d.Allowed {
		t.Errorf("empty specs: %+v %v", d, err)
	}
}

func errCode(err error) portico.ErrorCode {
	if e, ok := err.(*portico.Error); ok {
		return e.Code
	}
	return ""
}

// TestCountersSurviveDataLoss: when Redis loses its counters (restarted
// without persistence), a fixed counter goes on from the highest count a
// node saw in the window instead of from zero, so an hour's quota is not
// granted twice. Two nodes count 10 and then 5 in the window, Redis is
// flushed, and the node that saw the count last calls first: the cluster
// admits exactly the limit over the whole window. The requests also carry
// a rolling counter, which starts again from zero (documented).
func TestCountersSurviveDataLoss(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	a, b := exact(t, rdb), exact(t, rdb)
	ctx := context.Background()
	const limit = 20
	specs := []portico.LimitSpec{
		{Key: "quota", Limit: limit, Per: portico.Hour},
		{Key: "rate", Limit: 1000, Per: portico.Minute, Window: portico.Rolling},
	}
	// Stay clear of the end of the hour: the test must run in one window.
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 10*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
	hour := time.Now().Truncate(time.Hour)
	admitted := 0
	take := func(l *Limiter) bool {
		d, err := l.Take(ctx, time.Now(), specs)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			admitted++
		}
		return d.Allowed
	}
	for range 10 {
		take(a)
	}
	for range 5 {
		take(b)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*limit; i++ {
		l := b
		if i%2 == 1 {
			l = a
		}
		take(l)
	}
	if !time.Now().Truncate(time.Hour).Equal(hour) {
		t.Fatal("the hour ended during the test")
	}
	if admitted != limit {
		t.Errorf("admitted %d in the hour across the flush, want the limit %d", admitted, limit)
	}
	n, err := rdb.HGet(ctx, a.redisKey(&specs[0]), "n").Int64()
	if err != nil || n != limit {
		t.Errorf("counter after the flush: %d %v, want %d", n, err, limit)
	}
}

// TestStaleFloorBound: after Redis lost a counter, the first node to call
// raises it only to its own floor, and the counter goes on from there
// until the node that saw the newest count calls. Nodes a and b count 10
// and 5 of a limit of 20 (floors 10 and 15, the true count 15); Redis is
// flushed; then the first caller — b (saw the newest count), a (floor 10,
// 3 requests) or c (never called: no floor) — is followed by a and b.
// The window admits at most lost + limit − first caller's floor, and
// exactly the limit once b has called.
func TestStaleFloorBound(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	ctx := context.Background()
	const limit, lost = 20, 15
	for _, tt := range []struct {
		first    string
		n, floor int // the first caller's requests and floor
		want     int // admitted in the window
	}{
		{first: "b", n: 20, floor: 15, want: 20},
		{first: "a", n: 3, floor: 10, want: 23}, // a re-grants 11…13
		{first: "c", n: 20, floor: 0, want: 35}, // c grants 1…20 again
	} {
		t.Run(tt.first, func(t *testing.T) {
			nodes := map[string]*Limiter{"a": exact(t, rdb), "b": exact(t, rdb), "c": exact(t, rdb)}
			specs := []portico.LimitSpec{{Key: "stale-" + tt.first, Limit: limit, Per: portico.Hour}}
			clearOf(time.Hour, 10*time.Second)
			hour := time.Now().Truncate(time.Hour)
			admitted := 0
			take := func(name string) {
				d, err := nodes[name].Take(ctx, time.Now(), specs)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					admitted++
				}
			}
			for range 10 {
				take("a")
			}
			for range 5 {
				take("b")
			}
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for range tt.n {
				take(tt.first)
			}
			for range limit {
				take("b")
				take("a")
			}
			if !time.Now().Truncate(time.Hour).Equal(hour) {
				t.Fatal("the hour ended during the test")
			}
			if bound := lost + limit - tt.floor; admitted != tt.want || admitted > bound {
				t.Errorf("admitted %d, want %d (bound %d)", admitted, tt.want, bound)
			}
			if n, err := rdb.HGet(ctx, nodes["b"].redisKey(&specs[0]), "n").Int64(); err != nil || n != limit {
				t.Errorf("counter %d (%v), want the limit %d", n, err, limit)
			}
		})
	}
}

// TestCrossedSurvivesLostLease: a node stops (rolling deploy) while its
// lease holds a soft quota's threshold unit, and the other nodes count on
// past the threshold: the crossing is still reported exactly once, by the
// request that was granted that unit.
func TestCrossedSurvivesLostLease(t *testing.T) {
	rdb, a, b := leasedAndExact(t)
	ctx := context.Background()
	clearOf(time.Hour, 10*time.Second)
	specs := []portico.LimitSpec{{Key: "sub/quota", Limit: 100, Per: portico.Hour, Soft: true, Threshold: 50}}
	crossed := 0
	now := time.Now()
	for i := 0; i < 5; i++ { // a's lease grows with its rate, past unit 50
		now = now.Add(time.Millisecond)
		d, err := a.Take(ctx, now, specs)
		if err != nil {
			t.Fatal(err)
		}
		crossed += len(d.Crossed)
	}
	// a stops here, its lease unspent.
	for i := 0; i < 200; i++ {
		d, err := b.Take(ctx, time.Now(), specs)
		if err != nil {
			t.Fatal(err)
		}
		crossed += len(d.Crossed)
	}
	n, _ := rdb.HGet(ctx, b.redisKey(&specs[0]), "n").Int64()
	if n < 250 || crossed != 1 {
		t.Errorf("Redis counted %d against a soft limit of 100 (threshold 50), Crossed reported %d times, want once", n, crossed)
	}
}
