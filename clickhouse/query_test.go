package clickhouse

import (
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/clickhousetest"
)

// TestPercentileLevels checks on a real clickhouse-server that
// quantilesExact at percentileLevels picks the nearest rank,
// ceil(p × n) (1-based), for every group size n that matters: it runs
// quantilesExact over groups of the values 0 … n−1 (the value at a
// 0-based index is the index) for every n up to 2,000 and a few larger
// ones, and, since groups of a billion values do not fit a test, the
// server's own index arithmetic (the float64 product truncated, as
// QuantileExact does) for every n up to 2 million, every n within 2 of a
// multiple of 100 up to a billion (where p × n is whole for all three
// percentiles) and the last million n before a billion.
func TestPercentileLevels(t *testing.T) {
	srv := clickhousetest.Start(t)
	levels := strings.Split(percentileLevels, ", ")
	ranks := []int{50, 95, 99}

	// quantilesExact itself: for each n, the 0-based nearest rank of each
	// percentile, intDiv(k × n + 99, 100) − 1.
	got := srv.Query(t, `
SELECT count(), countIf(q[1] != intDiv(50 * n + 99, 100) - 1 OR q[2] != intDiv(95 * n + 99, 100) - 1 OR q[3] != intDiv(99 * n + 99, 100) - 1)
FROM (
  SELECT n, quantilesExact(`+percentileLevels+`)(x) AS q
  FROM (SELECT n, arrayJoin(range(n)) AS x FROM (
    SELECT toUInt64(number + 1) AS n FROM numbers(2000)
    UNION ALL SELECT toUInt64(arrayJoin([100000, 100001, 199999, 1000000, 1000100, 1999999])) AS n))
  GROUP BY n)`)
	if got != "2006\t0" {
		t.Errorf("quantilesExact: groups checked, groups off the nearest rank = %q, want 2006 and 0", got)
	}

	// The index arithmetic of QuantileExact, size_t(level × n), for n up
	// to a billion.
	var conds []string
	for i, l := range levels {
		conds = append(conds, "toUInt64("+l+" * n) != intDiv("+strconv.Itoa(ranks[i])+" * n + 99, 100) - 1")
	}
	got = srv.Query(t, `
SELECT count(), countIf(`+strings.Join(conds, " OR ")+`)
FROM (
  SELECT toUInt64(number + 1) AS n FROM numbers(2000000)
  UNION ALL SELECT toUInt64(intDiv(number, 5) * 100 + number % 5 + 98) AS n FROM numbers(50000000)
  UNION ALL SELECT toUInt64(999000001 + number) AS n FROM numbers(1000000))`)
	if got != "53000000\t0" {
		t.Errorf("index arithmetic: sizes checked, sizes off the nearest rank = %q, want 53000000 and 0", got)
	}
}
