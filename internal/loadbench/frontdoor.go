package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// frontDoorPairs are the comparisons of issue 8, part 5: each is reported
// when both of its targets ran.
var frontDoorPairs = []struct{ target, ref, what string }{
	{"apache-jk", "apache-proxy", "Apache → Portico: AJP via mod_jk vs HTTP via mod_proxy"},
	{"apache-proxy", "apache-direct", "Apache mod_proxy + Portico vs Apache mod_proxy + backend alone"},
	{"nginx-portico", "nginx", "nginx + Portico vs nginx + backend alone"},
}

// frontRatio is one of frontDoorPairs measured: the throughput of target
// over ref's, the ratio of each round's two runs and their median, and
// the ratio of the two medians for comparison; and the p99s likewise.
type frontRatio struct {
	What string `json:"what"`
	ratio
	P99MedianOfRounds float64      `json:"p99_median_of_rounds"`
	P99PerRound       []roundRatio `json:"p99_per_round"`
}

// partCPU is one part of a target's processes over the rounds.
type partCPU struct {
	Name string `json:"name"`
	// CPUus is the median over the runs of the part's CPU time per
	// request, in µs.
	CPUus float64 `json:"cpu_us_per_request"`
}

// partCPUPerRequest is the CPU time of part name per request in µs (0:
// not measured).
func (x runResult) partCPUPerRequest(name string) float64 {
	pct, ok := x.CPU.Parts[name]
	if !ok || x.Requests == 0 {
		return 0
	}
	return pct / 100 * x.Seconds * 1e6 / float64(x.Requests)
}

// addParts adds a successful run's CPU time per request of each part.
func (s *summary) addParts(x runResult) {
	for name := range x.CPU.Parts {
		if s.partRuns == nil {
			s.partRuns = map[string][]float64{}
		}
		s.partRuns[name] = append(s.partRuns[name], x.partCPUPerRequest(name))
	}
}

// summarizeParts sets Parts from the runs added, in the order of their
// names.
func (s *summary) summarizeParts() {
	s.Parts = nil
	for _, name := range slices.Sorted(maps.Keys(s.partRuns)) {
		s.Parts = append(s.Parts, partCPU{Name: name, CPUus: median(s.partRuns[name])})
	}
}

// frontDoor returns the front-door comparisons of the targets that ran.
func (r *results) frontDoor() []frontRatio {
	var out []frontRatio
	for _, p := range frontDoorPairs {
		var a, b *summary
		for i := range r.Targets {
			switch r.Targets[i].Name {
			case p.target:
				a = &r.Targets[i]
			case p.ref:
				b = &r.Targets[i]
			}
		}
		if a == nil || b == nil {
			continue
		}
		fr := frontRatio{What: p.what, ratio: ratio{Target: p.target, Ref: p.ref}}
		if a.Runs > 0 && b.Runs > 0 {
			fr.Median = a.ReqPerSec / b.ReqPerSec
		}
		fr.PerRound = r.perRound(p.target, p.ref, metricRPS)
		fr.MedianOfRounds = medianRatio(fr.PerRound)
		fr.P99PerRound = r.perRound(p.target, p.ref, metricP99)
		fr.P99MedianOfRounds = medianRatio(fr.P99PerRound)
		out = append(out, fr)
	}
	return out
}

// printFrontDoor writes the front-door comparisons and the CPU time per
// request of each process of the targets with parts.
func (r *results) printFrontDoor(w io.Writer) {
	withParts := slices.ContainsFunc(r.Targets, func(s summary) bool { return len(s.Parts) > 0 })
	if len(r.FrontDoor) == 0 && !withParts {
		return
	}
	fmt.Fprintf(w, "\nFront door (issue 8): throughput and p99 ratios, each the median of the rounds' ratios\n"+
		"(of the two medians in brackets):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, fr := range r.FrontDoor {
		fmt.Fprintf(tw, "  %s / %s\t%s\treq/s × %s (%s)\tp99 × %s\t\n", fr.Target, fr.Ref, fr.What,
			fmtRatio(fr.MedianOfRounds, 3), fmtRatio(fr.Median, 3), fmtRatio(fr.P99MedianOfRounds, 2))
	}
	tw.Flush()
	if !withParts {
		return
	}
	fmt.Fprintf(w, "\nCPU time per request by process (µs, median of the runs; a front end's processes summed):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Targets {
		if len(s.Parts) == 0 {
			continue
		}
		line := "  " + s.Name
		for _, p := range s.Parts {
			line += fmt.Sprintf("\t%s %s", p.Name, fmtMicros(p.CPUus))
		}
		fmt.Fprintf(tw, "%s\ttotal %s\t\n", line, fmtMicros(s.ProxyCPUus))
	}
	tw.Flush()
}
