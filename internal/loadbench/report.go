package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything one benchmark measured; printed as text and, with
// -json, as JSON.
type results struct {
	Options optionsOut  `json:"options"`
	Facts   facts       `json:"machine"`
	Runs    []runResult `json:"runs"`
	Targets []summary   `json:"targets"`
	Ratios  []ratio     `json:"ratios"`
	Goals   []goalMet   `json:"goals"`
	// FrontDoor are the ratios of issue 8 (part 5) among the front-door
	// targets that ran.
	FrontDoor []frontRatio `json:"front_door,omitempty"`
}

type optionsOut struct {
	Rounds        int     `json:"rounds"`
	Seconds       float64 `json:"seconds"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	Connections   int     `json:"connections"`
	Threads       int     `json:"threads"`
}

func optionsJSON(o options) optionsOut {
	return optionsOut{o.rounds, o.duration.Seconds(), o.warmup.Seconds(), o.connections, o.threads}
}

// facts describe the machine and the software measured.
type facts struct {
	CPUs       int               `json:"cpus"`
	CPUModel   string            `json:"cpu_model"`
	Kernel     string            `json:"kernel"`
	LoadAvg    string            `json:"load_average_at_start"`
	Go         string            `json:"go"`
	Wrk        string            `json:"wrk"`
	GOMAXPROCS string            `json:"gomaxprocs"` // of the backend and Portico
	Targets    map[string]string `json:"targets"`    // name → what runs there
}

// summary is one target over all rounds: medians of the runs that did not
// fail.
type summary struct {
	Name      string  `json:"name"`
	About     string  `json:"about"`
	Runs      int     `json:"runs"`   // measured runs that did not fail
	Failed    int     `json:"failed"` // measured runs that did
	ReqPerSec float64 `json:"req_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	// XFasthttp is ReqPerSec over the fasthttp target's (0: unknown).
	XFasthttp float64 `json:"x_fasthttp,omitempty"`
	CPU       cpuUse  `json:"cpu"`
	// ProxyCPUus is the CPU time the proxy spent per request, in µs.
	ProxyCPUus float64 `json:"proxy_cpu_us_per_request"`
	// Parts are the target's processes, by part (apache, nginx,
	// portico), for the targets that name parts: the median CPU time per
	// request of each.
	Parts    []partCPU            `json:"cpu_by_process,omitempty"`
	partRuns map[string][]float64 // µs per request of each run, by part
	// Redis is set for a target with a Redis: the median of the runs'
	// commands per request, and the commands of all those runs together.
	Redis *redisSummary `json:"redis,omitempty"`
}

type redisSummary struct {
	PerRequest           float64          `json:"commands_per_request"`    // median of the runs
	RoundTripsPerRequest float64          `json:"round_trips_per_request"` // median of the runs
	Commands             int64            `json:"commands"`                // over the runs together
	RoundTrips           int64            `json:"round_trips"`             // over the runs together
	Connections          int64            `json:"connections"`             // over the runs together
	Requests             int64            `json:"requests"`                // wrk's, over the runs together
	ByCommand            map[string]int64 `json:"by_command"`              // over the runs together
}

// ratio is a target's throughput divided by a reference's.
type ratio struct {
	Target         string       `json:"target"`
	Ref            string       `json:"ref"`
	Median         float64      `json:"median"`           // of the two medians
	MedianOfRounds float64      `json:"median_of_rounds"` // of the per-round ratios
	PerRound       []roundRatio `json:"per_round"`
}

type roundRatio struct {
	Round int     `json:"round"`
	Ratio float64 `json:"ratio"`
}

// goalMet is a goal checked: the ratio of the target's metric to the
// reference's in each round, of the two run back to back, and the median
// of those, on which the verdict is. OfMedians is the ratio of the two
// medians, given for comparison.
type goalMet struct {
	goal
	Ratio     float64      `json:"ratio"` // median of PerRound
	OfMedians float64      `json:"of_medians"`
	PerRound  []roundRatio `json:"per_round"`
	Met       bool         `json:"met"`
	Known     bool         `json:"known"` // false: no round with a successful run of both
}

