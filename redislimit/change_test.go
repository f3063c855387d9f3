package redislimit

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
)

// clearOf waits, if needed, until the current window of per has at least
// margin left, so that a test stays within one window.
func clearOf(per, margin time.Duration) {
	now := time.Now()
	if left := now.Truncate(per).Add(per).Sub(now); left < margin {
		time.Sleep(left + 5*time.Millisecond)
	}
}

// TestWindowChangeStartsNewCounter: a plan's rate limit edited from fixed
// to rolling keeps its LimitSpec.Key; the rolling counter is a separate
// Redis key, so the script never reads the fixed hash as buckets (a Lua
// error that used to put every counter of the node in outage mode).
func TestWindowChangeStartsNewCounter(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := exact(t, rdb)
	ctx := context.Background()
	clearOf(time.Minute, 5*time.Second)
	fixed := portico.LimitSpec{Key: "sub/rate", Limit: 100, Per: portico.Minute, OnError: portico.DatastoreClosed}
	rolling := fixed
	rolling.Window = portico.Rolling
	for _, sp := range []portico.LimitSpec{fixed, rolling, fixed} {
		d, err := l.Take(ctx, time.Now(), []portico.LimitSpec{sp})
		if err != nil || !d.Allowed || d.Unavailable {
			t.Fatalf("%s window: %+v %v", sp.Window, d, err)
		}
	}
	if fk, rk := l.redisKey(&fixed), l.redisKey(&rolling); fk == rk {
		t.Fatalf("fixed and rolling share the Redis key %q", fk)
	}
	if n, err := rdb.HGet(ctx, l.redisKey(&fixed), "n").Int64(); err != nil || n != 2 {
		t.Errorf("fixed counter %d (%v), want 2", n, err)
	}
}

// TestSoftToHardStartsOver: a soft quota edited to hard with the same
// limit, after Redis counted past the limit: the node drops the lease it
// took for the soft quota (whose units are numbered past the limit) and
// admits nothing more in the window.
func TestSoftToHardStartsOver(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := New(rdb, "test:{c}:lim:")
	ctx := context.Background()
	clearOf(time.Hour, 10*time.Second)
	soft := []portico.LimitSpec{{Key: "sub/quota", Limit: 100, Per: portico.Hour, Soft: true}}
	hard := []portico.LimitSpec{{Key: "sub/quota", Limit: 100, Per: portico.Hour}}
	now := time.Now()
	for i := 0; i < 110; i++ {
		now = now.Add(time.Millisecond)
		if _, err := l.Take(ctx, now, soft); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := rdb.HGet(ctx, l.redisKey(&soft[0]), "n").Int64()
	if n < 110 {
		t.Fatalf("Redis counted %d, want at least 110", n)
	}
	for i := 0; i < 100; i++ {
		now = now.Add(time.Millisecond)
		d, err := l.Take(ctx, now, hard)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			t.Fatalf("request %d admitted by the hard quota of 100 with %d counted", i, n)
		}
	}
}

// TestPeriodChangeStartsOver: a rate limit edited from 100/hour to
// 100/minute keeps key and limit. The node's lease of the hour window
// (units counted only in the hour's counter) is not spent in the minute
// window: one minute window admits at most 100 across two nodes.
func TestPeriodChangeStartsOver(t *testing.T) {
	_, a, b := leasedAndExact(t)
	ctx := context.Background()
	clearOf(time.Hour, 70*time.Second)
	if time.Now().Minute() == 0 {
		atWindowStart(time.Minute) // the hour's and the minute's windows start together
	}
	clearOf(time.Minute, 10*time.Second)
	hour := []portico.LimitSpec{{Key: "sub/rate", Limit: 100, Per: portico.Hour}}
	minute := []portico.LimitSpec{{Key: "sub/rate", Limit: 100, Per: portico.Minute}}
	now := time.Now()
	for i := 0; i < 5; i++ { // a's lease grows with its rate
		now = now.Add(time.Millisecond)
		if _, err := a.Take(ctx, now, hour); err != nil {
			t.Fatal(err)
		}
	}
	m := time.Now().Truncate(time.Minute)
	admitted := 0
	for i := 0; i < 150; i++ {
		if d, _ := b.Take(ctx, time.Now(), minute); d.Allowed {
			admitted++
		}
	}
	for i := 0; i < 150; i++ {
		now = now.Add(time.Millisecond)
		if d, _ := a.Take(ctx, now, minute); d.Allowed {
			admitted++
		}
	}
	if !time.Now().Truncate(time.Minute).Equal(m) {
		t.Fatal("the minute ended during the test")
	}
	if admitted != 100 {
		t.Errorf("admitted %d in one minute window, want the limit of 100", admitted)
	}
}

