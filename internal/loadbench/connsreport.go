package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// memSample is a reading of Portico's memory and connections: RSS,
// threads and file descriptors from /proc, goroutines and the Go heap
// and stacks in use from its /metrics.
type memSample struct {
	RSS     int64 `json:"rss_bytes"`
	Threads int64 `json:"threads"`
	FDs     int64 `json:"fds"`
	// Goroutines and GoInUse (go_memstats_heap_inuse_bytes plus
	// go_memstats_stack_inuse_bytes) are -1 when /metrics did not answer.
	Goroutines int64 `json:"goroutines"`
	GoInUse    int64 `json:"go_heap_stack_inuse_bytes"`
}

// connsRound is one round of the experiment: the readings as the
// connections are opened and closed, and a wrk run with and one without
// them.
type connsRound struct {
	Round    int       `json:"round"`
	WithLast bool      `json:"with_last"` // the run without them came first
	Before   memSample `json:"before"`    // none of them open
	Idle     memSample `json:"idle"`      // the idle connections open
	Slow     memSample `json:"slow"`      // and the slow clients
	AfterWrk memSample `json:"after_wrk"` // after the run with them
	Closed   memSample `json:"closed"`    // all closed again
	// AfterWithout is read after the run without them.
	AfterWithout memSample `json:"after_wrk_without"`
	// IdleHeld and SlowHeld count the connections Portico still held
	// open after the run with them.
	IdleHeld int       `json:"idle_held"`
	SlowHeld int       `json:"slow_held"`
	With     runResult `json:"with"`
	Without  runResult `json:"without"`
}

// perConn is what n connections cost, from readings a before and b after
// they were opened: (b-a)/n, or 0 with none or an unknown reading.
func perConn(a, b int64, n int) float64 {
	if n == 0 || a < 0 || b < 0 {
		return 0
	}
	return float64(b-a) / float64(n)
}

// connsCost is the cost of one kind of connection, per connection.
type connsCost struct {
	RSSFirst   float64 `json:"rss_bytes_round_1"` // of the first round, from a process that never held them
	RSS        float64 `json:"rss_bytes"`         // median of the rounds
	GoInUse    float64 `json:"go_heap_stack_inuse_bytes"`
	Goroutines float64 `json:"goroutines"`
}

// connsSummary is the experiment's outcome.
type connsSummary struct {
	Idle connsCost `json:"idle"`
	Slow connsCost `json:"slow"`

	// Medians of the successful wrk runs with and without the connections.
	WithReqPerSec    float64 `json:"with_req_per_sec"`
	WithP99us        float64 `json:"with_p99_us"`
	WithoutReqPerSec float64 `json:"without_req_per_sec"`
	WithoutP99us     float64 `json:"without_p99_us"`

	// The ratios with / without of each round and their medians.
	P99Ratio        float64      `json:"p99_ratio"`
	P99PerRound     []roundRatio `json:"p99_ratio_per_round"`
	ReqPerSecRatio  float64      `json:"req_per_sec_ratio"`
	ReqPerSecPerRnd []roundRatio `json:"req_per_sec_ratio_per_round"`
	P99Goal         float64      `json:"p99_ratio_goal"` // at most
	P99Met          bool         `json:"p99_met"`
	Known           bool         `json:"known"`          // false: no round with both runs successful
	PeakRSS         int64        `json:"peak_rss_bytes"` // the most of the readings after a run with them
	// The least and the most of the readings after a run without them;
	// the most is mostly right after a run with them, before Go returned
	// the memory to the system.
	MinRSSWithout    int64 `json:"min_rss_without_bytes"`
	MaxRSSWithout    int64 `json:"max_rss_without_bytes"`
	FailedRuns       int   `json:"failed_runs"`
	ConnectionsSound bool  `json:"connections_held"` // Portico held every connection through every run with them
}

// p99Goal is issue 13's bound on p99 with the connections over p99
// without them.
const p99Goal = 1.5

