package analyticstest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/portico-gw/portico"
)

// start is the first instant of the three days that Records covers:
// a Monday, 00:00 UTC.
var start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// end is the instant after the last record of Records.
var end = start.Add(3 * 24 * time.Hour)

// Names in the records. Several carry a double quote, a backslash, an
// apostrophe, unicode or a LIKE wildcard, so that a store that builds SQL
// or a query string by hand, or matches with LIKE, gives itself away.
var (
	apis = []struct{ name, version, id, publisher string }{
		{"weather", "v1", "api-weather-1", "pub-1"},
		{"weather", "v2", "api-weather-2", "pub-1"},
		{"billing", "v1", "api-billing-1", `pub\2`},
		{`books "o'reilly"`, `v1\beta`, "api-books-1", `pub\2`},
	}
	applications = []struct{ id, subscriber string }{
		{"app-1", "sub-1"},
		{"app-2", "sub-1"},
		{"app-o'neil", "sub-2"},
		{"app-日本", `sub "3"`},
	}
	plans     = []string{"plan-gold", "plan-silver", "plan-%free_"}
	methods   = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}
	resources = []string{"", "", "GET /forecast", "/forecast/{city}", `/search?q="x"`, `/path\to`, "/ünïcødé/日本", "/o'brien", "/%_%"}
	nodes     = []string{"node-a", "Node-B", "nöde-ç"} // sorted by bytes, "Node-B" comes first
	types     = []string{"", "application/json", "text/plain; charset=utf-8", `multipart/form-data; boundary="b\o'u"`}
	// statuses are weighted: most traffic succeeds.
	statuses = []int{200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 504}
	// busyHours and busyMinutes are where most records fall, so that
	// minute and hour buckets hold many records each.
	busyHours   = []int{9, 13, 23}
	busyMinutes = []int{0, 1, 2, 3, 59}
	// tiedLatencies are latencies in microseconds that many records share.
	tiedLatencies = []int64{500, 1000, 1000, 2500, 12000}
)

// edges are the times of records placed on bucket and range edges; the
// last three records share one instant. Queries starts and ends ranges on
// them.
var edges = []time.Time{
	start,
	start.Add(9 * time.Hour),
	start.Add(9*time.Hour + time.Minute - time.Microsecond),
	start.Add(9*time.Hour + time.Minute),
	start.Add(24 * time.Hour),
	end.Add(-time.Microsecond),
	start.Add(13*time.Hour + 2*time.Minute + 3*time.Second + 4*time.Microsecond),
	start.Add(13*time.Hour + 2*time.Minute + 3*time.Second + 4*time.Microsecond),
	start.Add(13*time.Hour + 2*time.Minute + 3*time.Second + 4*time.Microsecond),
}

// Records returns the fixed set of records that Run writes: 2,000 records
// from a seeded generator over three days (most of them in a few busy
// minutes of a few busy hours) and a few on bucket edges, in no particular
// order. Times are UTC with microsecond precision; latencies are whole
// microseconds, many of them equal. Every call returns the same records in
// a new slice.
func Records() []portico.Record {
	g := newGenerator(1)
	out := make([]portico.Record, 0, 2000+len(edges))
	for range 2000 {
		out = append(out, g.next())
	}
	for i, t := range edges {
		r := g.next()
		r.Time = t
		// Spread the edge records over the whole slice, so that they are
		// written in different batches.
		j := (i*331 + 17) % len(out)
		out = append(out, out[j])
		out[j] = r
	}
	return out
}

// Generate returns n records like those of Records (without the edge
// records), spread over the same three days, for benchmarks: in order of
// time, as a gateway records them. The same n gives the same records.
func Generate(n int) []portico.Record {
	g := newGenerator(2)
	out := make([]portico.Record, n)
	for i := range out {
		out[i] = g.next()
	}
	slices.SortStableFunc(out, func(a, b portico.Record) int { return a.Time.Compare(b.Time) })
	return out
}

