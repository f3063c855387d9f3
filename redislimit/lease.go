package redislimit

import (
	"time"

	"github.com/portico-gw/portico"
)

// lease is one node's share of a fixed window's budget: units already
// counted in Redis that this node hands out without a round trip. All
// times are the caller's clock in Unix nanoseconds, except end, which is
// Redis's clock in microseconds and only identifies the window. A lease is
// guarded by the Limiter's mutex.
//
// A unit is counted in Redis before it is leased, so a node that spends a
// lease never admits more than Redis counted; units left when the window
// ends are lost (under-admission, never over-admission).
type lease struct {
	end      int64  // the window's end, Redis time in µs; 0 before the first grant
	deadline int64  // units are usable while now < deadline
	spans    []span // leased unit numbers not handed out yet, oldest first
	full     bool   // a hard counter's budget was used up by the last grant
	terms    terms  // what the lease was taken for

	// Rate estimate: seen requests since since, and the smoothed rate.
	since int64
	seen  int64
	rate  float64 // requests per second

	fetching chan struct{} // closed when an in-flight grant is applied
}

// terms are what a lease was taken for. A lease taken for other terms is
// another budget — another counter for another period or window: its
// units are not handed out for these.
type terms struct {
	limit int64
	per   portico.Period
	roll  bool
	soft  bool
}

func termsOf(sp *portico.LimitSpec) terms {
	return terms{limit: sp.Limit, per: sp.Per, roll: sp.Window == portico.Rolling, soft: sp.Soft}
}

// span is a run of unit numbers [next, last]: unit k is the k-th request
// counted in the window across the cluster.
type span struct{ next, last int64 }

// usable reports whether the lease holds a unit for a request at now.
func (l *lease) usable(now int64) bool {
	return now < l.deadline && len(l.spans) > 0
}

// blocked reports whether a hard counter is known to be used up at now:
// Redis had no budget left after the last grant, the window has not ended
// and the lease is spent. It stays used up until the window ends because
// a fixed window's count never goes down.
func (l *lease) blocked(now int64) bool {
	return l.full && now < l.deadline && len(l.spans) == 0
}

// next returns the number of the unit take would hand out; usable must be
// true.
func (l *lease) next() int64 { return l.spans[0].next }

// take hands out the oldest leased unit and returns its number; usable
// must be true.
func (l *lease) take() int64 {
	s := &l.spans[0]
	k := s.next
	if s.next++; s.next > s.last {
		l.spans = l.spans[1:]
	}
	return k
}

// left returns the units still leased.
func (l *lease) left() int64 {
	var n int64
	for _, s := range l.spans {
		n += s.last - s.next + 1
	}
	return n
}

// observe counts one request at now for the rate estimate. The first
// request of a lease starts the first sample; a sample counts the
// requests after its start.
func (l *lease) observe(now int64) {
	if l.since == 0 {
		l.since = now
		return
	}
	l.seen++
}

// Rate estimation constants: samples shorter than minSample are stretched
// to it, so that a burst does not read as an unbounded rate; a sample
// longer than maxSample replaces the estimate instead of being averaged
// into it (the old rate is stale).
const (
	minSample = int64(10 * time.Millisecond)
	maxSample = int64(time.Second)
)

// want returns how many units to ask for at now: enough for target of
// traffic at the observed rate, at least 1 and at most max. It closes the
// current rate sample. At low rates (under one request per target) it is
// 1, so that low limits are decided exactly, one request per round trip.
func (l *lease) want(now int64, target time.Duration, max int64) int64 {
	el := now - l.since
	if l.since != 0 && l.seen > 0 {
		el = min(max64(el, minSample), 4*maxSample)
		inst := float64(l.seen) * float64(time.Second) / float64(el)
		if l.rate == 0 || el >= maxSample {
			l.rate = inst
		} else {
			l.rate = (l.rate + inst) / 2
		}
	}
	l.since, l.seen = now, 0
	n := int64(l.rate * target.Seconds())
	return min(max64(n, 1), max)
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// grant applies a grant of g units numbered from+1 … from+g, of which the
// first is used by the request that asked (so from+2 … from+g are
// leased), in the window ending at end (Redis µs) and usable until the
// local deadline, for a spec with terms tm. full says that the grant used
// up a hard counter. A grant of a later window, or of the same window for
// other terms (the spec changed while the call was in flight), replaces
// the lease; a late grant of an earlier window than the lease's is
// dropped (its units are lost).
func (l *lease) grant(end, deadline, from, g int64, tm terms, full bool) {
	switch {
	case end > l.end || (end == l.end && tm != l.terms):
		l.end, l.deadline, l.spans, l.full, l.terms = end, deadline, l.spans[:0], full, tm
	case end < l.end:
		return
	default:
		l.full = l.full || full
		l.deadline = min(l.deadline, deadline)
	}
	if g > 1 {
		l.spans = append(l.spans, span{next: from + 2, last: from + g})
	}
}

// exhaust records that Redis rejected the counter, for a spec with terms
// tm, in the window ending at end, usable as a local rejection until
// deadline. Like a grant, a rejection for other terms replaces the lease.
func (l *lease) exhaust(end, deadline int64, tm terms) {
	if end > l.end || (end == l.end && tm != l.terms) {
		l.end, l.deadline, l.spans, l.full, l.terms = end, deadline, l.spans[:0], false, tm
	}
	if end == l.end {
		l.full = true
	}
}