// connsResults is everything the experiment measured.
type connsResults struct {
	Options      optionsOut   `json:"options"`
	Facts        facts        `json:"machine"`
	Idle         int          `json:"idle_connections"`
	Slow         int          `json:"slow_clients"`
	PorticoFlags []string     `json:"portico_flags"`
	NoFile       uint64       `json:"rlimit_nofile"`
	GOGC         int64        `json:"gogc"` // Portico's, from go_gc_gogc_percent; 0: unknown
	Rounds       []connsRound `json:"rounds"`
	Summary      connsSummary `json:"summary"`
}

// summarize computes the costs per connection and the wrk medians and
// ratios.
func (r *connsResults) summarize() {
	s := connsSummary{P99Goal: p99Goal, ConnectionsSound: len(r.Rounds) > 0}
	var idleRSS, idleGo, idleG, slowRSS, slowGo, slowG []float64
	var wRPS, wP99, woRPS, woP99 []float64
	for i, cr := range r.Rounds {
		idleRSS = append(idleRSS, perConn(cr.Before.RSS, cr.Idle.RSS, r.Idle))
		slowRSS = append(slowRSS, perConn(cr.Idle.RSS, cr.Slow.RSS, r.Slow))
		if cr.Before.GoInUse >= 0 && cr.Idle.GoInUse >= 0 && cr.Slow.GoInUse >= 0 {
			idleGo = append(idleGo, perConn(cr.Before.GoInUse, cr.Idle.GoInUse, r.Idle))
			slowGo = append(slowGo, perConn(cr.Idle.GoInUse, cr.Slow.GoInUse, r.Slow))
			idleG = append(idleG, perConn(cr.Before.Goroutines, cr.Idle.Goroutines, r.Idle))
			slowG = append(slowG, perConn(cr.Idle.Goroutines, cr.Slow.Goroutines, r.Slow))
		}
		if i == 0 {
			s.Idle.RSSFirst, s.Slow.RSSFirst = idleRSS[0], slowRSS[0]
		}
		s.PeakRSS = max(s.PeakRSS, cr.AfterWrk.RSS)
		if cr.AfterWithout.RSS > 0 {
			if s.MinRSSWithout == 0 || cr.AfterWithout.RSS < s.MinRSSWithout {
				s.MinRSSWithout = cr.AfterWithout.RSS
			}
			s.MaxRSSWithout = max(s.MaxRSSWithout, cr.AfterWithout.RSS)
		}
		if cr.IdleHeld != r.Idle || cr.SlowHeld != r.Slow {
			s.ConnectionsSound = false
		}
		for _, x := range []runResult{cr.With, cr.Without} {
			if x.Failed != "" {
				s.FailedRuns++
			}
		}
		if cr.With.Failed == "" {
			wRPS, wP99 = append(wRPS, cr.With.ReqPerSec), append(wP99, cr.With.P99us)
		}
		if cr.Without.Failed == "" {
			woRPS, woP99 = append(woRPS, cr.Without.ReqPerSec), append(woP99, cr.Without.P99us)
		}
		if cr.With.Failed == "" && cr.Without.Failed == "" && cr.Without.P99us > 0 && cr.Without.ReqPerSec > 0 {
			s.P99PerRound = append(s.P99PerRound, roundRatio{cr.Round, cr.With.P99us / cr.Without.P99us})
			s.ReqPerSecPerRnd = append(s.ReqPerSecPerRnd, roundRatio{cr.Round, cr.With.ReqPerSec / cr.Without.ReqPerSec})
		}
	}
	s.Idle.RSS, s.Idle.GoInUse, s.Idle.Goroutines = median(idleRSS), median(idleGo), median(idleG)
	s.Slow.RSS, s.Slow.GoInUse, s.Slow.Goroutines = median(slowRSS), median(slowGo), median(slowG)
	s.WithReqPerSec, s.WithP99us = median(wRPS), median(wP99)
	s.WithoutReqPerSec, s.WithoutP99us = median(woRPS), median(woP99)
	if len(s.P99PerRound) > 0 {
		s.Known = true
		s.P99Ratio, s.ReqPerSecRatio = medianRatio(s.P99PerRound), medianRatio(s.ReqPerSecPerRnd)
		s.P99Met = s.P99Ratio <= p99Goal
	}
	r.Summary = s
}