// met reports whether ratio meets the goal.
func (g goal) met(ratio float64) bool {
	if g.Metric == metricP99 {
		return ratio <= g.Bound
	}
	return ratio >= g.Bound
}

// value is the goal's metric of a run or a summary.
func (g goal) value(rps, p99 float64) float64 {
	if g.Metric == metricP99 {
		return p99
	}
	return rps
}

// facts gathers the machine facts once the targets are set up.
func (e *env) facts(ts []*target) facts {
	f := facts{
		CPUs:       runtime.NumCPU(),
		CPUModel:   cpuModel(),
		Kernel:     strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		LoadAvg:    e.loadAvg,
		Go:         runtime.Version(),
		Wrk:        wrkVersion(),
		GOMAXPROCS: fmt.Sprintf("default (%d)", runtime.GOMAXPROCS(0)),
		Targets:    map[string]string{},
	}
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		f.GOMAXPROCS = v + " (from the environment)"
	}
	for _, t := range ts {
		f.Targets[t.name] = t.detail
	}
	return f
}

func wrkVersion() string {
	v, _, _ := strings.Cut(firstLine(commandOutput("wrk", "-v")), " Copyright")
	return v
}

func cpuModel() string {
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// commandOutput runs a short command and returns its output, stdout and
// stderr together (nginx -v and wrk -v print to stderr and exit non-zero).
func commandOutput(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// summarize computes the per-target medians, the ratios and the goals.
func (r *results) summarize(ts []*target) {
	r.Targets, r.Ratios, r.Goals, r.FrontDoor = nil, nil, nil, nil
	byName := map[string]*summary{}
	for _, t := range ts {
		s := summary{Name: t.name, About: t.about}
		var rps, p50, p99, wrk, backend, proxy, irq, other, idle, perReq, redisPerReq, tripsPerReq []float64
		var rs *redisSummary
		for _, run := range r.Runs {
			if run.Target != t.name {
				continue
			}
			if run.Failed != "" {
				s.Failed++
				continue
			}
			s.Runs++
			rps = append(rps, run.ReqPerSec)
			p50 = append(p50, run.P50us)
			p99 = append(p99, run.P99us)
			wrk = append(wrk, run.CPU.Wrk)
			backend = append(backend, run.CPU.Backend)
			proxy = append(proxy, run.CPU.Proxy)
			irq = append(irq, run.CPU.IRQ)
			other = append(other, run.CPU.Other)
			idle = append(idle, run.CPU.Idle)
			perReq = append(perReq, run.proxyCPUPerRequest())
			s.addParts(run)
			if run.Redis != nil {
				if rs == nil {
					rs = &redisSummary{ByCommand: map[string]int64{}}
				}
				redisPerReq = append(redisPerReq, run.Redis.PerRequest)
				tripsPerReq = append(tripsPerReq, run.Redis.RoundTripsPerRequest)
				rs.Commands += run.Redis.Commands
				rs.RoundTrips += run.Redis.RoundTrips
				rs.Connections += run.Redis.Connections
				rs.Requests += run.Requests
				for name, n := range run.Redis.ByCommand {
					rs.ByCommand[name] += n
				}
			}
		}
		if rs != nil {
			rs.PerRequest, rs.RoundTripsPerRequest = median(redisPerReq), median(tripsPerReq)
			s.Redis = rs
		}
		s.ReqPerSec, s.P50us, s.P99us = median(rps), median(p50), median(p99)
		s.CPU = cpuUse{Wrk: median(wrk), Backend: median(backend), Proxy: median(proxy),
			Other: median(other), Idle: median(idle), IRQ: median(irq)}
		s.ProxyCPUus = median(perReq)
		s.summarizeParts()
		r.Targets = append(r.Targets, s)
		byName[t.name] = &r.Targets[len(r.Targets)-1]
	}
	// byName holds pointers into r.Targets, which no longer grows.
	if f, ok := byName[refs[0]]; ok && f.Runs > 0 {
		for i := range r.Targets {
			if s := &r.Targets[i]; s.Runs > 0 {
				s.XFasthttp = s.ReqPerSec / f.ReqPerSec
			}
		}
	}
	for i := range r.Runs {
		x := &r.Runs[i]
		x.XFasthttp = 0
		if f, ok := r.run(refs[0], x.Round); ok && x.Failed == "" && x.Round > 0 {
			x.XFasthttp = x.ReqPerSec / f.ReqPerSec
		}
	}
	for _, s := range r.Targets {
		if s.Name == "direct" {
			continue // the backend itself
		}
		for _, ref := range refs {
			rs, ok := byName[ref]
			if ti := slices.Index(refs, s.Name); !ok || ref == s.Name || (ti >= 0 && ti < slices.Index(refs, ref)) {
				continue // none of a reference to a later one: the other way round is given
			}
			ra := ratio{Target: s.Name, Ref: ref}
			if s.Runs > 0 && rs.Runs > 0 {
				ra.Median = s.ReqPerSec / rs.ReqPerSec
			}
			ra.PerRound = r.perRound(s.Name, ref, metricRPS)
			ra.MedianOfRounds = medianRatio(ra.PerRound)
			r.Ratios = append(r.Ratios, ra)
		}
	}
	r.FrontDoor = r.frontDoor()
	for _, g := range goals {
		a, aok := byName[g.Target]
		b, bok := byName[g.Ref]
		if !aok || !bok {
			continue // not in this run
		}
		gm := goalMet{goal: g, PerRound: r.perRound(g.Target, g.Ref, g.Metric)}
		if a.Runs > 0 && b.Runs > 0 && g.value(b.ReqPerSec, b.P99us) > 0 {
			gm.OfMedians = g.value(a.ReqPerSec, a.P99us) / g.value(b.ReqPerSec, b.P99us)
		}
		if len(gm.PerRound) > 0 {
			gm.Known = true
			gm.Ratio = medianRatio(gm.PerRound)
			gm.Met = g.met(gm.Ratio)
		}
		r.Goals = append(r.Goals, gm)
	}
}

// perRound returns, for each round in which both target and ref ran
// successfully, the ratio of target's metric to ref's.
func (r *results) perRound(target, ref, metric string) []roundRatio {
	var per []roundRatio
	g := goal{Metric: metric}
	for round := 1; round <= r.Options.Rounds; round++ {
		a, aok := r.run(target, round)
		b, bok := r.run(ref, round)
		if aok && bok && g.value(b.ReqPerSec, b.P99us) > 0 {
			per = append(per, roundRatio{round, g.value(a.ReqPerSec, a.P99us) / g.value(b.ReqPerSec, b.P99us)})
		}
	}
	return per
}

func medianRatio(per []roundRatio) float64 {
	xs := make([]float64, len(per))
	for i, p := range per {
		xs[i] = p.Ratio
	}
	return median(xs)
}

// run returns the successful run of target in round.
func (r *results) run(target string, round int) (runResult, bool) {
	for _, x := range r.Runs {
		if x.Target == target && x.Round == round && x.Failed == "" {
			return x, true
		}
	}
	return runResult{}, false
}

func (r *results) failedRuns() int {
	n := 0
	for _, x := range r.Runs {
		if x.Failed != "" {
			n++
		}
	}
	return n
}

// proxyCPUPerRequest is the proxy's CPU time per request in µs.
func (x runResult) proxyCPUPerRequest() float64 {
	if x.Requests == 0 {
		return 0
	}
	return x.CPU.Proxy / 100 * x.Seconds * 1e6 / float64(x.Requests)
}

func fmtRPS(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtMs(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

// fmtRatio formats a ratio; 0 means unknown.
func fmtRatio(v float64, prec int) string {
	if v == 0 {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// fmtMicros formats a CPU time per request; 0 means none (no proxy).
func fmtMicros(us float64) string {
	if us == 0 {
		return "—"
	}
	return strconv.FormatFloat(us, 'f', 1, 64)
}

func fmtPct(p float64) string { return fmt.Sprintf("%.0f%%", p) }

// print writes the human report.
func (r *results) print(w io.Writer) {
	o, f := r.Options, r.Facts
	fmt.Fprintf(w, "\nPortico load benchmark: %d round(s) × %gs per target, alternating (order rotated each round), after a %gs warm-up each\n",
		o.Rounds, o.Seconds, o.WarmupSeconds)
	fmt.Fprintf(w, "wrk -t%d -c%d --latency, GET (POST where a target's line says so) of a %d-byte text/plain response, keep-alive\n", o.Threads, o.Connections, len(backendBody))
	fmt.Fprintf(w, "machine: %d CPUs (%s), Linux %s, load average at start %s\n", f.CPUs, f.CPUModel, f.Kernel, f.LoadAvg)
	fmt.Fprintf(w, "%s; backend: Go net/http (%s), one process; GOMAXPROCS of backend and Portico %s\n", f.Wrk, f.Go, f.GOMAXPROCS)
	width := 8
	for _, s := range r.Targets {
		width = max(width, len(s.Name))
	}
	for _, s := range r.Targets {
		if d := f.Targets[s.Name]; d != "" {
			fmt.Fprintf(w, "  %-*s %s; %s\n", width, s.Name, s.About, d)
		} else {
			fmt.Fprintf(w, "  %-*s %s\n", width, s.Name, s.About)
		}
	}

	fmt.Fprintf(w, "\nRuns (CPU in %% of one core: wrk + backend + proxy + other + idle = %d%%, the whole machine;\n"+
		"softirq time is mostly also inside the process columns; proxy µs = the proxy's CPU time per request):\n", 100*f.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\torder\ttarget\treq/s\t× fasthttp\tp50\tp99\twrk\tbackend\tproxy\tother\tidle\t(softirq)\tproxy µs\tredis cmd/req\tredis trips/req\t")
	for _, x := range r.Runs {
		redis, trips := "—", "—"
		if x.Redis != nil {
			redis, trips = fmtPerReq(x.Redis.PerRequest), fmtPerReq(x.Redis.RoundTripsPerRequest)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Round, x.Order, x.Target,
			fmtRPS(x.ReqPerSec), fmtRatio(x.XFasthttp, 3), fmtMs(x.P50us), fmtMs(x.P99us),
			fmtPct(x.CPU.Wrk), fmtPct(x.CPU.Backend), fmtPct(x.CPU.Proxy), fmtPct(x.CPU.Other), fmtPct(x.CPU.Idle), fmtPct(x.CPU.IRQ),
			fmtMicros(x.proxyCPUPerRequest()), redis, trips, failedMark(x.Failed))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nMedians over the rounds (failed runs left out):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\truns\treq/s\t× fasthttp\tp50\tp99\twrk\tbackend\tproxy\tother\tidle\t(softirq)\tproxy µs\tredis cmd/req\tredis trips/req\t")
	for _, s := range r.Targets {
		if s.Runs == 0 {
			fmt.Fprintf(tw, "%s\t%d/%d\t—\t\t\t\t\t\t\t\t\t\t\t\t\t\n", s.Name, s.Runs, s.Runs+s.Failed)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Name, s.Runs, s.Runs+s.Failed,
			fmtRPS(s.ReqPerSec), fmtRatio(s.XFasthttp, 3), fmtMs(s.P50us), fmtMs(s.P99us),
			fmtPct(s.CPU.Wrk), fmtPct(s.CPU.Backend), fmtPct(s.CPU.Proxy), fmtPct(s.CPU.Other), fmtPct(s.CPU.Idle), fmtPct(s.CPU.IRQ),
			fmtMicros(s.ProxyCPUus), s.redisCell(), s.tripsCell())
	}
	tw.Flush()
	for _, s := range r.Targets {
		if s.Redis == nil {
			continue
		}
		rs := s.Redis
		fmt.Fprintf(w, "\nRedis of %s, from INFO before and after each run (medians of the runs):\n"+
			"  %s round trips per request (total_reads_processed: requests or pipelines clients sent, and connections closed)\n"+
			"  %s commands per request (INFO commandstats: those Lua scripts run included, INFO's left out)\n"+
			"  over the runs together: %d requests, %d round trips, %d new connections, %d commands: %s\n",
			s.Name, fmtPerReq(rs.RoundTripsPerRequest), fmtPerReq(rs.PerRequest),
			rs.Requests, rs.RoundTrips, rs.Connections, rs.Commands, fmtCommands(rs.ByCommand, rs.Requests))
	}

	if len(r.Ratios) > 0 {
		fmt.Fprintf(w, "\nThroughput ratios (req/s) to the ceiling (fasthttp), to nginx and to portico (API key);\n"+
			"those to direct and portico-noanalytics are in the Markdown table and the JSON:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := "\tof medians\tmedian of rounds"
		for round := 1; round <= o.Rounds; round++ {
			head += fmt.Sprintf("\tround %d", round)
		}
		fmt.Fprintln(tw, head+"\t")
		for _, ra := range r.Ratios {
			if ra.Ref != "fasthttp" && ra.Ref != "nginx" && ra.Ref != "portico" {
				continue
			}
			line := fmt.Sprintf("%s / %s\t%s\t%s", ra.Target, ra.Ref, fmtRatio(ra.Median, 3), fmtRatio(ra.MedianOfRounds, 3))
			for round := 1; round <= o.Rounds; round++ {
				v := "—"
				for _, pr := range ra.PerRound {
					if pr.Round == round {
						v = fmt.Sprintf("%.3f", pr.Ratio)
					}
				}
				line += "\t" + v
			}
			fmt.Fprintln(tw, line+"\t")
		}
		tw.Flush()
	}

	r.printFrontDoor(w)
	r.printGoals(w)
	if n := r.failedRuns(); n > 0 {
		fmt.Fprintf(w, "\n!!! %d RUN(S) FAILED (socket errors or non-2xx responses): they are left out of the medians and ratios.\n", n)
		for _, x := range r.Runs {
			if x.Failed != "" {
				fmt.Fprintf(w, "!!!   round %d, %s: %s\n", x.Round, x.Target, x.Failed)
			}
		}
	}
	for _, s := range r.Targets {
		if s.CPU.Other > 25 {
			fmt.Fprintf(w, "\nNOTE: during the %s runs something else used %.0f%% of a core (median); the machine was not quiet, so the numbers are low and noisy.\n", s.Name, s.CPU.Other)
			break
		}
	}

	fmt.Fprintf(w, "\nMarkdown (README):\n\n")
	r.printMarkdown(w)
}

// printGoals writes the goals of the issue, one line each.
func (r *results) printGoals(w io.Writer) {
	if len(r.Goals) == 0 {
		return
	}
	fmt.Fprintf(w, "\nGoals on this %d-core machine (reported, never enforced): issue 13's for the portico target, portico-std and\n"+
		"portico-noanalytics beside it; a cached JWT or Basic at most 5 %% below the API key (× portico ≥ 0.95).\n"+
		"Each ratio is of two runs of the same round; the verdict is on their median:\n", r.Facts.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, g := range r.Goals {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", g.Target, g.label(), g.verdict())
	}
	tw.Flush()
}

// label names the goal's ratio and bound: "× nginx ≥ 0.80".
func (g goal) label() string {
	if g.Metric == metricP99 {
		return fmt.Sprintf("p99 / %s p99 ≤ %.2f", g.Ref, g.Bound)
	}
	return fmt.Sprintf("× %s ≥ %.2f", g.Ref, g.Bound)
}

// verdict is the goal's ratio, verdict and rounds, for a report line.
func (g goalMet) verdict() string {
	if !g.Known {
		return "UNKNOWN (no round with successful runs of both)"
	}
	v := "NOT MET"
	if g.Met {
		v = "MET"
	}
	var rounds []string
	for _, pr := range g.PerRound {
		rounds = append(rounds, fmt.Sprintf("%.3f", pr.Ratio))
	}
	return fmt.Sprintf("%.3f: %s\t(rounds %s; of the medians %s)", g.Ratio, v, strings.Join(rounds, " "), fmtRatio(g.OfMedians, 3))
}

// fmtPerReq formats Redis commands per request.
func fmtPerReq(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// redisCell is the Redis commands per request for a table, "—" without a
// Redis.
func (s summary) redisCell() string {
	if s.Redis == nil {
		return "—"
	}
	return fmtPerReq(s.Redis.PerRequest)
}

// tripsCell is the Redis round trips per request for a table, "—"
// without a Redis.
func (s summary) tripsCell() string {
	if s.Redis == nil {
		return "—"
	}
	return fmtPerReq(s.Redis.RoundTripsPerRequest)
}

func failedMark(s string) string {
	if s != "" {
		return "FAILED"
	}
	return ""
}

// printMarkdown writes the summary as a Markdown table for the README.
func (r *results) printMarkdown(w io.Writer) {
	o, f := r.Options, r.Facts
	cols := []string{"target", "req/s (median)", "p50", "p99", "proxy CPU per request"}
	for _, ref := range refs {
		cols = append(cols, "× "+ref)
	}
	withRedis := slices.ContainsFunc(r.Targets, func(s summary) bool { return s.Redis != nil })
	if withRedis {
		cols = append(cols, "Redis round trips/req", "Redis cmd/req")
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(cols)))
	for _, s := range r.Targets {
		perReq := "—"
		if s.ProxyCPUus > 0 {
			perReq = fmt.Sprintf("%.1f µs", s.ProxyCPUus)
		}
		row := []string{fmt.Sprintf("%s: %s", s.Name, s.About), fmtRPS(s.ReqPerSec), fmtMs(s.P50us), fmtMs(s.P99us), perReq}
		if s.Runs == 0 {
			row = append(row[:1], "—", "—", "—", "—")
		}
		for _, ref := range refs {
			row = append(row, r.ratioCell(s.Name, ref))
		}
		if withRedis {
			row = append(row, s.tripsCell(), s.redisCell())
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintf(w, "\n%d CPUs (%s), Linux %s; %s -t%d -c%d, %d round(s) × %gs, alternating; backend and Portico built with Go %s, GOMAXPROCS %s",
		f.CPUs, f.CPUModel, f.Kernel, f.Wrk, o.Threads, o.Connections, o.Rounds, o.Seconds, f.Go, f.GOMAXPROCS)
	if d := f.Targets["nginx"]; d != "" {
		fmt.Fprintf(w, "; %s", d)
	}
	fmt.Fprintln(w, ".")
}

func (r *results) ratioCell(target, ref string) string {
	if target == ref {
		return "1.000"
	}
	// A median of 0 means a side had no successful run.
	for _, ra := range r.Ratios {
		if ra.Target == target && ra.Ref == ref {
			return fmtRatio(ra.Median, 3)
		}
	}
	// Reference against reference (nginx vs direct): from the medians.
	var a, b float64
	for _, s := range r.Targets {
		if s.Name == target {
			a = s.ReqPerSec
		}
		if s.Name == ref {
			b = s.ReqPerSec
		}
	}
	if b == 0 {
		return "—"
	}
	return fmtRatio(a/b, 3)
}

// printJSON writes v as indented JSON after a "JSON:" line.
func printJSON(w io.Writer, v any) error {
	fmt.Fprintln(w, "\nJSON:")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
