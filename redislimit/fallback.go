package redislimit

import (
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// fallback is the in-process limiter of the local outage policy: a fixed
// window count per key, its limit divided by the live nodes. A rolling
// window is counted as a fixed window of its period. It is deliberately
// small: it only has to hold a node to its share while Redis is away.
type fallback struct {
	mu sync.Mutex
	m  map[string]*fixedCount
}

type fixedCount struct {
	start, end int64 // Unix ns, [start, end)
	n          int64
}

// share returns a node's part of limit while the data store is away:
// limit/nodes, at least 1.
func share(limit int64, nodes int) int64 {
	if nodes < 1 {
		nodes = 1
	}
	return max64(limit/int64(nodes), 1)
}

// take decides specs at now with the limits divided by nodes, all or
// nothing. Soft specs are not counted.
func (f *fallback) take(now int64, specs []*portico.LimitSpec, nodes int) portico.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]*fixedCount)
	}
	var buf [4]*fixedCount
	cs := buf[:0]
	rej := -1
	for i, sp := range specs {
		c := f.m[sp.Key]
		if c == nil {
			c = &fixedCount{}
			f.m[sp.Key] = c
		}
		if now >= c.end || now < c.start {
			c.start, c.end = window(sp.Per, now)
			c.n = 0
		}
		cs = append(cs, c)
		if !sp.Soft && c.n >= share(sp.Limit, nodes) {
			if rej < 0 || c.end > cs[rej].end {
				rej = i
			}
		}
	}
	if rej >= 0 {
		w := time.Duration(cs[rej].end - now)
		return portico.Decision{Limit: share(specs[rej].Limit, nodes), Reset: w, RetryAfter: w, Rejected: specs[rej].Key}
	}
	d := portico.Decision{Allowed: true}
	best := int64(-1)
	for i, sp := range specs {
		if sp.Soft {
			continue
		}
		c := cs[i]
		c.n++
		lim := share(sp.Limit, nodes)
		if c.n == lim {
			d.Reached = append(d.Reached, sp.Key)
		}
		if rem := lim - c.n; best < 0 || rem < best {
			best = rem
			d.Limit, d.Remaining, d.Reset = lim, rem, time.Duration(c.end-now)
		}
	}
	return d
}

// sweep drops the counts whose window ended before now.
func (f *fallback) sweep(now int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, c := range f.m {
		if now >= c.end {
			delete(f.m, k)
		}
	}
}

const (
	nsDay    = int64(24 * time.Hour)
	nsWeek   = 7 * nsDay
	nsMonday = 4 * nsDay // 1970-01-05 00:00 UTC, the first Monday after the epoch
)

// window returns the fixed window [start, end) of period per holding t,
// in Unix nanoseconds: epoch-aligned for second, minute, hour and day,
// weeks from Monday and calendar months in UTC (ratelimit.WindowStart's
// rules). For an unknown period it returns a one-second window.
func window(per portico.Period, t int64) (start, end int64) {
	switch per {
	case portico.Week:
		s := floorDiv(t-nsMonday, nsWeek)*nsWeek + nsMonday
		return s, s + nsWeek
	case portico.Month:
		y, m, _ := time.Unix(0, t).UTC().Date()
		s := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return s.UnixNano(), s.AddDate(0, 1, 0).UnixNano()
	}
	d := int64(per.Duration())
	if d == 0 {
		d = int64(time.Second)
	}
	s := floorDiv(t, d) * d
	return s, s + d
}

// floorDiv returns a/b rounded towards minus infinity; b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