// print writes the human report.
func (r *connsResults) print(w io.Writer) {
	o, f, s := r.Options, r.Facts, r.Summary
	fmt.Fprintf(w, "\nPortico connections experiment: %d idle keep-alive connections and %d slow clients; %d round(s), each a wrk run with them held open and one without, alternating\n",
		r.Idle, r.Slow, o.Rounds)
	fmt.Fprintf(w, "Portico: %s\n", f.Targets["portico"])
	fmt.Fprintf(w, "  started as the portico target with %s: with the defaults (10s, 120s) the slow clients would be cut before the measurement ends\n",
		strings.Join(r.PorticoFlags, " "))
	fmt.Fprintf(w, "idle: each sent one GET of the API and read its 200, then stayed open, silent\n")
	fmt.Fprintf(w, "slow: each sends a request head a byte a second, never finished, and is closed after the run with them\n")
	fmt.Fprintf(w, "%s -t%d -c%d -d%gs --latency, GET of a %d-byte response; RLIMIT_NOFILE %d\n", f.Wrk, o.Threads, o.Connections, o.Seconds, len(backendBody), r.NoFile)
	fmt.Fprintf(w, "machine: %d CPUs (%s), Linux %s, load average at start %s; Go %s\n", f.CPUs, f.CPUModel, f.Kernel, f.LoadAvg, f.Go)

	fmt.Fprintf(w, "\nPortico's memory (RSS from /proc/PID/status; goroutines and Go heap + stacks in use from its /metrics;\n"+
		"the kernel's socket buffers are in neither). Per conn: the change from the reading above, over the connections opened.\n"+
		"RSS grows by less than Go's memory in use where the heap takes pages it already held (from the warm-up);\n"+
		"Go's in use counts garbage not yet collected:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\treading\tRSS\tper conn\tGo in use\tper conn\tgoroutines\tper conn\tthreads\tfds\t")
	for _, cr := range r.Rounds {
		type row struct {
			name string
			m    memSample
			prev *memSample
			n    int
		}
		rows := []row{
			{"before", cr.Before, nil, 0},
			{fmt.Sprintf("+ %d idle", r.Idle), cr.Idle, &cr.Before, r.Idle},
			{fmt.Sprintf("+ %d slow", r.Slow), cr.Slow, &cr.Idle, r.Slow},
			{"after wrk with them", cr.AfterWrk, nil, 0},
			{"all closed", cr.Closed, nil, 0},
		}
		without := row{"after wrk without", cr.AfterWithout, nil, 0}
		if cr.WithLast {
			rows = append([]row{without}, rows...)
		} else {
			rows = append(rows, without)
		}
		for _, row := range rows {
			rssPer, goPer, gPer := "", "", ""
			if row.prev != nil {
				rssPer = fmtBytes(perConn(row.prev.RSS, row.m.RSS, row.n))
				if row.prev.GoInUse >= 0 && row.m.GoInUse >= 0 {
					goPer = fmtBytes(perConn(row.prev.GoInUse, row.m.GoInUse, row.n))
					gPer = fmt.Sprintf("%.2f", perConn(row.prev.Goroutines, row.m.Goroutines, row.n))
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", cr.Round, row.name,
				fmtMiB(row.m.RSS), rssPer, fmtMiB(row.m.GoInUse), goPer, fmtCount(row.m.Goroutines), gPer, row.m.Threads, row.m.FDs)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nConnections Portico still held after each run with them (neither closed nor answered):\n")
	for _, cr := range r.Rounds {
		fmt.Fprintf(w, "  round %d: idle %d/%d, slow %d/%d\n", cr.Round, cr.IdleHeld, r.Idle, cr.SlowHeld, r.Slow)
	}

	fmt.Fprintf(w, "\nwrk runs (proxy = Portico's CPU in %% of one core, µs = its CPU time per request):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\torder\tconnections\treq/s\tp50\tp99\tproxy\tproxy µs\tother\tidle\t")
	for _, cr := range r.Rounds {
		runs := []runResult{cr.With, cr.Without}
		if cr.WithLast {
			runs = []runResult{cr.Without, cr.With}
		}
		for i, x := range runs {
			held := "without"
			if x.Target == "with" {
				held = fmt.Sprintf("with %d + %d held", r.Idle, r.Slow)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cr.Round, i+1, held,
				fmtRPS(x.ReqPerSec), fmtMs(x.P50us), fmtMs(x.P99us), fmtPct(x.CPU.Proxy), fmtMicros(x.proxyCPUPerRequest()),
				fmtPct(x.CPU.Other), fmtPct(x.CPU.Idle), failedMark(x.Failed))
		}
	}
	tw.Flush()

	fmt.Fprintf(w, "\nSummary:\n")
	cost := func(name string, c connsCost) {
		fmt.Fprintf(w, "  per %s: RSS %s (round 1, from a process that never held them; median of the rounds %s), Go heap + stacks %s, %.2f goroutines\n",
			name, fmtBytes(c.RSSFirst), fmtBytes(c.RSS), fmtBytes(c.GoInUse), c.Goroutines)
	}
	cost("idle connection", s.Idle)
	cost("slow client    ", s.Slow)
	rss := fmt.Sprintf("  Portico's RSS after a run with them held: up to %s; after one without: %s to %s (the most when right after\n"+
		"    one with them, before Go returned the memory)", fmtMiB(s.PeakRSS), fmtMiB(s.MinRSSWithout), fmtMiB(s.MaxRSSWithout))
	if r.GOGC > 0 {
		fmt.Fprintf(w, "%s; its GOGC is %d, so between collections its heap grows to\n"+
			"    about %d × the live heap, which the connections enlarge\n", rss, r.GOGC, 1+r.GOGC/100)
	} else {
		fmt.Fprintln(w, rss)
	}
	fmt.Fprintf(w, "  wrk with them held: %s req/s, p99 %s; without: %s req/s, p99 %s (medians)\n",
		fmtRPS(s.WithReqPerSec), fmtMs(s.WithP99us), fmtRPS(s.WithoutReqPerSec), fmtMs(s.WithoutP99us))
	if s.Known {
		verdict := "NOT MET"
		if s.P99Met {
			verdict = "MET"
		}
		fmt.Fprintf(w, "  p99 with / without: %.3f (rounds %s), goal of issue 13 ≤ %.1f: %s\n", s.P99Ratio, fmtRounds(s.P99PerRound), s.P99Goal, verdict)
		fmt.Fprintf(w, "  req/s with / without: %.3f (rounds %s)\n", s.ReqPerSecRatio, fmtRounds(s.ReqPerSecPerRnd))
	} else {
		fmt.Fprintf(w, "  p99 with / without: UNKNOWN (no round with both runs successful)\n")
	}
	if !s.ConnectionsSound {
		fmt.Fprintf(w, "\n!!! Portico did not hold every connection through every run with them (see above): the runs with them had fewer.\n")
	}
	if s.FailedRuns > 0 {
		fmt.Fprintf(w, "\n!!! %d RUN(S) FAILED (socket errors or non-2xx responses): they are left out of the medians and ratios.\n", s.FailedRuns)
	}
}

func fmtRounds(per []roundRatio) string {
	var parts []string
	for _, pr := range per {
		parts = append(parts, fmt.Sprintf("%.3f", pr.Ratio))
	}
	return strings.Join(parts, " ")
}

// fmtBytes formats a number of bytes with thousands separators: "-1,234 B".
func fmtBytes(v float64) string {
	return fmtInt(int64(math.Round(v))) + " B"
}

// fmtInt formats n with thousands separators.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// fmtMiB formats bytes in MiB; negative means unknown.
func fmtMiB(b int64) string {
	if b < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// fmtCount formats a count; negative means unknown.
func fmtCount(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmtInt(n)
}
