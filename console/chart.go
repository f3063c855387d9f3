package console

// Server-side SVG charts for the console pages.
//
// The console is served with Content-Security-Policy "default-src 'self'", so
// the markup built here holds no style attribute, no <style> element and no
// script: looks come from SVG presentation attributes (fill, stroke,
// font-size, …), which a stylesheet may override through the classes chart,
// chart-axis, chart-grid, chart-label, chart-line-0 … chart-line-5, chart-bar
// and chart-bar-secondary.
//
// Safety: the returned template.HTML is built only from numbers formatted
// here and from caller text passed through chartWriter.text, which replaces
// characters XML forbids and then applies html.EscapeString. No other caller
// string reaches the output.
//
// Bounds: at most chartMaxSeries series of chartMaxPoints points each (longer
// series are downsampled), at most chartMaxBars bars, labels truncated by
// rune count, sizes clamped; so the output size is bounded whatever the input.
// Output is deterministic: the same spec gives the same bytes.

import (
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LineChartSpec describes a time-series chart drawn by LineChart.
type LineChartSpec struct {
	// Title names what is plotted, e.g. "Requests per minute". It opens the
	// accessible label and the SVG <title>. If empty, "Chart" is used.
	Title string
	// Unit is appended to values in tooltips and in the accessible label,
	// e.g. "ms". If empty, values are shown bare.
	Unit string
	// Width and Height are the size in pixels. Zero means 640 and 240; other
	// values are clamped to 160…4096 and 100…2048.
	Width, Height int
	// Series are the lines, drawn in order with the colours chart-line-0 …
	// chart-line-5. Series after the sixth are ignored.
	Series []LineChartSeries
}

// LineChartSeries is one named line of a LineChart.
type LineChartSeries struct {
	// Name labels the line in the legend and tooltips, e.g. "p95". If empty,
	// "Series N" is used.
	Name string
	// Points are the samples in time order (an unsorted slice is drawn from a
	// sorted copy). A series of more than 2,000 points is downsampled to 2,000
	// buckets of consecutive points, each drawn as its maximum.
	Points []LineChartPoint
}

// LineChartPoint is one sample of a LineChartSeries.
type LineChartPoint struct {
	// At is the sample time; labels are shown in UTC.
	At time.Time
	// Value is the sample. NaN or ±Inf is a gap: it breaks the line.
	// Negative values are drawn at zero, as the Y axis starts at zero.
	Value float64
}

// BarChartSpec describes a horizontal bar chart for a top-N list, drawn by
// BarChart.
type BarChartSpec struct {
	// Title names the list, e.g. "Top routes by requests". It opens the
	// accessible label and the SVG <title>. If empty, "Chart" is used.
	Title string
	// Width is the width in pixels. Zero means 640; other values are clamped
	// to 160…4096. The height follows from the number of bars (24 px each).
	Width int
	// Items are the bars, drawn top to bottom in order. Items after the 50th
	// are ignored.
	Items []BarChartItem
	// LabelRunes is how many runes of a label are shown before it is cut
	// with "…". Zero means 24; the full label stays in the tooltip.
	LabelRunes int
	// ValueName and SecondaryName name Value and Secondary in tooltips, e.g.
	// "requests" and "errors". If empty, the numbers are shown bare.
	ValueName, SecondaryName string
}

// BarChartItem is one bar of a BarChart.
type BarChartItem struct {
	// Label names the bar, e.g. a route or a consumer.
	Label string
	// Value is the bar length, printed at the bar end. NaN, ±Inf and
	// negative values are drawn as zero.
	Value float64
	// Secondary is an optional part of Value, e.g. errors among requests,
	// drawn as a darker overlay from the bar start and clamped to Value.
	// Zero draws no overlay.
	Secondary float64
}

const (
	chartMaxSeries  = 6
	chartMaxPoints  = 2000
	chartMaxBars    = 50
	chartMaxMarkers = 120 // a series of at most this many points gets one tooltip per point
	chartNameRunes  = 32  // series names in legends and tooltips
	chartTitleRunes = 120 // titles in the accessible label
	chartCharWidth  = 6.6 // estimated advance of one character at font-size 11
	chartNoData     = "No data in this range"
	chartBarRow     = 24 // px per bar row
	chartBarHeight  = 16 // px bar thickness
)

// chartColors are the default stroke colours of chart-line-0 … chart-line-5.
var chartColors = [chartMaxSeries]string{"#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"}

// chartTimeSteps are the aligned steps tried for X-axis labels.
var chartTimeSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour,
}

