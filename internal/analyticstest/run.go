package analyticstest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// batchSizes are the sizes of the batches in which Run writes Records; the
// last batch takes what is left.
var batchSizes = []int{1, 7, 500, 999}

// Run checks that store answers like Aggregate. The store must be empty
// and must show every record as soon as Write returns.
//
// Run writes Records in a few batches of different sizes (and one empty
// batch, which must succeed), then asks every query of Queries in a
// subtest of its own and compares the answer with Aggregate row by row and
// field by field, exactly: a store computes ErrorRate as Errors / Requests
// and percentiles as float64(microseconds) / 1000 like Aggregate does, so
// any difference is a bug of the store. Nil and empty answers are equal.
//
// Last it checks that the store rejects a query with a bucket, a grouping
// or a filter it does not know with a portico.EInvalid error.
func Run(t *testing.T, store portico.AnalyticsStore) {
	t.Helper()
	ctx := context.Background()
	records := Records()

	if err := store.Write(ctx, nil); err != nil {
		t.Fatalf("Write of an empty batch: %v", err)
	}
	rest := records
	for _, n := range batchSizes {
		n = min(n, len(rest))
		if err := store.Write(ctx, rest[:n]); err != nil {
			t.Fatalf("Write of %d records: %v", n, err)
		}
		rest = rest[n:]
	}
	if err := store.Write(ctx, rest); err != nil {
		t.Fatalf("Write of %d records: %v", len(rest), err)
	}

	for i, q := range Queries() {
		t.Run(fmt.Sprintf("%02d_%s", i, Name(q)), func(t *testing.T) {
			want := Aggregate(records, q)
			got, err := store.Query(ctx, q)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("Query answered differently from Aggregate (- want, + got):\n%s", d)
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		for _, q := range []portico.AnalyticsQuery{
			{From: start, To: end, Bucket: "fortnight"},
			{From: start, To: end, Bucket: portico.Minute, GroupBy: "colour"},
			{From: start, To: end, Filters: map[string]string{"colour": "red"}},
			{From: start, To: end, Filters: map[string]string{portico.DimAPI: "weather", "api'; --": "x"}},
		} {
			rows, err := store.Query(ctx, q)
			if code := portico.ErrorCodeOf(err); code != portico.EInvalid {
				t.Errorf("Query(%s) = %d rows, error %v (code %q), want an error with code %q",
					Name(q), len(rows), err, code, portico.EInvalid)
			}
		}
	})
}

// Name describes q in a line, for test names and messages.
func Name(q portico.AnalyticsQuery) string {
	var b strings.Builder
	b.WriteString(stamp(q.From))
	b.WriteString("..")
	b.WriteString(stamp(q.To))
	if q.Bucket != "" {
		fmt.Fprintf(&b, "_by_%s", q.Bucket)
	}
	if q.GroupBy != "" {
		fmt.Fprintf(&b, "_per_%s", q.GroupBy)
	}
	for _, dim := range slices.Sorted(maps.Keys(q.Filters)) {
		fmt.Fprintf(&b, "_%s=%q", dim, q.Filters[dim])
	}
	if q.Limit != 0 {
		fmt.Fprintf(&b, "_top%d", q.Limit)
	}
	if q.NoLatency {
		b.WriteString("_no_latency")
	}
	if q.NoBytes {
		b.WriteString("_no_bytes")
	}
	if q.Totals {
		b.WriteString("_totals")
	}
	// A slash would split the name into levels of -run patterns.
	return strings.ReplaceAll(b.String(), "/", "%2F")
}

// stamp formats t briefly: as an offset from the start of Records where
// that is short, else in full.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	d := t.Sub(start)
	if d > -30*24*time.Hour && d < 30*24*time.Hour {
		s := "start"
		switch {
		case d > 0:
			s += "+" + d.String()
		case d < 0:
			s += d.String()
		}
		if _, off := t.Zone(); off != 0 {
			s += "@" + t.Format("-07:00")
		}
		return s
	}
	return t.Format(time.RFC3339Nano)
}

// diff returns the rows of want and got side by side where they differ,
// or "" when they are equal.
func diff(want, got []portico.AnalyticsRow) string {
	var b strings.Builder
	shown := 0
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = formatRow(want[i])
		}
		if i < len(got) {
			g = formatRow(got[i])
		}
		if i < len(want) && i < len(got) && equal(want[i], got[i]) {
			continue
		}
		if shown++; shown > 20 {
			fmt.Fprintf(&b, "… and more\n")
			break
		}
		fmt.Fprintf(&b, "row %d:\n", i)
		if w != "" {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		if g != "" {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("%d rows wanted, %d got\n%s", len(want), len(got), b.String())
}

// equal reports whether two rows are the same in every field; buckets must
// be the same instant in the same zone (UTC).
func equal(a, b portico.AnalyticsRow) bool {
	return a.Bucket.Equal(b.Bucket) && a.Bucket.IsZero() == b.Bucket.IsZero() &&
		a.Bucket.Location().String() == b.Bucket.Location().String() &&
		a.Group == b.Group && a.Requests == b.Requests && a.Errors == b.Errors &&
		a.ErrorRate == b.ErrorRate && a.LatencyP50 == b.LatencyP50 &&
		a.LatencyP95 == b.LatencyP95 && a.LatencyP99 == b.LatencyP99 &&
		a.RequestBytes == b.RequestBytes && a.ResponseBytes == b.ResponseBytes && a.Total == b.Total
}

// formatRow formats every field of r.
func formatRow(r portico.AnalyticsRow) string {
	bucket := "-"
	if !r.Bucket.IsZero() {
		bucket = r.Bucket.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("bucket=%s group=%q requests=%d errors=%d error_rate=%v p50=%v p95=%v p99=%v request_bytes=%d response_bytes=%d total=%v",
		bucket, r.Group, r.Requests, r.Errors, r.ErrorRate, r.LatencyP50, r.LatencyP95, r.LatencyP99,
		r.RequestBytes, r.ResponseBytes, r.Total)
}
