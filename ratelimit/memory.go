package ratelimit

import (
	"context"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// DefaultBuckets is the number of buckets a rolling window is split into
// when Memory.Buckets is 0.
const DefaultBuckets = 60

// shards is the number of independently locked parts of a Memory. It is
// 64 so that the set of shards one Take locks fits in a uint64.
const shards = 64

var _ portico.Limiter = (*Memory)(nil)

// Memory is an in-process portico.Limiter. The zero value is ready to use,
// with DefaultBuckets buckets per rolling window. A Memory is safe for
// concurrent use and must not be copied after first use.
//
// Counters are created on first use and live until Sweep drops them, so a
// long-running owner calls Sweep periodically. A fixed counter takes a few
// dozen bytes, a rolling one about 8·(Buckets+1) bytes more.
type Memory struct {
	// Buckets is the number of buckets B a rolling window of period P is
	// split into; 0 (or less) means DefaultBuckets. A rolling counter
	// never admits more than its limit in any interval of length P, and
	// holds each admission for at most P plus one bucket (P/B), so under
	// sustained over-limit load it admits at least about (1 - 1/B) of the
	// limit per period. More buckets admit closer to the limit at the
	// cost of 8 bytes each per rolling counter. Set Buckets before the
	// first Take: a counter keeps the number it was created with.
	Buckets int

	shards [shards]shard
}

// shard is one lock and the counters it guards, padded to its own cache
// line.
type shard struct {
	mu sync.Mutex
	m  map[string]*counter
	_  [48]byte
}

// seed is the hash seed of shard selection, fixed for the process.
var seed = maphash.MakeSeed()

func shardOf(key string) int {
	return int(maphash.String(seed, key) % shards)
}

// take is the working state of one spec during a Take.
type take struct {
	spec  *portico.LimitSpec
	shard int
	c     *counter
	t     int64 // the time the counter counts at
	n     int64 // the count before this request
	wait  int64 // for a rejecting counter, ns until it admits one more
}

// Take admits one request at time now against every counter in specs, all
// or nothing (see portico.Limiter); ctx is not used. Keys within one call
// must be distinct. A spec with a Limit of 0 or less, an unknown Per, or a
// rolling Window over a month (which has no fixed length) makes Take
// return an EInvalid error and count nothing. An empty Window means Fixed.
//
// Take locks the shards of all keys in ascending order, checks every
// counter, and counts the request in all of them only if every hard
// counter admits it. It does not allocate unless the request crosses a
// threshold, uses up a counter, creates a counter, or has more than four
// specs.
func (m *Memory) Take(_ context.Context, now time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	if len(specs) == 0 {
		return portico.Decision{Allowed: true}, nil
	}
	for i := range specs {
		if err := specs[i].Validate(); err != nil {
			return portico.Decision{}, err
		}
	}

	var buf [4]take
	ts := buf[:0]
	if len(specs) > len(buf) {
		ts = make([]take, 0, len(specs))
	}
	var mask uint64
	for i := range specs {
		s := shardOf(specs[i].Key)
		mask |= 1 << s
		ts = append(ts, take{spec: &specs[i], shard: s})
	}
	m.lock(mask)
	defer m.unlock(mask)

	t := now.UnixNano()
	rejected := -1
	for i := range ts {
		x := &ts[i]
		x.c = m.shards[x.shard].counter(x.spec, m.buckets(), t)
		x.t = x.c.advance(t)
		x.n = x.c.count(x.t)
		if !x.spec.Soft && x.n >= x.spec.Limit {
			x.wait = x.c.wait(x.t, x.n-x.spec.Limit+1)
			if rejected < 0 || x.wait > ts[rejected].wait {
				rejected = i
			}
		}
	}
	if rejected >= 0 {
		x := &ts[rejected]
		return portico.Decision{
			Limit:      x.spec.Limit,
			Reset:      time.Duration(x.wait),
			RetryAfter: time.Duration(x.wait),
			Rejected:   x.spec.Key,
		}, nil
	}

	d := portico.Decision{Allowed: true}
	hard, soft := -1, -1 // the hard and the soft counter closest to rejecting
	for i := range ts {
		x := &ts[i]
		x.c.add()
		x.n++
		rem := x.spec.Limit - x.n
		if x.spec.Soft {
			if th := x.spec.ThresholdCount(); x.n-1 < th && x.n >= th {
				d.Crossed = append(d.Crossed, x.spec.Key)
			}
			if soft < 0 || rem < ts[soft].spec.Limit-ts[soft].n {
				soft = i
			}
			continue
		}
		if x.n == x.spec.Limit {
			d.Reached = append(d.Reached, x.spec.Key)
		}
		if hard < 0 || rem < ts[hard].spec.Limit-ts[hard].n {
			hard = i
		}
	}
	if hard < 0 {
		hard = soft
	}
	x := &ts[hard]
	d.Limit = x.spec.Limit
	d.Remaining = max(0, x.spec.Limit-x.n)
	d.Reset = time.Duration(x.c.wait(x.t, 1))
	return d, nil
}

func (m *Memory) buckets() int {
	if m.Buckets <= 0 {
		return DefaultBuckets
	}
	return m.Buckets
}

// lock locks the shards in mask in ascending order, the one order every
// Take uses, so that Takes over several shards cannot deadlock.
func (m *Memory) lock(mask uint64) {
	for s := mask; s != 0; s &= s - 1 {
		m.shards[bits.TrailingZeros64(s)].mu.Lock()
	}
}

func (m *Memory) unlock(mask uint64) {
	for s := mask; s != 0; s &= s - 1 {
		m.shards[bits.TrailingZeros64(s)].mu.Unlock()
	}
}

// counter returns the counter of sp.Key, creating it, or replacing it when
// its period or window changed. A restored counter takes over its count if
// it was saved in the current period of sp. The shard must be locked.
func (s *shard) counter(sp *portico.LimitSpec, buckets int, t int64) *counter {
	win := sp.Window
	if win == "" {
		win = portico.Fixed
	}
	c := s.m[sp.Key]
	if c != nil && c.per == sp.Per && c.window == win {
		return c
	}
	if s.m == nil {
		s.m = make(map[string]*counter)
	}
	nc := newCounter(sp.Per, win, buckets, t)
	if c != nil && c.window == "" && win == portico.Fixed && c.start == nc.start {
		nc.n = c.n
	}
	s.m[sp.Key] = nc
	return nc
}

// Sweep drops the counters that count nothing at now and later: fixed
// windows that ended before now, rolling windows whose every bucket has
// expired, and restored states no quota period could still use (31 days
// after their start). Callers run it periodically, e.g. every minute; it
// locks one shard at a time.
func (m *Memory) Sweep(now time.Time) {
	t := now.UnixNano()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, c := range s.m {
			if c.expired(t) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

// Counters returns the state of the quota counters live at now, sorted by
// key: fixed counters of a calendar period (day, week or month) whose
// current period has not ended and has counted something, and restored
// states not used yet. Rate-limit counters (second, minute, hour, and any
// rolling window) are not included. The owner saves the result with a
// portico.CounterStore and hands it to Restore after a restart.
func (m *Memory) Counters(now time.Time) []portico.CounterState {
	t := now.UnixNano()
	var out []portico.CounterState
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, c := range s.m {
			if quota(c) && !c.expired(t) {
				out = append(out, portico.CounterState{Key: k, Start: time.Unix(0, c.start).UTC(), Count: c.n})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b portico.CounterState) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func quota(c *counter) bool {
	if c.window == "" {
		return true
	}
	return c.window == portico.Fixed && (c.per == portico.Day || c.per == portico.Week || c.per == portico.Month)
}

// Restore loads counter states saved by Counters, replacing any state of
// the same keys; call it before the first Take. A state is used when its
// key is next taken with a fixed window whose current period starts at the
// state's Start; a state of any other period is ignored then, and one that
// is never used is dropped by Sweep.
func (m *Memory) Restore(cs []portico.CounterState) {
	for _, st := range cs {
		if st.Count <= 0 {
			continue
		}
		s := &m.shards[shardOf(st.Key)]
		s.mu.Lock()
		if s.m == nil {
			s.m = make(map[string]*counter)
		}
		start := st.Start.UnixNano()
		s.m[st.Key] = &counter{start: start, n: st.Count, last: start}
		s.mu.Unlock()
	}
}