// chartSeries is a LineChartSeries after cleaning, sorting and downsampling.
type chartSeries struct {
	name      string
	points    []LineChartPoint
	max, last float64
	finite    bool
}

// LineChart renders c as an SVG line chart: time on X, values on a Y axis
// from zero to a rounded maximum, a legend, tooltips and an accessible label.
// With no finite value it renders a frame with the text "No data in this
// range".
func LineChart(c LineChartSpec) template.HTML {
	width := chartClamp(c.Width, 640, 160, 4096)
	height := chartClamp(c.Height, 240, 100, 2048)
	title := chartName(c.Title, chartTitleRunes, "Chart")
	unit := chartTruncate(chartClean(c.Unit), 16)

	n := min(len(c.Series), chartMaxSeries)
	series := make([]chartSeries, n)
	var t0, t1 time.Time
	anyPoint, anyFinite := false, false
	ymax, size := 0.0, 0
	for i := range n {
		s := &series[i]
		s.name = chartName(c.Series[i].Name, chartNameRunes, "Series "+strconv.Itoa(i+1))
		s.points = chartPrepare(c.Series[i].Points)
		size += len(s.points)
		for _, p := range s.points {
			if !anyPoint || p.At.Before(t0) {
				t0 = p.At
			}
			if !anyPoint || p.At.After(t1) {
				t1 = p.At
			}
			anyPoint = true
			if !chartFinite(p.Value) {
				continue
			}
			if !s.finite || p.Value > s.max {
				s.max = p.Value
			}
			s.last, s.finite = p.Value, true
		}
		if s.finite {
			if !anyFinite || s.max > ymax {
				ymax = s.max
			}
			anyFinite = true
		}
	}

	var w chartWriter
	w.b.Grow(2048 + size*12)
	if !anyFinite {
		chartEmpty(&w, width, height, title)
		return template.HTML(w.b.String())
	}

	span := t1.Sub(t0)
	when := chartSummaryLayout(span)
	label := title + ", " + t0.UTC().Format(when)
	if span > 0 {
		label += " to " + t1.UTC().Format(when)
	}
	label += " UTC, max " + chartCompact(ymax) + chartUnit(unit)

	// Y scale and the left margin its labels need.
	top, step := chartNiceScale(ymax)
	ticks := int(math.Round(top / step))
	ylabels := make([]string, ticks+1)
	left := 28.0
	for i := range ylabels {
		ylabels[i] = chartCompact(float64(i) * step)
		left = max(left, float64(len(ylabels[i]))*chartCharWidth+10)
	}
	const right, bottom = 16.0, 22.0
	W, H := float64(width), float64(height)

	// Legend rows above the plot; dropped when they would crush it.
	type chartLegendItem struct{ x, y float64 }
	legend := make([]chartLegendItem, n)
	x, y := left, 6.0
	for i := range series {
		iw := 18 + float64(utf8.RuneCountInString(series[i].name))*chartCharWidth
		if x > left && x+iw > W-right {
			x, y = left, y+16
		}
		legend[i] = chartLegendItem{x, y}
		x += iw + 14
	}
	topMargin := y + 16 + 8
	if H-topMargin-bottom < 40 {
		legend, topMargin = nil, 10
	}
	x0, x1, y0, y1 := left, W-right, topMargin, H-bottom
	pw, ph := x1-x0, y1-y0

	w.open(width, height, label)
	w.str(`<g class="chart-grid" fill="none" stroke="#e5e7eb" stroke-width="1" shape-rendering="crispEdges"><path d="`)
	for i := 1; i <= ticks; i++ {
		w.str("M")
		w.pt(x0, y1-float64(i)/float64(ticks)*ph)
		w.str("H")
		w.num(x1)
	}
	w.str(`"/></g>`)

	xs := func(t time.Time) float64 {
		if span <= 0 {
			return x0 + pw/2
		}
		return x0 + float64(t.Sub(t0))/float64(span)*pw
	}
	ys := func(v float64) float64 { return y1 - min(max(v, 0), top)/top*ph }

	times, layout := chartTimeTicks(t0, t1)
	// On a narrow chart, drop every other label rather than overlap them.
	for lw := float64(len(layout))*chartCharWidth + 8; len(times) > 2 && xs(times[1])-xs(times[0]) < lw; {
		for j := range (len(times) + 1) / 2 {
			times[j] = times[2*j]
		}
		times = times[:(len(times)+1)/2]
	}
	w.str(`<g class="chart-axis" fill="none" stroke="#9ca3af" stroke-width="1" shape-rendering="crispEdges"><path d="M`)
	w.pt(x0, y1)
	w.str("H")
	w.num(x1)
	for _, t := range times {
		w.str("M")
		w.pt(xs(t), y1)
		w.str("v4")
	}
	w.str(`"/></g>`)

	w.str(`<g class="chart-label" fill="#6b7280" font-size="11">`)
	for i, s := range ylabels {
		w.str(`<text x="`)
		w.num(x0 - 6)
		w.str(`" y="`)
		w.num(y1 - float64(i)/float64(ticks)*ph + 4)
		w.str(`" text-anchor="end">`)
		w.text(s)
		w.str(`</text>`)
	}
	for _, t := range times {
		s := t.UTC().Format(layout)
		tx, half := xs(t), float64(len(s))*chartCharWidth/2
		anchor := "middle"
		switch {
		case tx+half > W:
			anchor = "end"
		case tx-half < 0:
			anchor = "start"
		}
		w.str(`<text x="`)
		w.num(tx)
		w.str(`" y="`)
		w.num(y1 + 16)
		w.str(`" text-anchor="`)
		w.str(anchor)
		w.str(`">`)
		w.text(s)
		w.str(`</text>`)
	}
	w.str(`</g>`)

	if legend != nil {
		w.str(`<g class="chart-label" fill="#374151" font-size="11">`)
		for i, s := range series {
			w.str(`<path class="chart-line-`)
			w.int(i)
			w.str(`" d="M`)
			w.pt(legend[i].x, legend[i].y+6)
			w.str(`h12" stroke="`)
			w.str(chartColors[i])
			w.str(`" stroke-width="2"/><text x="`)
			w.num(legend[i].x + 16)
			w.str(`" y="`)
			w.num(legend[i].y + 10)
			w.str(`">`)
			w.text(s.name)
			w.str(`</text>`)
		}
		w.str(`</g>`)
	}

	for i, s := range series {
		w.str(`<g class="chart-line-`)
		w.int(i)
		w.str(`" fill="none" stroke="`)
		w.str(chartColors[i])
		w.str(`" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"><title>`)
		w.text(s.name)
		if s.finite {
			w.text(": max " + chartCompact(s.max) + chartUnit(unit) + ", last " + chartCompact(s.last) + chartUnit(unit))
		} else {
			w.text(": no data")
		}
		w.str(`</title>`)
		if s.finite {
			w.str(`<path d="`)
			run := 0 // points in the current subpath
			for _, p := range s.points {
				if !chartFinite(p.Value) {
					if run == 1 {
						w.str("h0") // a lone point: round caps draw it as a dot
					}
					run = 0
					continue
				}
				if run == 0 {
					w.str("M")
				} else {
					w.str("L")
				}
				w.pt(xs(p.At), ys(p.Value))
				run++
			}
			if run == 1 {
				w.str("h0")
			}
			w.str(`"/>`)
		}
		if s.finite && len(s.points) <= chartMaxMarkers {
			w.str(`<g fill="#fff" stroke-width="1">`)
			for _, p := range s.points {
				if !chartFinite(p.Value) {
					continue
				}
				w.str(`<circle cx="`)
				w.num(xs(p.At))
				w.str(`" cy="`)
				w.num(ys(p.Value))
				w.str(`" r="2.5"><title>`)
				w.text(s.name + " " + p.At.UTC().Format(when) + " UTC: " + chartCompact(p.Value) + chartUnit(unit))
				w.str(`</title></circle>`)
			}
			w.str(`</g>`)
		}
		w.str(`</g>`)
	}
	w.str(`</svg>`)
	return template.HTML(w.b.String())
}

