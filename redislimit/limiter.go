package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
	"github.com/redis/go-redis/v9"
)

// Defaults of the Limiter's zero-valued fields.
const (
	// DefaultBuckets is the number of buckets a rolling window is split
	// into when Limiter.Buckets is 0, as in the in-process limiter.
	DefaultBuckets = 60
	// DefaultLeaseFor is the traffic a lease is sized for when
	// Limiter.LeaseFor is 0.
	DefaultLeaseFor = 50 * time.Millisecond
	// DefaultBackoff is how long a Limiter leaves Redis alone after a
	// failed call when Limiter.Backoff is 0.
	DefaultBackoff = 500 * time.Millisecond
	// ClosedRetryAfter is the RetryAfter of a request rejected by the
	// closed outage policy.
	ClosedRetryAfter = time.Second
)

// maxLease bounds the units one grant may lease, whatever the rate.
const maxLease = 10000

// maxWaits bounds how often a request waits for another request's grant
// of the same counter before it goes to Redis itself.
const maxWaits = 3

var _ portico.Limiter = (*Limiter)(nil)

// Limiter is a portico.Limiter whose counters live in Redis, shared by
// every node of a cluster. Create it with New; set the exported fields
// before the first Take. It is safe for concurrent use. See the package
// documentation for its guarantees.
type Limiter struct {
	// LiveNodes returns the number of live nodes in the cluster, as last
	// known. It sizes leases (a grant takes at most the remaining budget
	// divided by twice the live nodes) and the local outage policy (each
	// node enforces limit / live nodes). Nil, or a result below 1, means 1.
	LiveNodes func() int

	// Buckets is the number of buckets B a rolling window is split into;
	// 0 or less means DefaultBuckets. All nodes of a cluster must use the
	// same value.
	Buckets int

	// LeaseFor is how much of this node's recent traffic on a fixed
	// counter one lease should cover; 0 means DefaultLeaseFor, a negative
	// value turns leases off (every request is one Redis call).
	LeaseFor time.Duration

	// Backoff is how long after a failed Redis call the Limiter applies
	// the outage policy without trying Redis again (then one request
	// tries it while the others keep the policy until it answers); 0
	// means DefaultBackoff.
	Backoff time.Duration

	rdb       redis.Scripter
	prefix    string
	trips     atomic.Int64
	downUntil atomic.Int64 // Unix ns (the callers' clock); 0 while Redis answers
	probing   atomic.Bool  // a request is probing Redis after a backoff

	mu     sync.Mutex
	leases map[string]*lease // by LimitSpec.Key; a lease of other terms is reset
	floors map[counter]floor
	local  fallback
}

// counter identifies one counter: a LimitSpec's key, period and window.
// A plan edited to another period or window starts a separate counter —
// in Redis and in the floors; a lease taken for another period or window
// is reset (see terms) — instead of reading the old one's count under
// other rules.
type counter struct {
	key  string
	per  portico.Period
	roll bool
}

func counterOf(sp *portico.LimitSpec) counter {
	return counter{key: sp.Key, per: sp.Per, roll: sp.Window == portico.Rolling}
}

// redisKey returns the Redis key of sp's counter: prefix + Key for a
// fixed window — the name counters have always had, so that an upgrade
// keeps the quotas used; the hash also records its period, and a count of
// another period is not taken (see takeLua) — and prefix + Key + "|r|" +
// the period's code for a rolling one, whose buckets are as wide as its
// period makes them, e.g. "portico:{default}:lim:s-1/rate|r|m".
func (l *Limiter) redisKey(sp *portico.LimitSpec) string {
	if sp.Window == portico.Rolling {
		return l.prefix + sp.Key + "|r|" + periodCode[sp.Per]
	}
	return l.prefix + sp.Key
}

// floor is the highest count this node saw Redis report for a fixed
// counter, in the window that ends at end (Redis's clock, µs). Every call
// passes it to the script, which raises a counter of that window that
// counts less back to it: Redis lost the count (restarted without
// persistence, or failed over to a replica that lagged), and the cluster
// admitted at least that many in the window. deadline is the window's end
// on the caller's clock, for Sweep.
type floor struct{ end, count, deadline int64 }