// generator makes plausible records from a seeded random source.
type generator struct {
	r *rand.Rand
	n int // records made so far
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, 0x706f727469636f))}
}

// pick returns a random element of s.
func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// next returns the next record.
func (g *generator) next() portico.Record {
	r := g.r
	g.n++
	day := time.Duration(r.IntN(3)) * 24 * time.Hour
	var t time.Time
	if r.IntN(10) < 6 {
		t = start.Add(day +
			time.Duration(pick(r, busyHours))*time.Hour +
			time.Duration(pick(r, busyMinutes))*time.Minute +
			time.Duration(r.Int64N(int64(time.Minute/time.Microsecond)))*time.Microsecond)
	} else {
		t = start.Add(day + time.Duration(r.Int64N(int64(24*time.Hour/time.Microsecond)))*time.Microsecond)
	}

	api := pick(r, apis)
	app := pick(r, applications)
	rec := portico.Record{
		Time:          t,
		RequestID:     fmt.Sprintf("req-%07d", g.n),
		API:           api.name,
		APIVersion:    api.version,
		APIID:         api.id,
		Publisher:     api.publisher,
		Subscriber:    app.subscriber,
		Application:   app.id,
		Plan:          pick(r, plans),
		Resource:      pick(r, resources),
		Method:        pick(r, methods),
		Status:        pick(r, statuses),
		RequestBytes:  0,
		ResponseBytes: r.Int64N(1 << 20),
		RequestType:   pick(r, types),
		ResponseType:  pick(r, types),
		ClientIP:      fmt.Sprintf("203.0.113.%d", r.IntN(256)),
		Node:          pick(r, nodes),
	}
	if r.IntN(8) == 0 {
		rec.ClientIP = fmt.Sprintf("2001:db8::%x", r.IntN(1<<16))
	}
	if rec.Method == "POST" || rec.Method == "PUT" || rec.Method == "PATCH" {
		rec.RequestBytes = 1 + r.Int64N(64<<10)
	}
	var us, upstream int64
	if r.IntN(10) < 3 {
		us = pick(r, tiedLatencies)
	} else {
		us = 1 + r.Int64N(1+r.Int64N(2_000_000))
	}
	if us > 100 {
		upstream = us - 1 - r.Int64N(100)
	}

	// Rejected requests carry what the gateway knew when it rejected them.
	switch rec.Status {
	case 404: // no API matched
		rec.API, rec.APIVersion, rec.APIID, rec.Publisher = "", "", "", ""
		rec.Subscriber, rec.Application, rec.Plan, rec.Resource = "", "", "", ""
		rec.ErrorCode = string(portico.ENotFound)
		us, upstream = r.Int64N(300), 0
	case 401: // no or a bad key
		rec.Subscriber, rec.Application, rec.Plan = "", "", ""
		rec.ErrorCode = string(portico.EUnauthorized)
		us, upstream = r.Int64N(300), 0
	case 403: // a key without a subscription to this API
		rec.Plan = ""
		rec.ErrorCode = string(portico.EForbidden)
		us, upstream = r.Int64N(300), 0
	case 429:
		rec.ErrorCode = string(portico.ERateLimited)
		if r.IntN(3) == 0 {
			rec.ErrorCode = string(portico.EQuotaExceeded)
		}
		us, upstream = r.Int64N(300), 0
	case 502:
		rec.ErrorCode = string(portico.EBadGateway)
		upstream = 0
	case 504:
		rec.ErrorCode = string(portico.EGatewayTimeout)
		us, upstream = 30_000_000+r.Int64N(1000), 30_000_000
	}
	if rec.ErrorCode != "" {
		rec.ResponseBytes = 60 + r.Int64N(40)
		rec.ResponseType = "application/json"
	}
	rec.Latency = time.Duration(us) * time.Microsecond
	rec.UpstreamLatency = time.Duration(upstream) * time.Microsecond
	return rec
}