// BarChart renders c as an SVG chart of horizontal bars with their labels
// on the left and their values at the bar ends. With no items it renders a
// frame with the text "No data in this range".
func BarChart(c BarChartSpec) template.HTML {
	width := chartClamp(c.Width, 640, 160, 4096)
	title := chartName(c.Title, chartTitleRunes, "Chart")
	runes := c.LabelRunes
	if runes <= 0 {
		runes = 24
	}
	runes = min(runes, 200)
	items := c.Items[:min(len(c.Items), chartMaxBars)]

	var w chartWriter
	w.b.Grow(1024 + len(items)*400)
	if len(items) == 0 {
		chartEmpty(&w, width, 80, title)
		return template.HTML(w.b.String())
	}

	vmax, imax := 0.0, 0
	for i, it := range items {
		if v := chartNonNeg(it.Value); v > vmax {
			vmax, imax = v, i
		}
	}
	label := title + ", " + strconv.Itoa(len(items)) + " bars, largest " +
		chartName(items[imax].Label, chartNameRunes, "(unnamed)") + " " + chartCompact(vmax)

	const pad, valueW = 8.0, 52.0
	W := float64(width)
	height := int(2*pad) + len(items)*chartBarRow
	labelW := min(float64(runes)*chartCharWidth+12, W*0.4)
	barX := labelW
	barMax := max(W-labelW-valueW, 10)
	scale := 0.0
	if vmax > 0 {
		scale = barMax / vmax
	}

	w.open(width, height, label)
	w.str(`<g class="chart-label" fill="#374151" font-size="11">`)
	for i, it := range items {
		name := chartName(it.Label, 200, "(unnamed)")
		v := chartNonNeg(it.Value)
		sec := min(chartNonNeg(it.Secondary), v)
		rowY := pad + float64(i*chartBarRow)
		barY := rowY + (chartBarRow-chartBarHeight)/2
		textY := rowY + chartBarRow/2 + 4

		w.str(`<g><title>`)
		w.text(name + ": " + chartCompact(v) + chartUnit(c.ValueName))
		if sec > 0 {
			w.text(", " + chartCompact(sec) + chartUnit(c.SecondaryName))
		}
		w.str(`</title><text x="4" y="`)
		w.num(textY)
		w.str(`">`)
		w.text(chartTruncate(name, runes))
		w.str(`</text>`)
		bw := v * scale
		if v > 0 {
			bw = max(bw, 1)
		}
		if bw > 0 {
			w.bar("chart-bar", "#93c5fd", barX, barY, bw)
		}
		if sec > 0 {
			w.bar("chart-bar-secondary", "#1d4ed8", barX, barY, max(sec*scale, 1))
		}
		w.str(`<text x="`)
		w.num(barX + bw + 4)
		w.str(`" y="`)
		w.num(textY)
		w.str(`">`)
		w.text(chartCompact(v))
		w.str(`</text></g>`)
	}
	w.str(`</g></svg>`)
	return template.HTML(w.b.String())
}