// New returns a Limiter on rdb that keeps each counter under prefix +
// LimitSpec.Key + its period and window (see redisKey), e.g. with prefix
// "portico:{default}:lim:". rdb is usually
// a *redis.Client; a *redis.ClusterClient works when the prefix holds a
// hash tag, so that all counters of a request share a slot.
func New(rdb redis.Scripter, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, leases: make(map[string]*lease), floors: make(map[counter]floor)}
}

// RoundTrips returns the number of Redis calls the Limiter has made.
func (l *Limiter) RoundTrips() int64 { return l.trips.Load() }

func (l *Limiter) nodes() int {
	if l.LiveNodes == nil {
		return 1
	}
	return max(l.LiveNodes(), 1)
}

func (l *Limiter) buckets() int {
	if l.Buckets <= 0 {
		return DefaultBuckets
	}
	return l.Buckets
}

func (l *Limiter) leaseFor() time.Duration {
	if l.LeaseFor == 0 {
		return DefaultLeaseFor
	}
	return l.LeaseFor
}

func (l *Limiter) backoff() time.Duration {
	if l.Backoff <= 0 {
		return DefaultBackoff
	}
	return l.Backoff
}

// Take admits one request at time now against every counter in specs,
// all or nothing (see portico.Limiter). Keys within one call must be
// distinct. A spec with a Limit of 0 or less, an unknown Per or Window, or
// a rolling window over a month makes Take return an EInvalid error and
// count nothing.
//
// A request whose specs are all fixed windows is decided from this node's
// leases when each of its counters holds a leased unit (or rejected when
// one of its hard counters is known to be used up for the rest of its
// window); otherwise Take makes one Redis call that decides it and refills
// the leases. While Redis is unreachable, Take applies each spec's OnError
// policy and returns no error; it returns an error only for invalid specs
// and for a ctx that ends during the call. Any other failed call (an
// error reply) applies the OnError policies to that request alone.
func (l *Limiter) Take(ctx context.Context, now time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	if len(specs) == 0 {
		return portico.Decision{Allowed: true}, nil
	}
	for i := range specs {
		if err := specs[i].Validate(); err != nil {
			return portico.Decision{}, err
		}
	}
	t := now.UnixNano()

	var lbuf [4]*lease
	var wbuf [4]int64
	ls, wants := lbuf[:0], wbuf[:0]
	if len(specs) > len(lbuf) {
		ls, wants = make([]*lease, 0, len(specs)), make([]int64, 0, len(specs))
	}
	for range specs {
		wants = append(wants, 1)
	}
	leasable := l.leaseFor() > 0
	for i := range specs {
		if specs[i].Window == portico.Rolling {
			leasable = false
		}
	}

	var fetch chan struct{}
	if leasable {
		for attempt := 0; ; attempt++ {
			l.mu.Lock()
			ls = ls[:0]
			for i := range specs {
				ls = append(ls, l.lease(&specs[i], t, attempt == 0))
			}
			if d, ok := decideLocal(t, specs, ls); ok {
				l.mu.Unlock()
				return d, nil
			}
			var busy chan struct{}
			for _, x := range ls {
				if x.fetching != nil {
					busy = x.fetching
					break
				}
			}
			if busy != nil && attempt < maxWaits {
				l.mu.Unlock()
				select {
				case <-busy:
					continue
				case <-ctx.Done():
					return portico.Decision{}, ctx.Err()
				}
			}
			fetch = make(chan struct{})
			for i, x := range ls {
				// A counter that still holds units (another counter of
				// the request ran out first) asks only for what tops it
				// up, so its units do not pile up unspent.
				wants[i] = x.want(t, l.leaseFor(), maxLease)
				if x.usable(t) {
					wants[i] = max64(1, wants[i]-x.left())
				}
				if x.fetching == nil {
					x.fetching = fetch
				}
			}
			l.mu.Unlock()
			break
		}
	}

	res, err := l.call(ctx, t, specs, wants)
	if err != nil {
		if fetch != nil {
			l.mu.Lock()
			l.release(ls, fetch)
			l.mu.Unlock()
		}
		if ctx.Err() != nil {
			return portico.Decision{}, ctx.Err()
		}
		return l.outage(t, specs), nil
	}
	return l.apply(t, specs, ls, fetch, res), nil
}

