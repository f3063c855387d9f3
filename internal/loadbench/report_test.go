package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// rr is a successful or failed run of target in round.
func rr(target string, round int, rps, p99 float64, failed string) runResult {
	return runResult{Target: target, Round: round, wrkResult: wrkResult{Requests: 1, ReqPerSec: rps, P99us: p99}, Failed: failed}
}

func TestSummarize(t *testing.T) {
	ts := []*target{{name: "direct"}, {name: "nginx"}, {name: "fasthttp"}, {name: "portico"}}
	r := &results{
		Options: optionsOut{Rounds: 3},
		Facts:   facts{CPUs: 2},
		Runs: []runResult{
			rr("direct", 1, 100, 500, ""), rr("nginx", 1, 50, 1000, ""), rr("fasthttp", 1, 40, 900, ""), rr("portico", 1, 20, 1200, ""),
			rr("nginx", 2, 60, 1000, ""), rr("fasthttp", 2, 60, 800, ""), rr("portico", 2, 30, 2000, ""), rr("direct", 2, 120, 500, ""),
			rr("portico", 3, 1, 9000, "5 socket errors"), rr("direct", 3, 110, 500, ""), rr("nginx", 3, 40, 1000, ""), rr("fasthttp", 3, 50, 700, ""),
		},
	}
	r.summarize(ts)
	byName := map[string]summary{}
	for _, s := range r.Targets {
		byName[s.Name] = s
	}
	if got := byName["portico"]; got.Runs != 2 || got.Failed != 1 || got.ReqPerSec != 25 || got.XFasthttp != 0.5 {
		t.Errorf("portico summary = %+v, want 2 runs, 1 failed, median 25 req/s, 0.5 × fasthttp (median 50)", got)
	}
	if got := byName["direct"].ReqPerSec; got != 110 {
		t.Errorf("direct median = %v, want 110", got)
	}
	// × fasthttp of each run, against the fasthttp run of its round.
	wantX := map[string][]float64{"portico": {0.5, 0.5, 0}, "nginx": {1.25, 1, 0.8}, "fasthttp": {1, 1, 1}}
	for _, x := range r.Runs {
		if w, ok := wantX[x.Target]; ok && x.XFasthttp != w[x.Round-1] {
			t.Errorf("round %d %s: × fasthttp = %v, want %v", x.Round, x.Target, x.XFasthttp, w[x.Round-1])
		}
	}

	ratio := func(target, ref string) *ratio {
		for i := range r.Ratios {
			if r.Ratios[i].Target == target && r.Ratios[i].Ref == ref {
				return &r.Ratios[i]
			}
		}
		return nil
	}
	if ra := ratio("portico", "nginx"); ra == nil || ra.Median != 0.5 || len(ra.PerRound) != 2 ||
		ra.PerRound[0] != (roundRatio{1, 0.4}) || ra.PerRound[1] != (roundRatio{2, 0.5}) || ra.MedianOfRounds != 0.45 {
		t.Errorf("portico / nginx = %+v, want 0.5 of medians, rounds 0.4 and 0.5, median 0.45", ra)
	}
	if ra := ratio("nginx", "fasthttp"); ra == nil || len(ra.PerRound) != 3 || ratio("fasthttp", "nginx") != nil {
		t.Errorf("nginx / fasthttp = %+v, want a ratio of references too, one way round", ra)
	}
	for _, ra := range r.Ratios {
		if ra.Target == "direct" || ra.Target == ra.Ref {
			t.Errorf("ratio %s / %s: want none of direct or of a target to itself", ra.Target, ra.Ref)
		}
	}

	// Goals of targets not in the run (portico-std …) are left out.
	want := []struct {
		ref, metric string
		ratio       float64
		met         bool
	}{
		{"fasthttp", metricRPS, 0.5, false}, // rounds 0.5, 0.5
		{"nginx", metricRPS, 0.45, false},   // rounds 0.4, 0.5
		{"nginx", metricP99, 1.6, false},    // rounds 1.2, 2.0
	}
	if len(r.Goals) != len(want) {
		t.Fatalf("goals = %+v, want %d", r.Goals, len(want))
	}
	for i, w := range want {
		g := r.Goals[i]
		if g.Target != "portico" || g.Ref != w.ref || g.Metric != w.metric || !g.Known || !near(g.Ratio, w.ratio) || g.Met != w.met {
			t.Errorf("goal %d = %+v, want portico %s %s %v met %v", i, g, w.metric, w.ref, w.ratio, w.met)
		}
	}
	if n := r.failedRuns(); n != 1 {
		t.Errorf("failedRuns = %d, want 1", n)
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"× fasthttp", "portico / nginx", "0.450", "NOT MET", "p99 / nginx p99 ≤ 1.50", "RUN(S) FAILED", "| portico: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	var js strings.Builder
	if err := printJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"x_fasthttp": 0.5`, `"metric": "p99"`, `"per_round": [`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var back struct{ Goals []goalMet }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(js.String(), "\nJSON:\n")), &back); err != nil || len(back.Goals) != 3 {
		t.Errorf("JSON goals = %+v, %v", back.Goals, err)
	}
}

func TestGoalMet(t *testing.T) {
	tests := []struct {
		g     goal
		ratio float64
		met   bool
	}{
		{goal{Metric: metricRPS, Bound: 0.9}, 0.9, true},
		{goal{Metric: metricRPS, Bound: 0.9}, 0.89, false},
		{goal{Metric: metricP99, Bound: 1.5}, 1.5, true},
		{goal{Metric: metricP99, Bound: 1.5}, 1.51, false},
	}
	for _, tt := range tests {
		if got := tt.g.met(tt.ratio); got != tt.met {
			t.Errorf("%s bound %v: met(%v) = %v, want %v", tt.g.Metric, tt.g.Bound, tt.ratio, got, tt.met)
		}
	}
}

func TestRunTime(t *testing.T) {
	tests := []struct {
		name string
		o    options
		n    int
		want time.Duration
	}{
		// 8 × (2 + 5 × 8 + 6 × 0.5) s
		{"defaults", options{rounds: 5, duration: 8 * time.Second, warmup: 2 * time.Second, settle: 30 * time.Second}, 8, 360 * time.Second},
		{"no warm-up, no settling, part seconds rounded up", options{rounds: 2, duration: 4500 * time.Millisecond}, 3, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := runTime(tt.o, tt.n); got != tt.want {
			t.Errorf("%s: runTime = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestConnsTime(t *testing.T) {
	// 2 + 5 × (2 × 8 + 2 × 0.5 + 6) s
	o := options{rounds: 5, duration: 8 * time.Second, warmup: 2 * time.Second}
	if got, want := connsTime(o), 117*time.Second; got != want {
		t.Errorf("connsTime = %s, want %s", got, want)
	}
}

func TestDefaultTargets(t *testing.T) {
	o, err := parseFlags(nil, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	if o.rounds != 5 || o.duration != 8*time.Second || o.connections != 64 || o.threads != 1 {
		t.Errorf("defaults = %d rounds × %s, -c%d -t%d; want 5 × 8s, -c64 -t1", o.rounds, o.duration, o.connections, o.threads)
	}
	var def []string
	for _, tg := range targets(o) {
		def = append(def, tg.name)
	}
	if got, want := strings.Join(def, ","), "direct,nginx,fasthttp,reverseproxy,portico,portico-std,portico-noanalytics,portico-cluster"; got != want {
		t.Errorf("default targets = %s, want %s", got, want)
	}
	names := strings.Join(targetNames(), ",")
	if want := strings.Join(def, ",") + ",apache-direct,apache-proxy,apache-jk,nginx-portico," +
		"portico-basic,portico-jwt,portico-jwt-rs256,portico-oauth2,portico-threat,portico-validate,portico-json2xml"; names != want {
		t.Errorf("targets = %s, want %s", names, want)
	}
	for _, g := range goals {
		if !strings.Contains(","+names+",", ","+g.Target+",") || !strings.Contains(","+names+",", ","+g.Ref+",") {
			t.Errorf("goal %+v names an unknown target", g)
		}
	}
	if _, err := parseFlags([]string{"-conns", "-targets", "portico"}, new(strings.Builder)); err == nil {
		t.Error("-conns with -targets: no error")
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