// chartWriter appends SVG markup. Caller text goes only through text.
// It writes to a strings.Builder so the result is not copied again.
type chartWriter struct {
	b   strings.Builder
	tmp [24]byte
}

func (w *chartWriter) str(s string) { w.b.WriteString(s) }

func (w *chartWriter) int(n int) { w.b.Write(strconv.AppendInt(w.tmp[:0], int64(n), 10)) }

// num appends v rounded to one decimal, without a trailing ".0".
// It formats integer tenths rather than calling strconv.AppendFloat, which
// took half of BenchmarkLineChart.
func (w *chartWriter) num(v float64) {
	tenths := math.Round(v * 10)
	if !(math.Abs(tenths) < 1e15) { // NaN, ±Inf, or beyond any drawing
		tenths = 0
	}
	t := int64(tenths)
	b := w.tmp[:0]
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/10, 10)
	if d := t % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	w.b.Write(b)
}

// pt appends "x y".
func (w *chartWriter) pt(x, y float64) {
	w.num(x)
	w.b.WriteByte(' ')
	w.num(y)
}

// text appends s as escaped character data, safe in elements and in
// double-quoted attributes.
func (w *chartWriter) text(s string) { w.b.WriteString(html.EscapeString(chartClean(s))) }

// open starts the <svg> element with its accessible name.
func (w *chartWriter) open(width, height int, label string) {
	w.str(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="`)
	w.int(width)
	w.str(`" height="`)
	w.int(height)
	w.str(`" viewBox="0 0 `)
	w.int(width)
	w.str(" ")
	w.int(height)
	w.str(`" role="img" aria-label="`)
	w.text(label)
	w.str(`" font-family="system-ui, sans-serif" font-size="11"><title>`)
	w.text(label)
	w.str(`</title>`)
}

func (w *chartWriter) bar(class, fill string, x, y, width float64) {
	w.str(`<rect class="`)
	w.str(class)
	w.str(`" x="`)
	w.num(x)
	w.str(`" y="`)
	w.num(y)
	w.str(`" width="`)
	w.num(width)
	w.str(`" height="`)
	w.num(chartBarHeight)
	w.str(`" fill="`)
	w.str(fill)
	w.str(`"/>`)
}

// chartEmpty writes a framed chart saying there is no data.
func chartEmpty(w *chartWriter, width, height int, title string) {
	w.open(width, height, title+", no data in this range")
	w.str(`<rect class="chart-grid" x="0.5" y="0.5" width="`)
	w.int(width - 1)
	w.str(`" height="`)
	w.int(height - 1)
	w.str(`" fill="none" stroke="#e5e7eb"/><text class="chart-label" x="`)
	w.num(float64(width) / 2)
	w.str(`" y="`)
	w.num(float64(height)/2 + 4)
	w.str(`" text-anchor="middle" fill="#6b7280">`)
	w.text(chartNoData)
	w.str(`</text></svg>`)
}

// chartPrepare returns pts in time order with at most chartMaxPoints points.
// It never modifies pts.
func chartPrepare(pts []LineChartPoint) []LineChartPoint {
	byTime := func(a, b LineChartPoint) int { return a.At.Compare(b.At) }
	if !slices.IsSortedFunc(pts, byTime) {
		pts = slices.Clone(pts)
		slices.SortStableFunc(pts, byTime)
	}
	return chartDownsample(pts, chartMaxPoints)
}

// chartDownsample cuts pts into limit buckets of consecutive points (sizes
// differ by at most one) and keeps each bucket's maximum finite point, or
// its first point when none is finite, so gaps survive. It returns pts
// itself when len(pts) <= limit.
func chartDownsample(pts []LineChartPoint, limit int) []LineChartPoint {
	n := len(pts)
	if n <= limit || limit <= 0 {
		return pts
	}
	out := make([]LineChartPoint, limit)
	for i := range out {
		bucket := pts[i*n/limit : (i+1)*n/limit]
		best := bucket[0]
		for _, p := range bucket[1:] {
			if chartFinite(p.Value) && (!chartFinite(best.Value) || p.Value > best.Value) {
				best = p
			}
		}
		out[i] = best
	}
	return out
}

// chartNiceScale returns the smallest top of the form m×10^k, m in 1, 2,
// 2.5, 5, that is at least v, and a gridline step giving 4 or 5 intervals.
// A v that is not positive and finite gives 1.
func chartNiceScale(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	k := int(math.Floor(math.Log10(v)))
	if chartPow10(1, k) > v { // Log10 rounding
		k--
	}
	if chartPow10(1, k+1) <= v {
		k++
	}
	for _, m := range [...]struct{ top, step float64 }{{1, 0.2}, {2, 0.5}, {2.5, 0.5}, {5, 1}} {
		if t := chartPow10(m.top, k); t >= v {
			return t, chartPow10(m.step, k)
		}
	}
	return chartPow10(1, k+1), chartPow10(2, k)
}

// chartPow10 returns m×10^k, correctly rounded for small |k|.
func chartPow10(m float64, k int) float64 {
	if k < 0 {
		return m / math.Pow10(-k)
	}
	return m * math.Pow10(k)
}

// chartCompact formats v in at most about four characters: 0.25, 12.5,
// 950, 1.2k, 34k, 3.4M, 1.5G, 2T.
func chartCompact(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	var s string
	switch {
	case v == 0:
		return "0"
	case v >= 999.95e9:
		s = chartScaled(v/1e12) + "T"
	case v >= 999.95e6:
		s = chartScaled(v/1e9) + "G"
	case v >= 999.95e3:
		s = chartScaled(v/1e6) + "M"
	case v >= 999.5:
		s = chartScaled(v/1e3) + "k"
	case v >= 99.5:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 9.95:
		s = chartTrimZeros(strconv.FormatFloat(v, 'f', 1, 64))
	case v >= 0.995:
		s = chartTrimZeros(strconv.FormatFloat(v, 'f', 2, 64))
	default:
		s = strconv.FormatFloat(v, 'g', 2, 64)
	}
	return sign + s
}

// chartScaled formats a value already divided by its unit: 1.2, 34.5, 120.
func chartScaled(v float64) string {
	if v >= 99.95 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return chartTrimZeros(strconv.FormatFloat(v, 'f', 1, 64))
}

func chartTrimZeros(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// chartTimeTicks returns 4 to 6 X-axis label times in [t0, t1], aligned to
// a multiple of a round UTC step (evenly spaced for spans under a few
// seconds), with the layout to format them.
func chartTimeTicks(t0, t1 time.Time) ([]time.Time, string) {
	span := t1.Sub(t0)
	if span <= 0 {
		return []time.Time{t0}, "15:04"
	}
	for i := len(chartTimeSteps) - 1; i >= 0; i-- {
		step := chartTimeSteps[i]
		first := t0.Truncate(step)
		if first.Before(t0) {
			first = first.Add(step)
		}
		n := 0
		if !first.After(t1) {
			n = int(t1.Sub(first)/step) + 1
		}
		if n < 4 {
			continue
		}
		// Too many at this step when the next larger one gave too few:
		// label every k-th. 6n/(n+6) ≥ 3.5 keeps 4 to 6 labels.
		k := (n + 5) / 6
		n = (n-1)/k + 1
		ticks := make([]time.Time, n)
		for j := range ticks {
			ticks[j] = first.Add(time.Duration(j*k) * step)
		}
		layout := chartTimeLayout(span, step)
		if layout == "15:04" && ticks[n-1].Sub(ticks[0]) >= 24*time.Hour {
			ticks = ticks[:n-1] // the same time of day on two days
		}
		return ticks, layout
	}
	ticks := make([]time.Time, 5)
	for j := range ticks {
		ticks[j] = t0.Add(span / 4 * time.Duration(j))
	}
	ticks[4] = t1
	return ticks, chartTimeLayout(span, span/4)
}

// chartTimeLayout picks the label layout for a span labelled every step.
func chartTimeLayout(span, step time.Duration) string {
	switch {
	case step < time.Minute:
		return "15:04:05"
	case span <= 24*time.Hour:
		return "15:04"
	case span > 300*24*time.Hour:
		return "Jan 2 2006"
	case step >= 24*time.Hour:
		return "Jan 2"
	default:
		return "Jan 2 15:04"
	}
}

// chartSummaryLayout is the layout of single times (accessible label,
// tooltips) for a chart spanning span.
func chartSummaryLayout(span time.Duration) string {
	if span < 24*time.Hour {
		return "15:04"
	}
	return "Jan 2 15:04"
}

// chartClean makes s valid XML character data: invalid UTF-8 and U+FFFE,
// U+FFFF become U+FFFD, control characters become spaces. It returns s
// itself when nothing changes.
func chartClean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f:
			return ' '
		case r == 0xFFFE || r == 0xFFFF:
			return utf8.RuneError
		}
		return r
	}, s)
}

// chartTruncate cuts s to at most n runes, the last being "…" when cut.
func chartTruncate(s string, n int) string {
	n = max(n, 1)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// chartName cleans and truncates s, or returns def when s is blank.
func chartName(s string, n int, def string) string {
	s = chartTruncate(chartClean(s), n)
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// chartUnit returns " unit", or "" for no unit.
func chartUnit(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + chartTruncate(unit, 16)
}

func chartClamp(v, def, lo, hi int) int {
	if v == 0 {
		return def
	}
	return min(max(v, lo), hi)
}

func chartFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func chartNonNeg(v float64) float64 {
	if !chartFinite(v) || v < 0 {
		return 0
	}
	return v
}
