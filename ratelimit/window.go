package ratelimit

import (
	"time"

	"github.com/portico-gw/portico"
)

// WindowStart returns the start of the fixed window of period per that
// holds t, in UTC. Second, minute and hour windows are aligned to the Unix
// epoch; day, week and month are calendar periods in UTC: a day starts at
// 00:00, a week on Monday 00:00 (ISO 8601) and a month on its 1st at 00:00.
// For an unknown period it returns t in UTC.
func WindowStart(per portico.Period, t time.Time) time.Time {
	t = t.UTC()
	switch per {
	case portico.Second, portico.Minute, portico.Hour:
		// Truncate rounds down since the zero time (January 1, year 1,
		// 00:00 UTC), which lies a whole number of days before the epoch.
		return t.Truncate(per.Duration())
	case portico.Day:
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case portico.Week:
		y, m, d := t.Date()
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case portico.Month:
		y, m, _ := t.Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// WindowEnd returns the end of the fixed window of period per that holds
// t, in UTC. The end is exclusive: it is the start of the next window, so
// a window is [WindowStart, WindowEnd). A month ends on the 1st of the next
// month (December ends on January 1 of the next year). For an unknown
// period it returns t in UTC.
func WindowEnd(per portico.Period, t time.Time) time.Time {
	s := WindowStart(per, t)
	switch per {
	case portico.Second, portico.Minute, portico.Hour:
		return s.Add(per.Duration())
	case portico.Day:
		return s.AddDate(0, 0, 1)
	case portico.Week:
		return s.AddDate(0, 0, 7)
	case portico.Month:
		return s.AddDate(0, 1, 0)
	}
	return s
}

const (
	nsDay  = int64(24 * time.Hour)
	nsWeek = 7 * nsDay
	// nsMonday is 1970-01-05 00:00 UTC, the first Monday after the epoch.
	nsMonday = 4 * nsDay
	// nsMaxMonth bounds the length of any calendar period.
	nsMaxMonth = 31 * nsDay
)

// window is WindowStart and WindowEnd on Unix nanoseconds, for the hot
// path. It agrees with them for every t that Unix nanoseconds can hold.
func window(per portico.Period, t int64) (start, end int64) {
	switch per {
	case portico.Second, portico.Minute, portico.Hour, portico.Day:
		d := int64(per.Duration())
		s := floorDiv(t, d) * d
		return s, s + d
	case portico.Week:
		s := floorDiv(t-nsMonday, nsWeek)*nsWeek + nsMonday
		return s, s + nsWeek
	case portico.Month:
		y, m, _ := time.Unix(0, t).UTC().Date()
		s := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return s.UnixNano(), s.AddDate(0, 1, 0).UnixNano()
	}
	return t, t
}

// floorDiv returns a/b rounded towards minus infinity; b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// floorMod returns a mod b in [0, b); b > 0.
func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}
