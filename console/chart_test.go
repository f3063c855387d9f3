package console

import (
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var chartUpdate = flag.Bool("update", false, "rewrite the golden files testdata/chart_*.svg")

var chartT0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// chartMinutes returns n points a minute apart from start with values f(i).
func chartMinutes(start time.Time, n int, f func(i int) float64) []LineChartPoint {
	pts := make([]LineChartPoint, n)
	for i := range pts {
		pts[i] = LineChartPoint{At: start.Add(time.Duration(i) * time.Minute), Value: f(i)}
	}
	return pts
}

func chartGoldenCases() []struct {
	name string
	svg  func() string
} {
	return []struct {
		name string
		svg  func() string
	}{
		{"line_requests", func() string {
			return string(LineChart(LineChartSpec{
				Title: "Requests per minute",
				Series: []LineChartSeries{{Name: "requests", Points: chartMinutes(chartT0, 61, func(i int) float64 {
					return 800 + 400*math.Sin(float64(i)/6)
				})}},
			}))
		}},
		{"line_latency_gaps", func() string {
			p := func(base float64) []LineChartPoint {
				return chartMinutes(chartT0, 1440, func(i int) float64 {
					if i >= 300 && i < 360 || i == 900 { // outage, and a lone missing sample
						return math.NaN()
					}
					return base * (1 + 0.3*math.Sin(float64(i)/60) + float64(i%7)/20)
				})
			}
			return string(LineChart(LineChartSpec{
				Title: "Latency", Unit: "ms", Width: 800, Height: 300,
				Series: []LineChartSeries{{Name: "p50", Points: p(12)}, {Name: "p95", Points: p(48)}, {Name: "p99", Points: p(130)}},
			}))
		}},
		{"line_week_small", func() string {
			pts := make([]LineChartPoint, 0, 7*24)
			for h := range 7 * 24 {
				pts = append(pts, LineChartPoint{At: chartT0.Add(time.Duration(h) * time.Hour), Value: float64(h%24) * 0.02})
			}
			return string(LineChart(LineChartSpec{Title: "Error rate", Width: 320, Height: 160, Series: []LineChartSeries{{Name: "5xx share", Points: pts}}}))
		}},
		{"line_single_point", func() string {
			return string(LineChart(LineChartSpec{Title: "Requests per minute", Series: []LineChartSeries{{Name: "requests", Points: []LineChartPoint{{At: chartT0, Value: 3}}}}}))
		}},
		{"line_empty", func() string {
			return string(LineChart(LineChartSpec{Title: "Requests per minute", Series: []LineChartSeries{{Name: "requests", Points: chartMinutes(chartT0, 5, func(int) float64 { return math.NaN() })}}}))
		}},
		{"bar_routes", func() string {
			return string(BarChart(BarChartSpec{
				Title: "Top routes", ValueName: "requests", SecondaryName: "errors", LabelRunes: 20,
				Items: []BarChartItem{
					{Label: "GET /v1/orders", Value: 1_234_567, Secondary: 12_345},
					{Label: "POST /v1/orders/{id}/payments/refunds", Value: 456_789, Secondary: 98_765},
					{Label: "GET /v1/données/éléphants/日本語", Value: 98_000},
					{Label: "DELETE /v1/sessions", Value: 950, Secondary: 950},
					{Label: "", Value: 0},
				},
			}))
		}},
		{"bar_empty", func() string { return string(BarChart(BarChartSpec{Title: "Top consumers"})) }},
	}
}

func TestChartGolden(t *testing.T) {
	for _, tc := range chartGoldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.svg()
			if again := tc.svg(); again != got {
				t.Fatal("output is not deterministic")
			}
			path := filepath.Join("testdata", "chart_"+tc.name+".svg")
			if *chartUpdate {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("output differs from %s (run go test -update and review the diff)", path)
			}
		})
	}
}

// chartCheckXML fails unless svg is one well-formed XML element with no
// style attribute, <style> or <script> element, so it passes a CSP of
// default-src 'self'.
func chartCheckXML(t testing.TB, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			if n := tok.Name.Local; n == "style" || n == "script" || n == "foreignObject" {
				t.Fatalf("forbidden element <%s>", n)
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "style" || strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "href" {
					t.Fatalf("forbidden attribute %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("want one root element, got %d (depth %d)", roots, depth)
	}
}

func TestChartWellFormed(t *testing.T) {
	for _, tc := range chartGoldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.svg()
			chartCheckXML(t, svg)
			if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `aria-label="`) {
				t.Error("missing role or aria-label")
			}
		})
	}
}