// TestRaisedLimitUnblocks: a node whose first reply on a counter in this
// window was Redis's rejection knows it used up until the window ends;
// when the plan's limit is raised, it asks Redis again instead of
// rejecting locally for the rest of the window.
func TestRaisedLimitUnblocks(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	a, b := New(rdb, "test:{c}:lim:"), New(rdb, "test:{c}:lim:")
	ctx := context.Background()
	clearOf(time.Hour, 10*time.Second)
	five := []portico.LimitSpec{{Key: "sub/quota", Limit: 5, Per: portico.Hour}}
	ten := []portico.LimitSpec{{Key: "sub/quota", Limit: 10, Per: portico.Hour}}
	for i := 0; i < 5; i++ {
		if d, err := a.Take(ctx, time.Now(), five); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	if d, _ := b.Take(ctx, time.Now(), five); d.Allowed {
		t.Fatal("6th of 5 admitted")
	}
	trips := b.RoundTrips()
	if d, _ := b.Take(ctx, time.Now(), five); d.Allowed || b.RoundTrips() != trips {
		t.Fatalf("7th of 5: %+v, %d round trips; want rejected locally", d, b.RoundTrips()-trips)
	}
	for _, l := range []*Limiter{a, b} {
		if d, err := l.Take(ctx, time.Now(), ten); err != nil || !d.Allowed {
			t.Fatalf("limit raised from 5 to 10 with 5 counted: %+v %v, want admitted", d, err)
		}
	}
}

// TestCountsOfEarlierReleasesHold: a node of an earlier release counted a
// hard monthly quota as HSET prefix+Key s <window start> n <count>, with
// no period. The counter keeps that name and honours that count, so an
// upgrade does not grant a used-up quota again (and old and new nodes of
// a rolling upgrade count in one place).
func TestCountsOfEarlierReleasesHold(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	ctx := context.Background()
	now := time.Now()
	const prefix = "portico:{default}:lim:"
	if err := rdb.HSet(ctx, prefix+"sub1/quota", "s", refStart(portico.Month, now).Unix(), "n", 10).Err(); err != nil {
		t.Fatal(err)
	}
	l := New(rdb, prefix)
	l.LeaseFor = -1
	sp := []portico.LimitSpec{{Key: "sub1/quota", Limit: 10, Per: portico.Month, Window: portico.Fixed}}
	for i := range 5 {
		if d, err := l.Take(ctx, now, sp); err != nil || d.Allowed {
			t.Fatalf("request %d after the upgrade: %+v %v; the month's quota of 10 was used up before it", i, d, err)
		}
	}
}

// TestRollingPeriodEditStartsOver: a rolling limit edited from per minute
// to per hour counts in a counter of its own, whose buckets are an hour's
// width; the minute's buckets, read as an hour's, lay far in the future
// (Retry-After of a million hours) or never aged out.
func TestRollingPeriodEditStartsOver(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := exact(t, rdb)
	ctx := context.Background()
	minute := portico.LimitSpec{Key: "sub/rate", Limit: 3, Per: portico.Minute, Window: portico.Rolling, OnError: portico.DatastoreClosed}
	hour := minute
	hour.Per = portico.Hour
	for i := range 3 {
		if d, err := l.Take(ctx, time.Now(), []portico.LimitSpec{minute}); err != nil || !d.Allowed {
			t.Fatalf("take %d: %+v %v", i, d, err)
		}
	}
	for i := range 3 {
		if d, err := l.Take(ctx, time.Now(), []portico.LimitSpec{hour}); err != nil || !d.Allowed {
			t.Fatalf("take %d per hour after the edit: %+v %v", i, d, err)
		}
	}
	d, err := l.Take(ctx, time.Now(), []portico.LimitSpec{hour})
	// The oldest bucket counts whole: it frees within a period and a
	// bucket (an hour and a minute).
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Hour+time.Minute {
		t.Errorf("4th per hour: %+v %v; want rejected with Retry-After within the hour and a bucket", d, err)
	}
}
