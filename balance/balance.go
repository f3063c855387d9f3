// Package balance selects the target of an API's endpoint for each
// request: smooth weighted round robin, as nginx does it, over the targets
// that are not cooling down after a failure.
//
// A proxy picks a target, and on failure marks it down and picks again
// among the targets it has not tried yet:
//
//	var tried uint64
//	for {
//		i, ok := b.Pick(now, tried)
//		if !ok {
//			return 502 // every target is down or tried
//		}
//		tried |= 1 << i
//		if err := send(b.URL(i)); err != nil {
//			if b.MarkDown(i, now) {
//				notify("endpoint down", b.Target(i))
//			}
//			continue
//		}
//		b.MarkUp(i)
//		return
//	}
package balance

import (
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// DefaultCooldown is how long a target marked down is skipped when
// Balancer.Cooldown is 0.
const DefaultCooldown = 10 * time.Second

// Balancer picks targets of one endpoint by smooth weighted round robin.
// Each pick adds every eligible target's weight to its current value,
// picks the target with the largest current value (the first in target
// order on ties) and subtracts the eligible targets' total weight from
// it. Over every run of sum(weights) consecutive picks each target is
// picked exactly its weight times, spread out: weights 5, 1, 1 give
// a a b a c a a.
//
// A target marked down is cooling down: Pick skips it, and the others
// share its traffic by their weights, as if it were not there; its own
// current value waits unchanged. Once the cool-down has passed, the
// target is eligible again; the first Pick that chooses it sends it a
// single probe and starts a new cool-down, so that no further requests go
// to it until the caller reports the probe's outcome with MarkUp (it is
// back) or MarkDown (another cool-down).
//
// A Balancer is safe for concurrent use. Make it with New. Methods that
// take a target index i panic unless 0 <= i < Len().
type Balancer struct {
	// Cooldown is how long a target marked down is skipped before it is
	// probed again; 0 or less means DefaultCooldown. Set it before the
	// first Pick or MarkDown.
	Cooldown time.Duration

	mu      sync.Mutex
	targets []target
}

type target struct {
	portico.Target
	url *url.URL // nil if Target.URL is not an absolute URL

	// Guarded by mu.
	current int
	retryAt int64 // Unix ns; while down, when the next probe may go

	down atomic.Bool // written under mu; read without it by MarkUp
}

// New returns a Balancer over the targets of ep, which it copies. A single
// endpoint uses its first target only. Weights count only for
// weighted_round_robin: any other algorithm weighs every target 1, and a
// weight of 0 or less counts as 1. A target whose URL is not an absolute
// URL with a host is never picked.
func New(ep portico.Endpoint) *Balancer {
	ts := ep.Targets
	if ep.Type == portico.Single && len(ts) > 1 {
		ts = ts[:1]
	}
	b := &Balancer{targets: make([]target, len(ts))}
	for i, t := range ts {
		if ep.Algorithm != portico.WeightedRoundRobin || t.Weight <= 0 {
			t.Weight = 1
		}
		b.targets[i].Target = t
		if u, err := url.Parse(t.URL); err == nil && u.IsAbs() && u.Host != "" {
			b.targets[i].url = u
		}
	}
	return b
}

// Len returns the number of targets.
func (b *Balancer) Len() int { return len(b.targets) }

// Target returns target i, with the weight the Balancer gives it.
func (b *Balancer) Target(i int) portico.Target { return b.targets[i].Target }

// URL returns the parsed URL of target i, or nil if it does not parse. The
// URL is shared: callers must not modify it.
func (b *Balancer) URL(i int) *url.URL { return b.targets[i].url }

// Pick returns the index of the next target at time now, skipping targets
// that are cooling down and those whose bit is set in tried (bit i for
// target i; targets from 64 on cannot be excluded this way). It returns
// ok false at once when no target is left. Pick does not allocate.
//
// A balancer of one target never skips it for a cool-down (as nginx does
// with a one-server upstream): with nowhere else to go, every request is a
// probe, and the backend's recovery is seen at once.
func (b *Balancer) Pick(now time.Time, tried uint64) (i int, ok bool) {
	if len(b.targets) == 1 {
		if b.targets[0].url == nil || tried&1 != 0 {
			return -1, false
		}
		return 0, true
	}
	t := now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	best, total := -1, 0
	for i := range b.targets {
		x := &b.targets[i]
		if x.url == nil || (i < 64 && tried&(1<<i) != 0) || (x.down.Load() && t < x.retryAt) {
			continue
		}
		x.current += x.Weight
		total += x.Weight
		if best < 0 || x.current > b.targets[best].current {
			best = i
		}
	}
	if best < 0 {
		return -1, false
	}
	x := &b.targets[best]
	x.current -= total
	if x.down.Load() {
		x.retryAt = t + b.cooldown() // the probe; hold the rest back
	}
	return best, true
}

// MarkDown reports that target i failed at time now: it is skipped until
// the cool-down has passed. MarkDown reports whether the target was up
// until now, so that the caller announces an outage once; while a target
// is down, MarkDown only restarts its cool-down.
func (b *Balancer) MarkDown(i int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	x := &b.targets[i]
	x.retryAt = now.UnixNano() + b.cooldown()
	return !x.down.Swap(true)
}

// MarkUp reports that target i answered: a target that was down is back
// in rotation. For a target that is up it takes no lock, so calling it
// after every success is cheap.
func (b *Balancer) MarkUp(i int) {
	x := &b.targets[i]
	if !x.down.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	x.down.Store(false)
}

func (b *Balancer) cooldown() int64 {
	if b.Cooldown <= 0 {
		return int64(DefaultCooldown)
	}
	return int64(b.Cooldown)
}

// Down reports whether target i is marked down (cooling down or waiting
// for the outcome of its probe).
func (b *Balancer) Down(i int) bool { return b.targets[i].down.Load() }
