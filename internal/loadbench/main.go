// Command loadbench measures the throughput and latency of Portico's
// gateway against nginx as a plain keep-alive reverse proxy and against the
// backend itself, with wrk, on this machine. `make bench` runs it:
//
//	go run ./internal/loadbench [-rounds 3] [-duration 10s] [-connections 50]
//	        [-threads 1] [-portico bin/portico] [-json] [-keep]
//	        [-targets direct,nginx,portico,portico-noanalytics,portico-cluster]
//	        [-portico-env GOGC=400] [-settle 30s]
//
// One backend process (this program re-executed in a hidden mode) serves a
// fixed 13-byte response. Every target proxies to that same backend, or is
// that backend ("direct"), so the targets differ only in what sits between
// wrk and the backend:
//
//	direct               wrk → backend
//	nginx                wrk → nginx (keep-alive upstream pool) → backend
//	portico              wrk → Portico (API key auth, rate limit and quota
//	                     that never trigger, analytics) → backend
//	portico-noanalytics  as portico, --analytics none
//	portico-cluster      wrk → nginx (keep-alive, round robin) → two
//	                     Portico nodes on one redis-server, --analytics
//	                     none, the cluster-exact Redis limiter deciding
//	                     every request → backend
//
// For portico-cluster the report also gives, from INFO read before and
// after each run, over the requests wrk made: the Redis commands per
// request (all of INFO commandstats, INFO's own calls left out, those Lua
// scripts make counted in), and the round trips per request (read events
// on client connections, total_reads_processed, the harness's own left
// out). It needs redis-server in PATH.
//
// After a warm-up run of each target, every round drives each target once,
// alternating, in an order rotated from round to round so that no target
// always runs first or last. The report gives each target's median over
// the rounds of requests per second, p50 and p99, the CPU time each
// process used, and the throughput ratios of Portico to nginx and to the
// backend alone.
//
// Fairness: wrk, the backend and the proxy share the machine, so the
// proxy that needs less CPU per request leaves more to the others. nginx
// runs one worker per core (worker_processes auto) and Portico and the
// backend run with Go's default GOMAXPROCS; wrk defaults to one thread,
// which keeps it well below a core at these rates. CPU time is read from
// /proc for the backend and the proxy and from wrk's rusage, so the report
// shows where each run's CPU went, including to anything else running on
// the machine ("other"); before each run the harness waits, up to -settle,
// for the machine to be mostly idle.
//
// A run that sees socket errors or non-2xx responses is reported as failed
// and left out of the medians. The exit status is 0 when everything ran,
// whether or not Portico met the target of the issue, and 1 when something
// failed to run or a run failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// backendMode is the hidden first argument that turns this program into
// the benchmark's backend: loadbench -backend 127.0.0.1:PORT.
const backendMode = "-backend"