func TestChartEscapesLabels(t *testing.T) {
	const evil = `<script>alert(1)</script>"onload=`
	outputs := map[string]string{
		"line": string(LineChart(LineChartSpec{
			Title: evil, Unit: evil,
			Series: []LineChartSeries{{Name: evil, Points: chartMinutes(chartT0, 10, func(i int) float64 { return float64(i) })}},
		})),
		"line empty": string(LineChart(LineChartSpec{Title: evil})),
		"bar": string(BarChart(BarChartSpec{
			Title: evil, ValueName: evil, SecondaryName: evil, LabelRunes: 100,
			Items: []BarChartItem{{Label: evil, Value: 3, Secondary: 1}},
		})),
	}
	for name, svg := range outputs {
		t.Run(name, func(t *testing.T) {
			chartCheckXML(t, svg)
			for _, bad := range []string{"<script", `"onload`, "alert(1)</"} {
				if strings.Contains(svg, bad) {
					t.Errorf("output contains %q unescaped:\n%s", bad, svg)
				}
			}
			if !strings.Contains(svg, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onload=") {
				t.Errorf("escaped label missing:\n%s", svg)
			}
		})
	}
}

func TestChartCleansText(t *testing.T) {
	bad := "a\x00b\x1b\xff\xfe\uFFFE\n<&>"
	svg := string(BarChart(BarChartSpec{Title: bad, Items: []BarChartItem{{Label: bad, Value: 1}}}))
	chartCheckXML(t, svg)
	if !utf8.ValidString(svg) {
		t.Error("output is not valid UTF-8")
	}
}

// chartPaths returns the d attribute of every <path> inside the group of
// class chart-line-<i>.
func chartPaths(t *testing.T, svg string, i int) []string {
	t.Helper()
	class := "chart-line-" + string(rune('0'+i))
	d := xml.NewDecoder(strings.NewReader(svg))
	var paths []string
	inside := 0 // depth inside the series group, 0 when outside
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return paths
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch {
			case inside > 0:
				inside++
				if tok.Name.Local == "path" {
					paths = append(paths, attr["d"])
				}
			case tok.Name.Local == "g" && attr["class"] == class:
				inside = 1
			}
		case xml.EndElement:
			if inside > 0 {
				inside--
			}
		}
	}
}

func TestChartNaNBreaksLine(t *testing.T) {
	vals := []float64{1, 2, math.NaN(), 4, 5, math.Inf(1), 7, math.NaN(), 9}
	svg := string(LineChart(LineChartSpec{Series: []LineChartSeries{{Name: "x", Points: chartMinutes(chartT0, len(vals), func(i int) float64 { return vals[i] })}}}))
	paths := chartPaths(t, svg, 0)
	if len(paths) != 1 {
		t.Fatalf("want 1 path, got %q", paths)
	}
	d := paths[0]
	if got := strings.Count(d, "M"); got != 4 {
		t.Errorf("want 4 subpaths (1-2, 4-5, 7, 9), got %d in %q", got, d)
	}
	if got := strings.Count(d, "L"); got != 2 {
		t.Errorf("want 2 line segments, got %d in %q", got, d)
	}
	if got := strings.Count(d, "h0"); got != 2 {
		t.Errorf("want the lone points 7 and 9 drawn as dots (h0), got %d in %q", got, d)
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("NaN or Inf printed")
	}
}

func TestChartNiceScale(t *testing.T) {
	tests := []struct {
		in, top, step float64
	}{
		{0, 1, 0.2},
		{-3, 1, 0.2},
		{math.NaN(), 1, 0.2},
		{math.Inf(1), 1, 0.2},
		{0.03, 0.05, 0.01},
		{0.2, 0.2, 0.05},
		{0.7, 1, 0.2},
		{1, 1, 0.2},
		{1.01, 2, 0.5},
		{2, 2, 0.5},
		{2.2, 2.5, 0.5},
		{3, 5, 1},
		{7, 10, 2},
		{9.99, 10, 2},
		{10, 10, 2},
		{999, 1000, 200},
		{1000, 1000, 200},
		{1234, 2000, 500},
		{2400, 2500, 500},
		{4321, 5000, 1000},
		{1e6, 1e6, 2e5},
		{1.2e9, 2e9, 5e8},
	}
	for _, tc := range tests {
		top, step := chartNiceScale(tc.in)
		if top != tc.top || step != tc.step {
			t.Errorf("chartNiceScale(%v) = %v, %v; want %v, %v", tc.in, top, step, tc.top, tc.step)
		}
		if n := math.Round(top / step); n < 4 || n > 5 {
			t.Errorf("chartNiceScale(%v): %v intervals, want 4 or 5", tc.in, n)
		}
	}
}

