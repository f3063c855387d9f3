package portico

import (
	"context"
	"strings"
	"time"
)

// LimitSpec is one counter that a request is taken against.
type LimitSpec struct {
	Key       string // the counter's name, unique per subscription and limit
	Limit     int64  // at most this many per period; > 0
	Per       Period
	Window    Window // Fixed or Rolling; calendar quotas use Fixed
	Soft      bool   // never reject; report crossing Threshold instead
	Threshold int    // percent of Limit, for soft counters

	// OnError says what a shared limiter does while its data store is
	// unreachable; "" means DatastoreLocal. In-process limiters ignore it.
	OnError DatastoreErrorPolicy
}

// DefaultThreshold is the percentage of a soft counter's limit at which a
// crossing is reported when LimitSpec.Threshold is 0.
const DefaultThreshold = 80

// Validate checks the parts of sp that limiters rely on.
func (sp *LimitSpec) Validate() error {
	if sp.Limit <= 0 {
		return Errorf(EInvalid, "limit %q: limit must be positive, not %d", sp.Key, sp.Limit)
	}
	switch sp.Per {
	case Second, Minute, Hour, Day, Week, Month:
	default:
		return Errorf(EInvalid, "limit %q: unknown period %q", sp.Key, sp.Per)
	}
	switch sp.Window {
	case "", Fixed:
	case Rolling:
		if sp.Per.Duration() == 0 {
			return Errorf(EInvalid, "limit %q: a rolling window needs a fixed-length period, not %q", sp.Key, sp.Per)
		}
	default:
		return Errorf(EInvalid, "limit %q: unknown window %q", sp.Key, sp.Window)
	}
	return nil
}

// ThresholdCount returns the count at which a soft counter's crossing is
// reported: ceil(Limit·Threshold/100), with Threshold 0 or less taken as
// DefaultThreshold and more than 100 as 100.
func (sp *LimitSpec) ThresholdCount() int64 {
	p := int64(sp.Threshold)
	if p <= 0 {
		p = DefaultThreshold
	} else if p > 100 {
		p = 100
	}
	q, r := sp.Limit/100, sp.Limit%100 // no overflow for any Limit
	return q*p + (r*p+99)/100
}

// Decision is a Limiter's answer for one request.
type Decision struct {
	Allowed bool

	// Limit, Remaining and Reset describe the counter closest to rejecting
	// (the one that rejected, when Allowed is false), for the RateLimit-*
	// headers. Reset is the time until that counter frees capacity.
	Limit     int64
	Remaining int64
	Reset     time.Duration

	// RetryAfter is how long to wait before a retry can pass; set when
	// Allowed is false.
	RetryAfter time.Duration

	// Rejected is the key of the counter that rejected the request.
	Rejected string

	// Unavailable is set with Allowed false when the request was rejected
	// because its limit could not be checked (the data store is down and
	// the plan's on_datastore_error is closed), not because it was over.
	Unavailable bool

	// Crossed lists the keys of soft counters whose threshold this request
	// crossed; Reached those of hard counters this request used up. Each
	// crossing is reported once per period.
	Crossed []string
	Reached []string
}

// Limiter takes requests against counters. Implementations are safe for
// concurrent use.
type Limiter interface {
	// Take admits one request at time now against every counter in specs,
	// all or nothing: a request rejected by one counter is counted by none.
	// A nil or empty specs admits the request.
	Take(ctx context.Context, now time.Time, specs []LimitSpec) (Decision, error)
}

// CounterSubject names whose usage a subscription's counters count: the
// application's use of the API. Counter keys start with it, so that usage
// survives cancelling and subscribing again, a change of plan and edits
// that keep the plan; only a new application starts from zero.
func CounterSubject(appID, apiID string) string { return appID + "/" + apiID }

// RekeyCounters returns cs with the keys of counters saved before
// counters followed CounterSubject ("<subscription id>/…") renamed after
// the subscription's application and API in cfg. Counters of one subject
// merge: in the same period their counts add up, else the later period
// wins. Keys that name no subscription of cfg are kept as they are.
func RekeyCounters(cfg *Config, cs []CounterState) []CounterState {
	out := make([]CounterState, 0, len(cs))
	at := make(map[string]int, len(cs))
	for _, c := range cs {
		if to, ok := RenameCounter(cfg, c.Key); ok {
			c.Key = to
		}
		i, seen := at[c.Key]
		switch {
		case !seen:
			at[c.Key] = len(out)
			out = append(out, c)
		case c.Start.Equal(out[i].Start):
			out[i].Count += c.Count
		case c.Start.After(out[i].Start):
			out[i] = c
		}
	}
	return out
}

// RenameCounter returns the name under CounterSubject of a counter key
// saved by a release that keyed counters by subscription
// ("<subscription id>/rate" becomes "<application id>/<API id>/rate"), or
// false when key names no subscription of cfg.
func RenameCounter(cfg *Config, key string) (string, bool) {
	id, rest, ok := strings.Cut(key, "/")
	if !ok {
		return "", false
	}
	s := cfg.Subscriptions.Get(id)
	if s == nil {
		return "", false
	}
	return CounterSubject(s.ApplicationID, s.APIID) + "/" + rest, true
}

// QuotaSpec returns the counter of plan p's quota for application appID's
// use of API apiID, under its CounterSubject; false when p has no quota.
// The gateway counts requests in it, and the admin API reads it to show
// the quota used.
func (p *Plan) QuotaSpec(appID, apiID string) (LimitSpec, bool) {
	q := p.Quota
	if q == nil {
		return LimitSpec{}, false
	}
	threshold := q.Threshold
	if q.Mode == Soft && threshold == 0 {
		threshold = DefaultThreshold
	}
	return LimitSpec{
		Key: CounterSubject(appID, apiID) + "/quota", Limit: q.Limit, Per: q.Per, Window: Fixed,
		Soft: q.Mode == Soft, Threshold: threshold, OnError: p.OnDatastoreError,
	}, true
}

// RateSpec returns the counter of plan p's plan-wide rate limit for
// application appID's use of API apiID; false when p has none.
func (p *Plan) RateSpec(appID, apiID string) (LimitSpec, bool) {
	rl := p.RateLimit
	if rl == nil {
		return LimitSpec{}, false
	}
	win := rl.Window
	if win == "" {
		win = Fixed
	}
	return LimitSpec{Key: CounterSubject(appID, apiID) + "/rate", Limit: rl.Limit, Per: rl.Per, Window: win, OnError: p.OnDatastoreError}, true
}

// CounterUsage is how much of one counter's limit its current window has
// used.
type CounterUsage struct {
	Key   string
	Limit int64
	// Used is the count of the window. A shared limiter counts the units
	// it leased to nodes as used, a few more than the requests admitted.
	Used int64
	// Start and End bound the window: a fixed window's [Start, End), or
	// for a rolling window the period that ends now.
	Start, End time.Time
}

// UsageReader reads counters without counting a request in them. The
// limiters implement it; implementations are safe for concurrent use.
type UsageReader interface {
	// Usage returns the usage of each counter of specs at now, in the
	// order of specs; a counter that has counted nothing is 0 used.
	Usage(ctx context.Context, now time.Time, specs []LimitSpec) ([]CounterUsage, error)
}
