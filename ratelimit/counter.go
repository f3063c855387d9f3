package ratelimit

import "github.com/portico-gw/portico"

// counter is the state of one key. All times are Unix nanoseconds. A
// counter is guarded by the mutex of its shard.
type counter struct {
	per    portico.Period
	window portico.Window // "" while restored and not used yet

	// last is the latest time the counter has seen; an earlier time (a
	// caller whose clock read lost a race) is taken as last, so windows
	// never move backwards.
	last int64

	// Fixed windows: n requests counted in [start, end). A restored
	// counter has only start and n.
	start, end int64
	n          int64

	r *rolling // rolling windows only
}

func newCounter(per portico.Period, win portico.Window, buckets int, t int64) *counter {
	c := &counter{per: per, window: win, last: t}
	if win == portico.Rolling {
		c.r = newRolling(int64(per.Duration()), buckets, t)
	} else {
		c.start, c.end = window(per, t)
	}
	return c
}

// advance moves the counter to time t and returns the time it counts at:
// t, or the latest time seen if t is earlier.
func (c *counter) advance(t int64) int64 {
	if t < c.last {
		t = c.last
	}
	c.last = t
	if c.r != nil {
		c.r.advance(t)
	} else if t >= c.end {
		c.start, c.end = window(c.per, t)
		c.n = 0
	}
	return t
}

// count returns the requests counted at t, after advance(t).
func (c *counter) count(t int64) int64 {
	if c.r != nil {
		return c.r.count(t)
	}
	return c.n
}

// add counts one request at t, after advance(t).
func (c *counter) add() {
	if c.r != nil {
		c.r.add()
		return
	}
	c.n++
}

// wait returns how long after t the count drops by need (≥ 1): the end of
// the window for a fixed counter, the expiry of enough old buckets for a
// rolling one.
func (c *counter) wait(t, need int64) int64 {
	if c.r != nil {
		return c.r.wait(t, need)
	}
	return c.end - t
}

// expired reports whether the counter counts nothing at t and later, so
// dropping it changes no decision.
func (c *counter) expired(t int64) bool {
	switch {
	case c.window == "":
		return t >= c.start+nsMaxMonth
	case c.r != nil:
		return c.r.sum == 0 || t >= c.r.expiry(c.r.head)
	}
	return c.n == 0 || t >= c.end
}

// rolling is an exact, conservative sliding window of period P split into
// buckets of width w = ceil(P/B), aligned to the epoch: bucket k covers
// [k·w, (k+1)·w). At time t the count is the sum of every bucket that
// overlaps (t-P, t], the oldest one included whole. Since B·w ≥ P, that is
// at most B+1 buckets, which the ring holds.
type rolling struct {
	period int64   // P
	width  int64   // w
	head   int64   // index of the newest bucket
	sum    int64   // sum of the ring
	ring   []int64 // slot k mod len(ring) holds bucket k, for k in (head-len(ring), head]
}

func newRolling(period int64, buckets int, t int64) *rolling {
	b := int64(buckets)
	w := (period + b - 1) / b
	return &rolling{
		period: period,
		width:  w,
		head:   floorDiv(t, w),
		ring:   make([]int64, b+1),
	}
}

// advance makes the bucket of t the head, emptying the buckets it passes.
func (r *rolling) advance(t int64) {
	k := floorDiv(t, r.width)
	if k <= r.head {
		return
	}
	n := int64(len(r.ring))
	if k-r.head >= n {
		clear(r.ring)
		r.sum = 0
	} else {
		for j := r.head + 1; j <= k; j++ {
			s := floorMod(j, n)
			r.sum -= r.ring[s]
			r.ring[s] = 0
		}
	}
	r.head = k
}

// oldest returns the index of the oldest bucket that overlaps (t-P, t],
// that is [t-P+1, t] in nanoseconds.
func (r *rolling) oldest(t int64) int64 {
	return floorDiv(t-r.period+1, r.width)
}

// expiry returns the first time at which bucket k no longer overlaps
// (t-P, t]: t-P+1 ≥ (k+1)·w.
func (r *rolling) expiry(k int64) int64 {
	return (k+1)*r.width + r.period - 1
}

// count returns the sum of the buckets overlapping (t-P, t]; t is in the
// head bucket.
func (r *rolling) count(t int64) int64 {
	n := int64(len(r.ring))
	c := r.sum
	// The ring holds head-n+1 … head; only its oldest slot can lie before
	// the window.
	for j := r.head - n + 1; j < r.oldest(t); j++ {
		c -= r.ring[floorMod(j, n)]
	}
	return c
}

func (r *rolling) add() {
	r.ring[floorMod(r.head, int64(len(r.ring)))]++
	r.sum++
}

// wait returns how long after t, with no more requests, the count has
// dropped by need: the expiry of the newest of the oldest buckets that
// together hold need requests.
func (r *rolling) wait(t, need int64) int64 {
	n := int64(len(r.ring))
	k := r.oldest(t)
	var freed int64
	for s := floorMod(k, n); k <= r.head; k++ {
		freed += r.ring[s]
		if freed >= need {
			return r.expiry(k) - t
		}
		if s++; s == n {
			s = 0
		}
	}
	return r.expiry(r.head) - t
}