func main() {
	if len(os.Args) == 3 && os.Args[1] == backendMode {
		os.Exit(serveBackend(os.Args[2], os.Stderr))
	}
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, opts, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line flags.
type options struct {
	rounds      int
	duration    time.Duration // of each measured wrk run
	warmup      time.Duration // of the one warm-up run per target
	settle      time.Duration // longest wait for a quiet machine before a run
	connections int
	threads     int
	portico     string   // built binary; "" builds one into the temp dir
	porticoEnv  []string // KEY=VALUE added to Portico's environment
	json        bool
	keep        bool
	only        []string // -targets; nil: all
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 3, "measured rounds; each round runs every target once")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the warm-up run of each target (0: none)")
	fs.DurationVar(&o.settle, "settle", 30*time.Second, "before each run, wait up to this long for the machine to be mostly idle (0: don't)")
	fs.IntVar(&o.connections, "connections", 50, "wrk connections (-c)")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads (-t)")
	fs.StringVar(&o.portico, "portico", "", "path to a built portico binary (default: go build ./cmd/portico into the temp dir)")
	fs.Func("portico-env", "`KEY=VALUE` added to Portico's environment, e.g. GOGC=400 (repeatable)", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		o.porticoEnv = append(o.porticoEnv, s)
		return nil
	})
	fs.BoolVar(&o.json, "json", false, "also print the results as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (configs, logs, data) and print its path")
	only := fs.String("targets", "", "comma-separated targets to run (default: all of "+strings.Join(targetNames(), ", ")+")")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./internal/loadbench [flags]\n\n"+
			"Drives the backend alone, nginx and Portico with wrk, alternating, and\n"+
			"prints req/s, p50, p99 and the ratios Portico/nginx and Portico/direct.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var bad error
	if *only != "" {
		o.only = strings.Split(*only, ",")
		for _, name := range o.only {
			if !slices.Contains(targetNames(), name) {
				bad = fmt.Errorf("-targets: unknown target %q; there are %s", name, strings.Join(targetNames(), ", "))
			}
		}
	}
	switch {
	case bad != nil:
	case fs.NArg() > 0:
		bad = fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.rounds < 1 || o.rounds > 100:
		bad = errors.New("-rounds must be between 1 and 100")
	case o.duration < time.Second || o.duration > time.Hour:
		bad = errors.New("-duration must be between 1s and 1h")
	case o.warmup < 0 || o.warmup > 10*time.Minute:
		bad = errors.New("-warmup must be between 0 and 10m")
	case o.settle < 0 || o.settle > 10*time.Minute:
		bad = errors.New("-settle must be between 0 and 10m")
	case o.threads < 1 || o.threads > 64:
		bad = errors.New("-threads must be between 1 and 64")
	case o.connections < o.threads || o.connections > 10000:
		bad = errors.New("-connections must be at least -threads and at most 10000")
	}
	if bad != nil {
		fmt.Fprintln(stderr, "loadbench:", bad)
		return o, bad
	}
	if o.portico != "" {
		abs, err := filepath.Abs(o.portico)
		if err != nil {
			return o, err
		}
		o.portico = abs
	}
	return o, nil
}

// A target is one HTTP server that wrk drives. setup starts what the target
// needs and sets url and headers; teardown stops it. Processes started with
// env.start are stopped at exit anyway, so teardown may be nil.
type target struct {
	name     string
	about    string   // what sits between wrk and the backend
	detail   string   // set by setup: versions and settings, for the report
	url      string   // what wrk requests
	headers  []string // "Name: value", each passed to wrk as -H
	setup    func(ctx context.Context, e *env, t *target) error
	teardown func(ctx context.Context) error

	// procs are the processes whose CPU time is charged to the target (the
	// proxy); the backend's and wrk's are counted on their own.
	procs func() []int

	// redisStats, when set, reads the counters of the target's Redis; it
	// is read around every run for the Redis commands and round trips per
	// request.
	redisStats func(ctx context.Context) (redisSample, error)
}

// fakeKey is sent as X-API-Key to the targets that do not check keys, so
// that every target gets requests of the same shape.
const fakeKey = "X-API-Key: bench-not-a-key-0123456789abcdef0123"

// allTargets returns every target there is, in the order of the first
// round.
func allTargets(o options) []*target {
	return []*target{
		directTarget(),
		nginxTarget(),
		porticoTarget(o, "portico", "wrk → Portico (API key auth, rate limit + quota, analytics) → backend"),
		porticoTarget(o, "portico-noanalytics", "wrk → Portico as above, analytics off (--analytics none) → backend", "--analytics", "none"),
		clusterTarget(),
	}
}

// targets returns the targets chosen with -targets.
func targets(o options) []*target {
	var ts []*target
	for _, t := range allTargets(o) {
		if o.only == nil || slices.Contains(o.only, t.name) {
			ts = append(ts, t)
		}
	}
	return ts
}

func targetNames() []string {
	var names []string
	for _, t := range allTargets(options{}) {
		names = append(names, t.name)
	}
	return names
}

// refs are the reference targets: every other target's throughput is
// given as a ratio to each of them.
var refs = []string{"nginx", "direct", "portico-noanalytics"}

