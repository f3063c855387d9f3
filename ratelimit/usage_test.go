package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestUsage reads counters between Takes: what each window counted, 0 for
// a counter of another period or a window that ended, and never a count
// of its own.
func TestUsage(t *testing.T) {
	ctx := context.Background()
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	var m Memory
	quota := fixed("app/api/quota", 3, portico.Month)
	rate := rollingSpec("app/api/rate", 10, portico.Minute)
	for _, s := range []string{"2026-05-31T23:59:00Z", "2026-06-01T00:00:00Z", "2026-06-01T00:00:30Z"} {
		if d, err := m.Take(ctx, at(s), []portico.LimitSpec{rate, quota}); err != nil || !d.Allowed {
			t.Fatalf("take at %s: %+v %v", s, d, err)
		}
	}
	usage := func(now string, specs ...portico.LimitSpec) []portico.CounterUsage {
		t.Helper()
		u, err := m.Usage(ctx, at(now), specs)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, c := range []struct {
		now  string
		spec portico.LimitSpec
		used int64
		from string
		to   string
	}{
		{"2026-06-01T00:00:40Z", quota, 2, "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"}, // June's two, not May's one
		{"2026-06-01T00:00:40Z", rate, 2, "2026-05-31T23:59:40Z", "2026-06-01T00:00:40Z"},  // the minute up to now
		{"2026-06-01T00:01:10Z", rate, 1, "2026-06-01T00:00:10Z", "2026-06-01T00:01:10Z"},
		{"2026-06-01T00:01:40Z", rate, 0, "2026-06-01T00:00:40Z", "2026-06-01T00:01:40Z"},
		{"2026-07-01T00:00:00Z", quota, 0, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"}, // next month
		{"2026-07-01T00:00:00Z", fixed("app/api/quota", 3, portico.Day), 0, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"},
		{"2026-07-01T00:00:00Z", fixed("nobody", 3, portico.Day), 0, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"},
	} {
		u := usage(c.now, c.spec)[0]
		if u.Used != c.used || u.Limit != c.spec.Limit || u.Key != c.spec.Key || !u.Start.Equal(at(c.from)) || !u.End.Equal(at(c.to)) {
			t.Errorf("%s at %s: %+v, want %d used in [%s, %s)", c.spec.Key, c.now, u, c.used, c.from, c.to)
		}
	}

	// Reading counts nothing: a quota of 3 with 2 used still admits one.
	var q Memory
	june := at("2026-06-10T00:00:00Z")
	for range 2 {
		q.Take(ctx, june, []portico.LimitSpec{quota})
	}
	for range 10 {
		if u, _ := q.Usage(ctx, june, []portico.LimitSpec{quota}); u[0].Used != 2 {
			t.Fatalf("used %d, want 2", u[0].Used)
		}
	}
	if d, _ := q.Take(ctx, june, []portico.LimitSpec{quota}); !d.Allowed {
		t.Fatal("the third request of a quota of 3 was refused after reads")
	}
	if d, _ := q.Take(ctx, june, []portico.LimitSpec{quota}); d.Allowed {
		t.Fatal("the fourth request of a quota of 3 was admitted")
	}

	// A restored count is the usage of its period until a Take uses it.
	var r Memory
	r.Restore([]portico.CounterState{{Key: quota.Key, Start: at("2026-06-01T00:00:00Z"), Count: 7}})
	if u, _ := r.Usage(ctx, june, []portico.LimitSpec{quota}); u[0].Used != 7 {
		t.Fatalf("restored usage %d, want 7", u[0].Used)
	}
	if u, _ := r.Usage(ctx, at("2026-07-02T00:00:00Z"), []portico.LimitSpec{quota}); u[0].Used != 0 {
		t.Fatalf("a count restored for June is used %d in July", u[0].Used)
	}

	if _, err := m.Usage(ctx, june, []portico.LimitSpec{{Key: "bad", Limit: 0, Per: portico.Day}}); portico.ErrorCodeOf(err) != portico.EInvalid {
		t.Fatalf("a spec with limit 0: %v, want EInvalid", err)
	}
}
