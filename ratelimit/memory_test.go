package ratelimit

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// step is one Take at a time and the Decision it must return.
type step struct {
	at    string
	specs []portico.LimitSpec // nil: the specs of the previous step
	want  portico.Decision
}

func fixed(key string, limit int64, per portico.Period) portico.LimitSpec {
	return portico.LimitSpec{Key: key, Limit: limit, Per: per, Window: portico.Fixed}
}

func rollingSpec(key string, limit int64, per portico.Period) portico.LimitSpec {
	return portico.LimitSpec{Key: key, Limit: limit, Per: per, Window: portico.Rolling}
}

func soft(key string, limit int64, per portico.Period, threshold int) portico.LimitSpec {
	return portico.LimitSpec{Key: key, Limit: limit, Per: per, Window: portico.Fixed, Soft: true, Threshold: threshold}
}

func specs(s ...portico.LimitSpec) []portico.LimitSpec { return s }

func allow(limit, remaining int64, reset time.Duration) portico.Decision {
	return portico.Decision{Allowed: true, Limit: limit, Remaining: remaining, Reset: reset}
}

func reached(d portico.Decision, keys ...string) portico.Decision {
	d.Reached = keys
	return d
}

func crossed(d portico.Decision, keys ...string) portico.Decision {
	d.Crossed = keys
	return d
}

func reject(key string, limit int64, wait time.Duration) portico.Decision {
	return portico.Decision{Limit: limit, Reset: wait, RetryAfter: wait, Rejected: key}
}

const day = 24 * time.Hour

func runSteps(t *testing.T, m *Memory, steps []step) {
	t.Helper()
	var sp []portico.LimitSpec
	for i, s := range steps {
		if s.specs != nil {
			sp = s.specs
		}
		got, err := m.Take(context.Background(), ts(t, s.at), sp)
		if err != nil {
			t.Fatalf("step %d at %s: %v", i, s.at, err)
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d at %s:\n got %+v\nwant %+v", i, s.at, got, s.want)
		}
	}
}

