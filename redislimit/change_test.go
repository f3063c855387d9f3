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