func TestChartCompact(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.5, "0.5"}, {0.25, "0.25"}, {0.6000000000000001, "0.6"}, {0.0004, "0.0004"},
		{1, "1"}, {2.5, "2.5"}, {12.34, "12.3"}, {150, "150"}, {999.4, "999"}, {999.6, "1k"},
		{1200, "1.2k"}, {12_345, "12.3k"}, {123_456, "123k"}, {999_960, "1M"},
		{3_400_000, "3.4M"}, {1.5e9, "1.5G"}, {2e12, "2T"}, {-1200, "-1.2k"}, {math.NaN(), "–"},
	}
	for _, tc := range tests {
		if got := chartCompact(tc.in); got != tc.want {
			t.Errorf("chartCompact(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestChartTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語のラベル", 4, "日本語…"},
		{"éléphant", 2, "é…"},
		{"👩‍💻x", 2, "👩…"},
		{"abc", 0, "…"},
	}
	for _, tc := range tests {
		got := chartTruncate(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("chartTruncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestChartTimeTicks(t *testing.T) {
	for _, span := range []time.Duration{
		5 * time.Second, time.Minute, 7 * time.Minute, time.Hour, 90 * time.Minute, 6 * time.Hour,
		24 * time.Hour, 50 * time.Hour, 7 * 24 * time.Hour, 10 * 24 * time.Hour, 30 * 24 * time.Hour, 100 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 365 * 24 * time.Hour,
	} {
		for _, start := range []time.Time{chartT0, chartT0.Add(7*time.Minute + 13*time.Second)} {
			end := start.Add(span)
			ticks, layout := chartTimeTicks(start, end)
			if len(ticks) < 4 || len(ticks) > 6 {
				t.Errorf("span %v from %v: %d ticks", span, start, len(ticks))
			}
			seen := map[string]bool{}
			for i, tk := range ticks {
				if tk.Before(start) || tk.After(end) || i > 0 && !tk.After(ticks[i-1]) {
					t.Errorf("span %v: tick %v out of order or range", span, tk)
				}
				if layout == "Jan 2" && (tk.Hour() != 0 || tk.Minute() != 0) {
					t.Errorf("span %v: day label at %v, want midnight UTC", span, tk)
				}
				s := tk.UTC().Format(layout)
				if seen[s] {
					t.Errorf("span %v: duplicate label %q", span, s)
				}
				seen[s] = true
			}
			if span <= 24*time.Hour && span >= time.Minute && layout != "15:04" && layout != "15:04:05" {
				t.Errorf("span %v: layout %q, want a time of day", span, layout)
			}
		}
	}
	ticks, layout := chartTimeTicks(chartT0, chartT0.Add(time.Hour))
	var got []string
	for _, tk := range ticks {
		got = append(got, tk.Format(layout))
	}
	if want := "12:00 12:15 12:30 12:45 13:00"; strings.Join(got, " ") != want {
		t.Errorf("one hour: got %v, want %s", got, want)
	}
}

func TestChartNarrowLabelsDoNotOverlap(t *testing.T) {
	pts := chartMinutes(chartT0, 3*24*60, func(i int) float64 { return float64(i) })
	svg := string(LineChart(LineChartSpec{Width: 160, Series: []LineChartSeries{{Points: pts}}}))
	chartCheckXML(t, svg)
	if n := strings.Count(svg, `y="234"`); n < 2 || n > 3 {
		t.Errorf("%d X labels on a 160 px chart, want 2 or 3", n)
	}
}

func TestChartAriaLabel(t *testing.T) {
	svg := string(LineChart(LineChartSpec{
		Title:  "Requests per minute",
		Series: []LineChartSeries{{Name: "requests", Points: chartMinutes(chartT0, 61, func(i int) float64 { return float64(i * 20) })}},
	}))
	if want := `aria-label="Requests per minute, 12:00 to 13:00 UTC, max 1.2k"`; !strings.Contains(svg, want) {
		t.Errorf("want %s in\n%s", want, svg[:300])
	}
	empty := string(LineChart(LineChartSpec{Title: "Requests per minute"}))
	if !strings.Contains(empty, ">No data in this range</text>") {
		t.Errorf("empty chart lacks the no-data text:\n%s", empty)
	}
}

func TestChartDownsample(t *testing.T) {
	const n = 5003
	pts := chartMinutes(chartT0, n, func(i int) float64 {
		switch {
		case i == 3333:
			return 1000 // a spike must survive
		case i >= 4000 && i < 4010:
			return math.NaN() // a gap wider than a bucket must survive
		}
		return float64(i % 10)
	})
	got := chartDownsample(pts, chartMaxPoints)
	if len(got) != chartMaxPoints {
		t.Fatalf("len = %d, want %d", len(got), chartMaxPoints)
	}
	spike, gaps := false, 0
	for i, p := range got {
		if i > 0 && !p.At.After(got[i-1].At) {
			t.Fatalf("point %d not after point %d", i, i-1)
		}
		lo, hi := i*n/chartMaxPoints, (i+1)*n/chartMaxPoints
		if hi-lo < 2 || hi-lo > 3 {
			t.Fatalf("bucket %d has %d points", i, hi-lo)
		}
		want := math.NaN()
		for _, q := range pts[lo:hi] {
			if !math.IsNaN(q.Value) && (math.IsNaN(want) || q.Value > want) {
				want = q.Value
			}
		}
		if !(p.Value == want || math.IsNaN(p.Value) && math.IsNaN(want)) {
			t.Fatalf("bucket %d: value %v, want max %v", i, p.Value, want)
		}
		spike = spike || p.Value == 1000
		if math.IsNaN(p.Value) {
			gaps++
		}
	}
	if !spike || gaps == 0 {
		t.Errorf("spike kept %v, gap buckets %d", spike, gaps)
	}
	if short := pts[:10]; &chartDownsample(short, chartMaxPoints)[0] != &short[0] {
		t.Error("short series copied")
	}

	// Through LineChart: at most 2,000 vertices per series, at most 6 series.
	series := make([]LineChartSeries, 8)
	for i := range series {
		series[i] = LineChartSeries{Name: "s", Points: pts}
	}
	svg := string(LineChart(LineChartSpec{Series: series}))
	chartCheckXML(t, svg)
	d := chartPaths(t, svg, 0)
	if len(d) != 1 {
		t.Fatalf("paths: %d", len(d))
	}
	if v := strings.Count(d[0], "M") + strings.Count(d[0], "L"); v > chartMaxPoints {
		t.Errorf("%d vertices, want at most %d", v, chartMaxPoints)
	}
	if strings.Contains(svg, "chart-line-6") {
		t.Error("more than 6 series drawn")
	}
}

func TestChartBounds(t *testing.T) {
	items := make([]BarChartItem, 80)
	for i := range items {
		items[i] = BarChartItem{Label: strings.Repeat("x", 500), Value: float64(i)}
	}
	svg := string(BarChart(BarChartSpec{Items: items, Width: 1 << 30}))
	chartCheckXML(t, svg)
	if got := strings.Count(svg, `class="chart-bar"`); got != chartMaxBars-1 { // the first is zero
		t.Errorf("%d bars, want %d", got, chartMaxBars)
	}
	if strings.Contains(svg, `width="1073741824"`) {
		t.Error("width not clamped")
	}
	// Coordinates carry at most one decimal.
	for _, f := range strings.FieldsFunc(string(LineChart(LineChartSpec{Series: []LineChartSeries{{Points: chartMinutes(chartT0, 7, func(i int) float64 { return math.Pi * float64(i) })}}})), func(r rune) bool {
		return r == ' ' || r == '"' || r == 'M' || r == 'L' || r == 'H'
	}) {
		if i := strings.IndexByte(f, '.'); i >= 0 && len(f)-i > 2 && f[0] >= '0' && f[0] <= '9' && strings.Trim(f, "0123456789.") == "" {
			t.Errorf("coordinate %q has more than one decimal", f)
		}
	}
}

func FuzzChartText(f *testing.F) {
	f.Add(`<script>alert(1)</script>"onload=`, 3.5)
	f.Add("\xff\x00\uFFFE]]>", math.NaN())
	f.Fuzz(func(t *testing.T, label string, v float64) {
		chartCheckXML(t, string(BarChart(BarChartSpec{Title: label, Items: []BarChartItem{{Label: label, Value: v, Secondary: v / 2}}})))
		chartCheckXML(t, string(LineChart(LineChartSpec{Title: label, Unit: label, Series: []LineChartSeries{{Name: label, Points: []LineChartPoint{{At: chartT0, Value: v}, {At: chartT0.Add(time.Hour), Value: 2 * v}}}}})))
	})
}

func BenchmarkLineChart(b *testing.B) {
	series := make([]LineChartSeries, 3)
	for s := range series {
		series[s] = LineChartSeries{Name: "p" + string(rune('5'+s)), Points: chartMinutes(chartT0, 1440, func(i int) float64 {
			return float64(10*(s+1)) * (1 + 0.3*math.Sin(float64(i)/60))
		})}
	}
	spec := LineChartSpec{Title: "Latency", Unit: "ms", Width: 800, Height: 300, Series: series}
	b.ReportAllocs()
	for b.Loop() {
		_ = LineChart(spec)
	}
}

func TestChartNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {-0.04, "0"}, {0.05, "0.1"}, {12.34, "12.3"}, {12.36, "12.4"},
		{-3.25, "-3.3"}, {100, "100"}, {99.96, "100"}, {math.NaN(), "0"}, {math.Inf(-1), "0"},
	}
	for _, tc := range tests {
		var w chartWriter
		w.num(tc.in)
		if got := w.b.String(); got != tc.want {
			t.Errorf("num(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