func TestTake(t *testing.T) {
	tests := []struct {
		name    string
		buckets int
		steps   []step
	}{
		{name: "no specs", steps: []step{
			{"2028-02-29T12:00:00Z", specs(), portico.Decision{Allowed: true}},
		}},
		{name: "fixed second edges", steps: []step{
			{"2028-02-29T12:00:00.5Z", specs(fixed("r", 2, portico.Second)), allow(2, 1, 500*time.Millisecond)},
			{"2028-02-29T12:00:00.999999999Z", nil, reached(allow(2, 0, 1), "r")},
			{"2028-02-29T12:00:00.999999999Z", nil, reject("r", 2, 1)},
			{"2028-02-29T12:00:01Z", nil, allow(2, 1, time.Second)},
			{"2028-02-29T12:00:01.000000001Z", nil, reached(allow(2, 0, time.Second-1), "r")},
			{"2028-02-29T12:00:01.5Z", nil, reject("r", 2, 500*time.Millisecond)},
		}},
		{name: "fixed minute edges", steps: []step{
			{"2028-02-29T12:00:59.999999999Z", specs(fixed("r", 1, portico.Minute)), reached(allow(1, 0, 1), "r")},
			{"2028-02-29T12:01:00Z", nil, reached(allow(1, 0, time.Minute), "r")},
			{"2028-02-29T12:01:30Z", nil, reject("r", 1, 30*time.Second)},
			{"2028-02-29T12:01:59.999999999Z", nil, reject("r", 1, 1)},
			{"2028-02-29T12:02:00Z", nil, reached(allow(1, 0, time.Minute), "r")},
		}},
		{name: "fixed hour edges", steps: []step{
			{"2028-02-29T12:59:59Z", specs(fixed("r", 1, portico.Hour)), reached(allow(1, 0, time.Second), "r")},
			{"2028-02-29T12:59:59.999999999Z", nil, reject("r", 1, 1)},
			{"2028-02-29T13:00:00Z", nil, reached(allow(1, 0, time.Hour), "r")},
		}},
		{name: "day quota Jan 31 to Feb 1", steps: []step{
			{"2028-01-31T00:00:00Z", specs(fixed("q", 2, portico.Day)), allow(2, 1, day)},
			{"2028-01-31T23:59:59.999999998Z", nil, reached(allow(2, 0, 2), "q")},
			{"2028-01-31T23:59:59.999999999Z", nil, reject("q", 2, 1)},
			{"2028-02-01T00:00:00Z", nil, allow(2, 1, day)},
		}},
		{name: "month quota Jan 31 to Feb 1 and leap Feb", steps: []step{
			{"2028-01-31T00:00:00Z", specs(fixed("q", 2, portico.Month)), allow(2, 1, day)},
			{"2028-01-31T23:59:59.999999998Z", nil, reached(allow(2, 0, 2), "q")},
			{"2028-01-31T23:59:59.999999999Z", nil, reject("q", 2, 1)},
			{"2028-02-01T00:00:00Z", nil, allow(2, 1, 29*day)},
			{"2028-02-28T23:59:59Z", nil, reached(allow(2, 0, day+time.Second), "q")},
			{"2028-02-29T23:59:59.999999999Z", nil, reject("q", 2, 1)},
			{"2028-03-01T00:00:00Z", nil, allow(2, 1, 31*day)},
		}},
		{name: "month quota in a common year", steps: []step{
			{"2027-02-01T00:00:00Z", specs(fixed("q", 1, portico.Month)), reached(allow(1, 0, 28*day), "q")},
			{"2027-02-28T23:59:59.999999999Z", nil, reject("q", 1, 1)},
			{"2027-03-01T00:00:00Z", nil, reached(allow(1, 0, 31*day), "q")},
			{"2027-04-15T00:00:00Z", nil, reached(allow(1, 0, 16*day), "q")},
		}},
		{name: "month quota Dec 31 to Jan 1", steps: []step{
			{"2028-12-31T23:59:59.999999999Z", specs(fixed("q", 1, portico.Month)), reached(allow(1, 0, 1), "q")},
			{"2028-12-31T23:59:59.999999999Z", nil, reject("q", 1, 1)},
			{"2029-01-01T00:00:00Z", nil, reached(allow(1, 0, 31*day), "q")},
			{"2029-01-31T23:59:59.999999999Z", nil, reject("q", 1, 1)},
		}},
		{name: "week quota starts on Monday", steps: []step{
			// 2028-01-02 is a Sunday, 2028-01-03 a Monday.
			{"2028-01-02T12:00:00Z", specs(fixed("q", 1, portico.Week)), reached(allow(1, 0, 12*time.Hour), "q")},
			{"2028-01-02T23:59:59.999999999Z", nil, reject("q", 1, 1)},
			{"2028-01-03T00:00:00Z", nil, reached(allow(1, 0, 7*day), "q")},
			{"2028-01-06T00:00:00Z", nil, reject("q", 1, 4*day)},
			{"2028-01-09T23:59:59.999999999Z", nil, reject("q", 1, 1)},
			{"2028-01-10T00:00:00Z", nil, reached(allow(1, 0, 7*day), "q")},
		}},
		{name: "fixed admits 2x limit across a window boundary", steps: []step{
			{"2028-02-29T12:00:59.9Z", specs(fixed("r", 3, portico.Minute)), allow(3, 2, 100*time.Millisecond)},
			{"2028-02-29T12:00:59.9Z", nil, allow(3, 1, 100*time.Millisecond)},
			{"2028-02-29T12:00:59.9Z", nil, reached(allow(3, 0, 100*time.Millisecond), "r")},
			{"2028-02-29T12:01:00Z", nil, allow(3, 2, time.Minute)},
			{"2028-02-29T12:01:00Z", nil, allow(3, 1, time.Minute)},
			{"2028-02-29T12:01:00Z", nil, reached(allow(3, 0, time.Minute), "r")},
		}},
		{name: "rolling does not admit 2x limit across a window boundary", steps: []step{
			// 60 buckets of 1s; the bucket [12:00:59, 12:01:00) counts
			// until 12:01:59.999999999, when 12:01:00 is the oldest instant
			// of (t-1m, t].
			{"2028-02-29T12:00:59.9Z", specs(rollingSpec("r", 3, portico.Minute)), allow(3, 2, time.Minute+100*time.Millisecond-1)},
			{"2028-02-29T12:00:59.9Z", nil, allow(3, 1, time.Minute+100*time.Millisecond-1)},
			{"2028-02-29T12:00:59.9Z", nil, reached(allow(3, 0, time.Minute+100*time.Millisecond-1), "r")},
			{"2028-02-29T12:01:00Z", nil, reject("r", 3, time.Minute-1)},
			{"2028-02-29T12:01:59.999999998Z", nil, reject("r", 3, 1)},
			{"2028-02-29T12:01:59.999999999Z", nil, allow(3, 2, time.Minute)},
		}},
		{name: "rolling edges with 4 buckets", buckets: 4, steps: []step{
			// Buckets of 15s; the bucket [12:00:00, 12:00:15) counts until
			// 12:01:14.999999999.
			{"2028-02-29T12:00:00Z", specs(rollingSpec("r", 2, portico.Minute)), allow(2, 1, 75*time.Second-1)},
			{"2028-02-29T12:00:10Z", nil, reached(allow(2, 0, 65*time.Second-1), "r")},
			{"2028-02-29T12:00:20Z", nil, reject("r", 2, 55*time.Second-1)},
			{"2028-02-29T12:01:14.999999998Z", nil, reject("r", 2, 1)},
			{"2028-02-29T12:01:14.999999999Z", nil, allow(2, 1, time.Minute)},
			{"2028-02-29T12:01:15Z", nil, reached(allow(2, 0, time.Minute-1), "r")},
		}},
		{name: "rolling retry waits for several buckets", buckets: 4, steps: []step{
			{"2028-02-29T12:00:00Z", specs(rollingSpec("r", 3, portico.Minute)), allow(3, 2, 75*time.Second-1)},
			{"2028-02-29T12:00:20Z", nil, allow(3, 1, 55*time.Second-1)},
			{"2028-02-29T12:00:40Z", nil, reached(allow(3, 0, 35*time.Second-1), "r")},
			{"2028-02-29T12:00:50Z", nil, reject("r", 3, 25*time.Second-1)},
			// The plan drops to 1 per minute: two of the counted requests
			// (12:00:20 and 12:00:40) must expire before one more passes.
			{"2028-02-29T12:01:20Z", specs(rollingSpec("r", 1, portico.Minute)), reject("r", 1, 25*time.Second-1)},
			{"2028-02-29T12:01:44.999999999Z", nil, reached(allow(1, 0, time.Minute), "r")},
		}},
		{name: "rolling over an hour with default buckets", steps: []step{
			// Buckets of 1m.
			{"2028-02-29T12:00:30Z", specs(rollingSpec("r", 1, portico.Hour)), reached(allow(1, 0, time.Hour+30*time.Second-1), "r")},
			{"2028-02-29T13:00:59.999999998Z", nil, reject("r", 1, 1)},
			{"2028-02-29T13:00:59.999999999Z", nil, reached(allow(1, 0, time.Hour), "r")},
		}},
		{name: "soft threshold crossed once per period", steps: []step{
			{"2028-02-29T10:00:00Z", specs(soft("s", 4, portico.Day, 50)), allow(4, 3, 14*time.Hour)},
			{"2028-02-29T11:00:00Z", nil, crossed(allow(4, 2, 13*time.Hour), "s")},
			{"2028-02-29T12:00:00Z", nil, allow(4, 1, 12*time.Hour)},
			{"2028-02-29T13:00:00Z", nil, allow(4, 0, 11*time.Hour)},
			{"2028-02-29T14:00:00Z", nil, allow(4, 0, 10*time.Hour)},
			{"2028-03-01T00:00:00Z", nil, allow(4, 3, day)},
			{"2028-03-01T01:00:00Z", nil, crossed(allow(4, 2, 23*time.Hour), "s")},
		}},
		{name: "soft threshold defaults to 80 percent", steps: []step{
			// ceil(6·80/100) = 5
			{"2028-02-29T10:00:00Z", specs(soft("s", 6, portico.Day, 0)), allow(6, 5, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, allow(6, 4, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, allow(6, 3, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, allow(6, 2, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, crossed(allow(6, 1, 14*time.Hour), "s")},
			{"2028-02-29T10:00:00Z", nil, allow(6, 0, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, allow(6, 0, 14*time.Hour)},
		}},
		{name: "soft quota with a hard rate limit", steps: []step{
			// The decision describes the hard counter; the soft one only
			// reports its crossing (ceil(2·50/100) = 1).
			{"2028-02-29T10:00:00Z", specs(fixed("r", 5, portico.Minute), soft("s", 2, portico.Month, 50)), crossed(allow(5, 4, time.Minute), "s")},
			{"2028-02-29T10:00:00Z", nil, allow(5, 3, time.Minute)},
			{"2028-02-29T10:00:00Z", nil, allow(5, 2, time.Minute)},
		}},
		{name: "hard quota reached once", steps: []step{
			{"2028-02-29T10:00:00Z", specs(fixed("q", 3, portico.Day)), allow(3, 2, 14*time.Hour)},
			{"2028-02-29T11:00:00Z", nil, allow(3, 1, 13*time.Hour)},
			{"2028-02-29T12:00:00Z", nil, reached(allow(3, 0, 12*time.Hour), "q")},
			{"2028-02-29T13:00:00Z", nil, reject("q", 3, 11*time.Hour)},
			{"2028-02-29T14:00:00Z", nil, reject("q", 3, 10*time.Hour)},
			{"2028-03-01T00:00:00Z", nil, allow(3, 2, day)},
		}},
		{name: "a rate-limit rejection does not use quota", steps: []step{
			{"2028-02-29T10:00:00Z", specs(fixed("rate", 1, portico.Second), fixed("quota", 3, portico.Day)), reached(allow(1, 0, time.Second), "rate")},
			{"2028-02-29T10:00:00.5Z", nil, reject("rate", 1, 500*time.Millisecond)},
			{"2028-02-29T10:00:00.7Z", nil, reject("rate", 1, 300*time.Millisecond)},
			{"2028-02-29T10:00:01Z", nil, reached(allow(1, 0, time.Second), "rate")},
			// Had the rejections counted, the quota would be used up here.
			{"2028-02-29T10:00:02Z", nil, reached(allow(1, 0, time.Second), "rate", "quota")},
			{"2028-02-29T10:00:03Z", nil, reject("quota", 3, 14*time.Hour-3*time.Second)},
			// ... and a quota rejection does not use the rate limit.
			{"2028-02-29T10:00:03.5Z", nil, reject("quota", 3, 14*time.Hour-3500*time.Millisecond)},
		}},
		{name: "the decision describes the counter closest to rejecting", steps: []step{
			{"2028-02-29T10:00:00Z", specs(fixed("rate", 10, portico.Minute), fixed("quota", 3, portico.Day)), allow(3, 2, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, allow(3, 1, 14*time.Hour)},
			{"2028-02-29T10:00:00Z", nil, reached(allow(3, 0, 14*time.Hour), "quota")},
			{"2028-02-29T10:00:00Z", nil, reject("quota", 3, 14*time.Hour)},
		}},
		{name: "the longest wait rejects", steps: []step{
			{"2028-02-29T12:00:00Z", specs(fixed("a", 1, portico.Minute), fixed("b", 1, portico.Hour)), reached(allow(1, 0, time.Minute), "a", "b")},
			{"2028-02-29T12:00:01Z", nil, reject("b", 1, time.Hour-time.Second)},
			{"2028-02-29T12:01:00Z", nil, reject("b", 1, time.Hour-time.Minute)},
		}},
		{name: "an earlier time counts at the latest seen", steps: []step{
			{"2028-02-29T12:00:01Z", specs(fixed("r", 1, portico.Second)), reached(allow(1, 0, time.Second), "r")},
			{"2028-02-29T12:00:00.5Z", nil, reject("r", 1, time.Second)},
			{"2028-02-29T12:00:02Z", nil, reached(allow(1, 0, time.Second), "r")},
		}},
		{name: "an empty window is fixed", steps: []step{
			{"2028-02-29T12:00:59Z", specs(portico.LimitSpec{Key: "r", Limit: 1, Per: portico.Minute}), reached(allow(1, 0, time.Second), "r")},
			{"2028-02-29T12:01:00Z", nil, reached(allow(1, 0, time.Minute), "r")},
		}},
		{name: "a changed period starts a new counter", steps: []step{
			{"2028-02-29T12:00:00Z", specs(fixed("r", 1, portico.Minute)), reached(allow(1, 0, time.Minute), "r")},
			{"2028-02-29T12:00:30Z", specs(fixed("r", 1, portico.Hour)), reached(allow(1, 0, 59*time.Minute+30*time.Second), "r")},
			{"2028-02-29T12:01:30Z", nil, reject("r", 1, 58*time.Minute+30*time.Second)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, &Memory{Buckets: tt.buckets}, tt.steps)
		})
	}
}

func TestTakeInvalid(t *testing.T) {
	ok := fixed("ok", 1, portico.Minute)
	bad := []portico.LimitSpec{
		fixed("zero", 0, portico.Minute),
		fixed("negative", -1, portico.Minute),
		fixed("no period", 1, ""),
		fixed("fortnight", 1, "fortnight"),
		rollingSpec("rolling month", 1, portico.Month),
		{Key: "sliding", Limit: 1, Per: portico.Minute, Window: "sliding"},
	}
	var m Memory
	now := ts(t, "2028-02-29T12:00:00Z")
	for _, b := range bad {
		d, err := m.Take(context.Background(), now, specs(ok, b))
		if portico.ErrorCodeOf(err) != portico.EInvalid || d.Allowed {
			t.Errorf("%s: Take = %+v, %v; want an %s error", b.Key, d, err, portico.EInvalid)
		}
	}
	// Nothing was counted.
	d, err := m.Take(context.Background(), now, specs(ok))
	if err != nil || !d.Allowed {
		t.Errorf("after invalid specs: Take = %+v, %v; want allowed", d, err)
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		limit     int64
		threshold int
		want      int64
	}{
		{10, 0, 8},
		{10, 80, 8},
		{10, 50, 5},
		{3, 50, 2},
		{1, 0, 1},
		{1, 1, 1},
		{1000, 1, 10},
		{1001, 1, 11},
		{10, -5, 8},
		{10, 150, 10},
		{9_000_000_000_000_000_000, 90, 8_100_000_000_000_000_000},
		{9_000_000_000_000_000_001, 90, 8_100_000_000_000_000_001},
	}
	for _, tt := range tests {
		sp := soft("s", tt.limit, portico.Day, tt.threshold)
		if got := sp.ThresholdCount(); got != tt.want {
			t.Errorf("threshold(limit %d, %d%%) = %d, want %d", tt.limit, tt.threshold, got, tt.want)
		}
	}
}
