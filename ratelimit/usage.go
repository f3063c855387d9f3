package ratelimit

import (
	"context"
	"time"

	"github.com/portico-gw/portico"
)

var _ portico.UsageReader = (*Memory)(nil)

// Usage implements portico.UsageReader: the count of each counter of
// specs at now, without counting a request; ctx is not used. A counter
// that does not exist, or was last used with another period or window
// (the plan changed; the next Take starts it over), counts 0, as does a
// fixed counter whose window ended. A spec Take would refuse is an
// EInvalid error.
func (m *Memory) Usage(_ context.Context, now time.Time, specs []portico.LimitSpec) ([]portico.CounterUsage, error) {
	out := make([]portico.CounterUsage, len(specs))
	t := now.UnixNano()
	for i := range specs {
		sp := &specs[i]
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		win := sp.Window
		if win == "" {
			win = portico.Fixed
		}
		u := portico.CounterUsage{Key: sp.Key, Limit: sp.Limit}
		var start, end int64
		if win == portico.Rolling {
			start, end = t-int64(sp.Per.Duration()), t
		} else {
			start, end = window(sp.Per, t)
		}
		u.Start, u.End = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()

		s := &m.shards[shardOf(sp.Key)]
		s.mu.Lock()
		switch c := s.m[sp.Key]; {
		case c == nil:
		case c.window == "": // restored, not used yet: its count is its period's
			if win == portico.Fixed && c.start == start {
				u.Used = c.n
			}
		case c.per != sp.Per || c.window != win:
		default:
			// advance only moves the counter to now, as the next Take
			// would: counts of windows now over are dropped.
			u.Used = c.count(c.advance(t))
		}
		s.mu.Unlock()
		out[i] = u
	}
	return out, nil
}
