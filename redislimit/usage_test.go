package redislimit

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
)

// TestUsage reads the cluster's counts from two nodes: what both admitted
// in the window, on Redis's clock, without counting a request; 0 for a
// counter of another period; an EUnavailable error while Redis is down.
func TestUsage(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	nodes := [2]*Limiter{New(client(t, s), "test:{u}:lim:"), New(client(t, s), "test:{u}:lim:")}
	for _, l := range nodes {
		l.LeaseFor = -1 // every request one Redis call: counts are exact
	}
	quota := portico.LimitSpec{Key: "app/api/quota", Limit: 9, Per: portico.Month, Window: portico.Fixed}
	rate := portico.LimitSpec{Key: "app/api/rate", Limit: 100, Per: portico.Minute, Window: portico.Rolling}
	for i := range 8 {
		if d, err := nodes[i%2].Take(ctx, time.Now(), []portico.LimitSpec{rate, quota}); err != nil || !d.Allowed {
			t.Fatalf("take %d: %+v %v", i, d, err)
		}
	}
	for range 3 {
		for i, l := range nodes {
			before := time.Now()
			u, err := l.Usage(ctx, time.Now(), []portico.LimitSpec{quota, rate, {Key: quota.Key, Limit: 9, Per: portico.Day}})
			if err != nil {
				t.Fatal(err)
			}
			if u[0].Used != 8 || u[0].Limit != 9 || u[0].Key != quota.Key ||
				!u[0].Start.Equal(refStart(portico.Month, before)) || !u[0].End.Equal(refEnd(portico.Month, before)) {
				t.Errorf("node %d quota: %+v, want 8 of 9 this month", i, u[0])
			}
			if u[1].Used != 8 || u[1].End.Sub(u[1].Start) != time.Minute {
				t.Errorf("node %d rolling rate: %+v, want 8 in the minute up to now", i, u[1])
			}
			if u[2].Used != 0 {
				t.Errorf("node %d: the quota read as a daily counter counts %d, want 0 (another period)", i, u[2].Used)
			}
		}
	}
	// The reads counted nothing: the ninth request passes, the tenth not.
	if d, _ := nodes[0].Take(ctx, time.Now(), []portico.LimitSpec{quota}); !d.Allowed {
		t.Fatal("the ninth request of a quota of 9 was refused after reads")
	}
	if d, _ := nodes[1].Take(ctx, time.Now(), []portico.LimitSpec{quota}); d.Allowed {
		t.Fatal("the tenth request of a quota of 9 was admitted")
	}
	if _, err := nodes[0].Usage(ctx, time.Now(), []portico.LimitSpec{{Key: "bad", Limit: -1, Per: portico.Day}}); portico.ErrorCodeOf(err) != portico.EInvalid {
		t.Fatalf("a spec with limit -1: %v, want EInvalid", err)
	}
	s.Stop()
	if _, err := nodes[0].Usage(ctx, time.Now(), []portico.LimitSpec{quota}); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("with Redis down: %v, want EUnavailable", err)
	}
}
