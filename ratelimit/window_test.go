package ratelimit

import (
	"math/rand"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// ts parses an RFC 3339 time with optional nanoseconds.
func ts(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestWindow(t *testing.T) {
	tests := []struct {
		per        portico.Period
		at         string
		start, end string
	}{
		{portico.Second, "2028-02-29T12:34:56Z", "2028-02-29T12:34:56Z", "2028-02-29T12:34:57Z"},
		{portico.Second, "2028-02-29T12:34:56.999999999Z", "2028-02-29T12:34:56Z", "2028-02-29T12:34:57Z"},
		{portico.Minute, "2028-02-29T12:34:56Z", "2028-02-29T12:34:00Z", "2028-02-29T12:35:00Z"},
		{portico.Minute, "2028-02-29T23:59:59.999999999Z", "2028-02-29T23:59:00Z", "2028-03-01T00:00:00Z"},
		{portico.Hour, "2028-02-29T12:34:56Z", "2028-02-29T12:00:00Z", "2028-02-29T13:00:00Z"},
		{portico.Hour, "2028-12-31T23:00:00Z", "2028-12-31T23:00:00Z", "2029-01-01T00:00:00Z"},
		// Hours are aligned to the epoch, not to the local time zone.
		{portico.Hour, "2028-02-29T12:34:56+05:30", "2028-02-29T07:00:00Z", "2028-02-29T08:00:00Z"},
		{portico.Day, "2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z"},
		{portico.Day, "2028-02-28T23:59:59.999999999Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"},
		// A day is a UTC day, whatever the zone of t.
		{portico.Day, "2028-03-01T01:00:00+02:00", "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z"},
		{portico.Day, "2027-12-31T23:59:59.999999999Z", "2027-12-31T00:00:00Z", "2028-01-01T00:00:00Z"},
		// Weeks start on Monday: 2028-01-03 is a Monday, 2028-01-02 a Sunday.
		{portico.Week, "2028-01-03T00:00:00Z", "2028-01-03T00:00:00Z", "2028-01-10T00:00:00Z"},
		{portico.Week, "2028-01-02T23:59:59.999999999Z", "2027-12-27T00:00:00Z", "2028-01-03T00:00:00Z"},
		{portico.Week, "2028-01-09T23:59:59.999999999Z", "2028-01-03T00:00:00Z", "2028-01-10T00:00:00Z"},
		{portico.Week, "2028-03-01T12:00:00Z", "2028-02-28T00:00:00Z", "2028-03-06T00:00:00Z"},
		{portico.Week, "2028-12-31T23:59:59.999999999Z", "2028-12-25T00:00:00Z", "2029-01-01T00:00:00Z"},
		{portico.Week, "1970-01-01T00:00:00Z", "1969-12-29T00:00:00Z", "1970-01-05T00:00:00Z"},
		// Months have 28 to 31 days; December rolls the year.
		{portico.Month, "2028-01-31T23:59:59.999999999Z", "2028-01-01T00:00:00Z", "2028-02-01T00:00:00Z"},
		{portico.Month, "2028-02-01T00:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
		{portico.Month, "2028-02-29T23:59:59.999999999Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
		{portico.Month, "2027-02-28T12:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"},
		{portico.Month, "2028-04-30T12:00:00Z", "2028-04-01T00:00:00Z", "2028-05-01T00:00:00Z"},
		{portico.Month, "2028-12-31T23:59:59.999999999Z", "2028-12-01T00:00:00Z", "2029-01-01T00:00:00Z"},
		{portico.Month, "2029-01-01T00:00:00Z", "2029-01-01T00:00:00Z", "2029-02-01T00:00:00Z"},
		{portico.Month, "1969-12-15T00:00:00Z", "1969-12-01T00:00:00Z", "1970-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(string(tt.per)+" "+tt.at, func(t *testing.T) {
			at := ts(t, tt.at)
			start, end := WindowStart(tt.per, at), WindowEnd(tt.per, at)
			if !start.Equal(ts(t, tt.start)) || !end.Equal(ts(t, tt.end)) {
				t.Errorf("window = [%v, %v), want [%s, %s)", start, end, tt.start, tt.end)
			}
			if start.Location() != time.UTC || end.Location() != time.UTC {
				t.Errorf("window [%v, %v) not in UTC", start, end)
			}
			ns, ne := window(tt.per, at.UnixNano())
			if ns != start.UnixNano() || ne != end.UnixNano() {
				t.Errorf("window(ns) = [%v, %v), want [%v, %v)", time.Unix(0, ns).UTC(), time.Unix(0, ne).UTC(), start, end)
			}
		})
	}
}

func TestWindowUnknownPeriod(t *testing.T) {
	at := ts(t, "2028-02-29T12:34:56+01:00")
	if s, e := WindowStart("fortnight", at), WindowEnd("fortnight", at); !s.Equal(at) || !e.Equal(at) {
		t.Errorf("unknown period: window = [%v, %v), want empty at %v", s, e, at)
	}
}

// TestWindowProperties checks, for random times across 1950–2200, that
// each window holds t, that windows tile time, and that the nanosecond
// version agrees.
func TestWindowProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	lo, hi := ts(t, "1950-01-01T00:00:00Z").UnixNano(), ts(t, "2200-01-01T00:00:00Z").UnixNano()
	pers := []portico.Period{portico.Second, portico.Minute, portico.Hour, portico.Day, portico.Week, portico.Month}
	for range 2000 {
		at := time.Unix(0, lo+rng.Int63n(hi-lo))
		for _, per := range pers {
			s, e := WindowStart(per, at), WindowEnd(per, at)
			if at.Before(s) || !at.Before(e) {
				t.Fatalf("%s %v: window [%v, %v) does not hold it", per, at, s, e)
			}
			if !WindowStart(per, e).Equal(e) || !WindowEnd(per, e.Add(-1)).Equal(e) || !WindowStart(per, s.Add(-1)).Before(s) {
				t.Fatalf("%s %v: window [%v, %v) does not tile", per, at, s, e)
			}
			if d := per.Duration(); d != 0 && e.Sub(s) != d {
				t.Fatalf("%s %v: window [%v, %v) is not %v long", per, at, s, e, d)
			}
			if per == portico.Week && s.Weekday() != time.Monday {
				t.Fatalf("%v: week starts on %v", at, s.Weekday())
			}
			if per == portico.Month && s.Day() != 1 {
				t.Fatalf("%v: month starts on day %d", at, s.Day())
			}
			if ns, ne := window(per, at.UnixNano()); ns != s.UnixNano() || ne != e.UnixNano() {
				t.Fatalf("%s %v: window(ns) = [%d, %d), want [%d, %d)", per, at, ns, ne, s.UnixNano(), e.UnixNano())
			}
		}
	}
}