// call makes a request's Redis call at t, or returns errDown while the
// Limiter backs off. A call that finds Redis unreachable starts a backoff;
// when it ends, one request probes Redis while the others keep getting
// errDown until the probe answers, so that a node's waiting requests do
// not all dial a Redis that may still be away.
func (l *Limiter) call(ctx context.Context, t int64, specs []portico.LimitSpec, wants []int64) ([]int64, error) {
	probe := false
	if until := l.downUntil.Load(); until != 0 {
		if t < until || !l.probing.CompareAndSwap(false, true) {
			return nil, errDown
		}
		probe = true
	}
	res, err := l.eval(ctx, specs, wants)
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller gave up: no news of Redis; the next request probes.
	case err != nil && unreachable(err):
		l.downUntil.Store(t + int64(l.backoff()))
	case probe:
		l.downUntil.Store(0) // Redis answered
	}
	if probe {
		l.probing.Store(false)
	}
	return res, err
}

// errDown stands for the last Redis error while the Limiter backs off.
var errDown = errors.New("redislimit: data store down, backing off")

// errReply reports a script reply of the wrong shape.
var errReply = errors.New("redislimit: unexpected script reply")

// unreachable reports whether err means that Redis did not answer — a
// network error, a timeout, a closed client — or answered that it cannot
// serve now (loading its data, a read-only replica, a master or cluster
// down, busy with a script, out of disk or memory, refusing the
// credentials or more clients): the errors that start the
// backoff. Any other error reply is Redis's answer about this call alone.
func unreachable(err error) bool {
	if errors.Is(err, errReply) || errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range unavailableReplies {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// unavailableReplies are the prefixes of error replies by which Redis
// says it cannot serve now, as redisstore classifies them.
var unavailableReplies = [...]string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY ", "NOREPLICAS", "MISCONF", "OOM", "NOAUTH", "WRONGPASS", "ERR max number of clients"}

// lease returns the lease of sp, creating it, or resetting it when it
// was taken for other terms (the spec's limit, period, window or softness
// changed);
// observe counts the request for the rate estimate. l.mu must be held.
func (l *Limiter) lease(sp *portico.LimitSpec, t int64, observe bool) *lease {
	x := l.leases[sp.Key]
	if x == nil {
		x = &lease{}
		l.leases[sp.Key] = x
	} else if x.end != 0 && x.terms != termsOf(sp) {
		*x = lease{fetching: x.fetching}
	}
	if observe {
		x.observe(t)
	}
	return x
}

// release ends the fetch of ls. l.mu must be held.
func (l *Limiter) release(ls []*lease, fetch chan struct{}) {
	for _, x := range ls {
		if x.fetching == fetch {
			x.fetching = nil
		}
	}
	close(fetch)
}

// decideLocal decides a request from leases alone, if it can: a
// rejection when a hard counter is used up for the rest of its window,
// an admission when every counter holds a leased unit — for a hard
// counter, one numbered within its limit. It takes a unit from every
// lease or from none.
func decideLocal(t int64, specs []portico.LimitSpec, ls []*lease) (portico.Decision, bool) {
	rej := -1
	for i, x := range ls {
		if !specs[i].Soft && x.blocked(t) && (rej < 0 || x.deadline > ls[rej].deadline) {
			rej = i
		}
	}
	if rej >= 0 {
		w := time.Duration(ls[rej].deadline - t)
		return portico.Decision{Limit: specs[rej].Limit, Reset: w, RetryAfter: w, Rejected: specs[rej].Key}, true
	}
	for i, x := range ls {
		if !x.usable(t) || (!specs[i].Soft && x.next() > specs[i].Limit) {
			return portico.Decision{}, false
		}
	}
	var d portico.Decision
	d.Allowed = true
	c := closest{}
	for i, x := range ls {
		sp := &specs[i]
		k := x.take()
		c.count(sp, k, time.Duration(x.deadline-t))
	}
	c.fill(&d)
	return d, true
}

// closest picks the counter a Decision describes: the hard counter with
// the fewest remaining requests, or the soft one if there is no hard one.
type closest struct {
	set, hard bool
	limit     int64
	rem       int64
	reset     time.Duration
}

// count records that the request took unit k (the k-th of its window or
// rolling period) of sp, whose capacity frees after reset.
func (c *closest) count(sp *portico.LimitSpec, k int64, reset time.Duration) {
	rem := max64(sp.Limit-k, 0)
	better := !c.set || (!sp.Soft && !c.hard) || (sp.Soft == !c.hard && rem < c.rem)
	if better {
		*c = closest{set: true, hard: !sp.Soft, limit: sp.Limit, rem: rem, reset: reset}
	}
}

func (c *closest) fill(d *portico.Decision) {
	d.Limit, d.Remaining, d.Reset = c.limit, c.rem, c.reset
}

// report adds sp to d's Crossed (soft) or Reached (hard) when Redis
// granted the units numbered from+1 … from+g of its window and the
// threshold's (the limit's) unit is one of them. The request that receives
// a grant reports it, whether it uses that unit or leases it, so a
// crossing is reported once per window across the cluster even if the
// lease holding its unit is lost.
func report(d *portico.Decision, sp *portico.LimitSpec, from, g int64) {
	if sp.Soft {
		if k := sp.ThresholdCount(); from < k && k <= from+g {
			d.Crossed = append(d.Crossed, sp.Key)
		}
	} else if from < sp.Limit && sp.Limit <= from+g {
		d.Reached = append(d.Reached, sp.Key)
	}
}

// apply turns the script's result into a Decision and its grants into
// leases.
func (l *Limiter) apply(t int64, specs []portico.LimitSpec, ls []*lease, fetch chan struct{}, res []int64) portico.Decision {
	allowed := res[0] == 1
	rnow := res[1]
	l.mu.Lock()
	defer l.mu.Unlock()
	if fetch != nil {
		l.release(ls, fetch)
	}
	for i := range specs {
		if specs[i].Window != portico.Rolling {
			count, g, endrel := res[2+4*i], res[3+4*i], res[5+4*i]
			l.raiseFloor(counterOf(&specs[i]), rnow+endrel, count+g, t+endrel*1000)
		}
	}
	var d portico.Decision
	if !allowed {
		rej := -1
		var wait int64
		for i := range specs {
			sp := &specs[i]
			count, w, endrel := res[2+4*i], res[4+4*i], res[5+4*i]
			if sp.Soft || count < sp.Limit {
				continue
			}
			if fetch != nil {
				ls[i].exhaust(rnow+endrel, t+endrel*1000, termsOf(sp))
			}
			if rej < 0 || w > wait {
				rej, wait = i, w
			}
		}
		w := time.Duration(wait) * time.Microsecond
		return portico.Decision{Limit: specs[rej].Limit, Reset: w, RetryAfter: w, Rejected: specs[rej].Key}
	}
	d.Allowed = true
	c := closest{}
	for i := range specs {
		sp := &specs[i]
		count, g, w, endrel := res[2+4*i], res[3+4*i], res[4+4*i], res[5+4*i]
		if fetch != nil {
			full := !sp.Soft && count+g >= sp.Limit
			ls[i].grant(rnow+endrel, t+endrel*1000, count, g, termsOf(sp), full)
		}
		report(&d, sp, count, g)
		c.count(sp, count+1, time.Duration(w)*time.Microsecond)
	}
	c.fill(&d)
	return d
}

// raiseFloor records that Redis counted count in c's window ending at end
// (Redis µs), which ends at deadline on the caller's clock. l.mu must be
// held.
func (l *Limiter) raiseFloor(c counter, end, count, deadline int64) {
	f, ok := l.floors[c]
	if !ok || end > f.end || (end == f.end && count > f.count) {
		l.floors[c] = floor{end: end, count: count, deadline: deadline}
	}
}

// periodCode is the script's name of a period.
var periodCode = map[portico.Period]string{
	portico.Second: "s", portico.Minute: "m", portico.Hour: "h",
	portico.Day: "d", portico.Week: "w", portico.Month: "M",
}

// eval runs the decision script for specs, asking for wants[i] units of
// each, and counts its round trips.
func (l *Limiter) eval(ctx context.Context, specs []portico.LimitSpec, wants []int64) ([]int64, error) {
	keys := make([]string, len(specs))
	args := make([]any, 0, 1+8*len(specs))
	args = append(args, 2*l.nodes())
	var fbuf [4]floor
	fs := fbuf[:0]
	l.mu.Lock()
	for i := range specs {
		fs = append(fs, l.floors[counterOf(&specs[i])])
	}
	l.mu.Unlock()
	for i := range specs {
		sp := &specs[i]
		keys[i] = l.redisKey(sp)
		roll, soft := "0", "0"
		if sp.Window == portico.Rolling {
			roll = "1"
		}
		if sp.Soft {
			soft = "1"
		}
		args = append(args, periodCode[sp.Per], roll, sp.Limit, soft, wants[i], l.buckets(), fs[i].end, fs[i].count)
	}
	l.trips.Add(1)
	v, err := l.rdb.EvalSha(ctx, takeSHA, keys, args...).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		l.trips.Add(1)
		v, err = l.rdb.Eval(ctx, takeLua, keys, args...).Result()
	}
	if err != nil {
		return nil, err
	}
	return ints(v, 2+4*len(specs))
}

// ints converts the script's reply to n integers.
func ints(v any, n int) ([]int64, error) {
	a, ok := v.([]any)
	if !ok || len(a) != n {
		return nil, fmt.Errorf("%w %v", errReply, v)
	}
	out := make([]int64, n)
	for i, x := range a {
		switch x := x.(type) {
		case int64:
			out[i] = x
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w %v", errReply, v)
			}
			out[i] = n
		default:
			return nil, fmt.Errorf("%w %v", errReply, v)
		}
	}
	return out, nil
}