// A goal is a throughput the issue asks for: target ≥ min × ref.
type goal struct {
	Target string  `json:"target"`
	Ref    string  `json:"ref"`
	Min    float64 `json:"min"`
}

// goals are checked and reported, never enforced: the exit status does not
// depend on them.
var goals = []goal{
	{Target: "portico", Ref: "nginx", Min: 0.40},
	{Target: "portico", Ref: "portico-noanalytics", Min: 0.90}, // analytics cost ≤ 10 %
}

// directTarget is the backend itself, with no proxy in between.
func directTarget() *target {
	t := &target{name: "direct", about: "wrk → backend (no proxy)"}
	t.setup = func(ctx context.Context, e *env, t *target) error {
		t.url = e.backendURL + "/hello"
		t.headers = []string{fakeKey}
		return nil
	}
	return t
}

// run runs the benchmark and returns the exit status.
func run(ctx context.Context, o options, stdout, stderr io.Writer) (code int) {
	e, err := newEnv(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	defer func() {
		if err := e.close(); err != nil {
			fmt.Fprintln(stderr, "loadbench: cleanup:", err)
			code = 1
		}
	}()
	ts := targets(o)
	if err := checkTools(ts); err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	defer func() {
		// Teardown in reverse order, also after an error or a signal, on a
		// context of its own: ctx may be done already.
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(ts) - 1; i >= 0; i-- {
			if ts[i].teardown == nil {
				continue
			}
			if err := ts[i].teardown(tctx); err != nil {
				fmt.Fprintf(stderr, "loadbench: teardown %s: %v\n", ts[i].name, err)
				code = 1
			}
		}
	}()
	if err := e.startBackend(ctx); err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	for _, t := range ts {
		e.logf("setting up %s", t.name)
		if err := t.setup(ctx, e, t); err != nil {
			fmt.Fprintf(stderr, "loadbench: setup %s: %v\n", t.name, err)
			return 1
		}
	}
	res, err := measure(ctx, e, ts)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "loadbench: interrupted; no report")
		return 1
	}
	if len(res.Runs) > 0 {
		res.Facts = e.facts(ts)
		res.summarize(ts)
		res.print(stdout)
		if o.json {
			if err := res.printJSON(stdout); err != nil {
				fmt.Fprintln(stderr, "loadbench:", err)
				code = 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	if n := res.failedRuns(); n > 0 {
		fmt.Fprintf(stderr, "loadbench: %d run(s) FAILED (socket errors or non-2xx responses); see above\n", n)
		return 1
	}
	return code
}

// measure runs the warm-up and the rounds. It returns what it measured so
// far together with an error when a run could not be done.
func measure(ctx context.Context, e *env, ts []*target) (*results, error) {
	o := e.opts
	res := &results{Options: optionsJSON(o)}
	if o.warmup > 0 {
		for _, t := range ts {
			if err := e.settleDown(ctx); err != nil {
				return res, err
			}
			e.logf("warm-up %s (%s)", t.name, o.warmup)
			r, err := e.wrk(ctx, t, o.warmup)
			if err != nil {
				return res, fmt.Errorf("warm-up %s: %w", t.name, err)
			}
			if r.Failed != "" {
				fmt.Fprintf(e.stderr, "loadbench: WARNING: warm-up of %s: %s\n", t.name, r.Failed)
			}
		}
	}
	for round := 1; round <= o.rounds; round++ {
		for i := range ts {
			t := ts[(i+round-1)%len(ts)]
			if err := e.settleDown(ctx); err != nil {
				return res, err
			}
			e.logf("round %d/%d: %s (%s)", round, o.rounds, t.name, o.duration)
			r, err := e.wrk(ctx, t, o.duration)
			if err != nil {
				return res, fmt.Errorf("round %d, %s: %w", round, t.name, err)
			}
			r.Round, r.Order = round, i+1
			if r.Failed != "" {
				fmt.Fprintf(e.stderr, "loadbench: RUN FAILED: round %d, %s: %s\n", round, t.name, r.Failed)
			}
			res.Runs = append(res.Runs, r)
		}
	}
	return res, nil
}