// outage decides a request while Redis is unreachable, by the specs'
// OnError policies: closed rejects the request if any spec has it; local
// specs are decided in-process with their limits divided by the live
// nodes; open specs admit.
func (l *Limiter) outage(t int64, specs []portico.LimitSpec) portico.Decision {
	var buf [4]*portico.LimitSpec
	local := buf[:0]
	for i := range specs {
		sp := &specs[i]
		switch sp.OnError {
		case portico.DatastoreClosed:
			return portico.Decision{Limit: sp.Limit, Reset: ClosedRetryAfter, RetryAfter: ClosedRetryAfter, Rejected: sp.Key, Unavailable: true}
		case portico.DatastoreOpen:
		default:
			local = append(local, sp)
		}
	}
	if len(local) == 0 {
		return portico.Decision{Allowed: true}
	}
	return l.local.take(t, local, l.nodes())
}

// Sweep drops the node-local state that no longer decides anything at
// now: leases and known used-up counters of windows that have ended, and
// outage counters of ended windows. Redis's own counters expire by
// themselves. The owner calls Sweep periodically, e.g. every minute.
func (l *Limiter) Sweep(now time.Time) {
	t := now.UnixNano()
	l.mu.Lock()
	for k, x := range l.leases {
		if x.fetching == nil && t >= x.deadline && t-x.since > maxSample {
			delete(l.leases, k)
		}
	}
	for k, f := range l.floors {
		if t >= f.deadline {
			delete(l.floors, k)
		}
	}
	l.mu.Unlock()
	l.local.sweep(t)
}
