// Command loadbench measures the throughput and latency of Portico's
// gateway against nginx and two bare Go reverse proxies, and against the
// backend itself, and on request the cost of a front door (Apache or nginx
// in front of Portico), with wrk, on this machine. `make bench` runs it:
//
//	go run ./internal/loadbench [-rounds 5] [-duration 8s] [-connections 64]
//	        [-threads 1] [-portico bin/portico] [-json] [-keep]
//	        [-targets direct,nginx,fasthttp,reverseproxy,portico,portico-std,
//	                  portico-noanalytics,portico-cluster,
//	                  apache-direct,apache-proxy,apache-jk,nginx-portico,
//	                  portico-basic,portico-jwt,portico-jwt-rs256,
//	                  portico-oauth2,portico-threat,portico-validate,
//	                  portico-json2xml]
//	        [-portico-env GOGC=400] [-settle 30s]
//
// One backend process (this program re-executed in a hidden mode) serves a
// fixed 100-byte response. Every target proxies to that same backend, or
// is that backend ("direct"), so the targets differ only in what sits
// between wrk and the backend:
//
//	direct               wrk → backend
//	nginx                wrk → nginx (keep-alive upstream pool) → backend
//	fasthttp             wrk → a bare fasthttp.Server whose handler is a
//	                     keep-alive fasthttp.HostClient, no features: the
//	                     ceiling of a Go proxy on this machine → backend
//	reverseproxy         wrk → a bare net/http server with an
//	                     httputil.ReverseProxy and a tuned Transport
//	                     (MaxIdleConnsPerHost 512): the floor → backend
//	portico              wrk → Portico (API key auth, rate limit and quota
//	                     that never trigger, analytics) → backend
//	portico-std          as portico, --gateway-engine std (Go's net/http
//	                     for every request)
//	portico-noanalytics  as portico, --analytics none
//	portico-cluster      wrk → nginx (keep-alive, round robin) → two
//	                     Portico nodes on one redis-server, --analytics
//	                     none, the cluster-exact Redis limiter deciding
//	                     every request → backend
//
// The front doors of issue 8 (part 5) are run only when -targets names
// them, so that the default run does not grow:
//
//	apache-direct        wrk → Apache mod_proxy (keep-alive upstream
//	                     pool) → backend: the front end alone
//	apache-proxy         wrk → Apache mod_proxy (keep-alive upstream
//	                     pool) → one Portico node as portico → backend
//	apache-jk            wrk → Apache mod_jk (AJP, ping_mode=CI, a
//	                     secret) → one Portico node as portico, started
//	                     with --ajp-addr and --ajp-secret → backend
//	nginx-portico        wrk → nginx (as the nginx target) → one Portico
//	                     node as portico → backend
//
// Apache is Debian's apache2 (with libapache2-mod-jk) on a ServerRoot of
// its own in the temp dir, mpm_event with two children of 64 threads
// (one per core, as nginx's worker_processes auto), no access log; started
// as root, its children run as www-data. The report then gives, each as
// the median of the rounds' ratios: AJP via mod_jk over HTTP via mod_proxy
// (apache-jk / apache-proxy), the front end + Portico over the front end
// + backend alone (apache-proxy / apache-direct, nginx-portico / nginx),
// req/s and p99; and the CPU time per request of each process of those
// targets (a front end's processes summed, Portico's).
//
// The auth and policy targets are opt-in too (make bench-auth runs them
// with nginx and portico), each the portico target with one thing
// changed; the report gives each as × nginx and × portico:
//
//	portico-basic        Basic auth: application ID and API key
//	portico-jwt          jwt auth, one HS256 token signed here, the same
//	                     every request: the verifier's cached path
//	portico-jwt-rs256    as portico-jwt with an RS256 token (2048 bits)
//	portico-oauth2       oauth2 auth, one access token fetched once from
//	                     the gateway's POST /oauth2/token
//	portico-threat       a POST of a 2 KiB JSON body (a wrk Lua script),
//	                     threat protection at its defaults
//	portico-validate     the same POST, checked against the API's OpenAPI
//	                     document (validate_requests: every member of
//	                     the body, its patterns and bounds)
//	portico-json2xml     the same POST, converted to XML on its way
//
// A JWT's first sight (its signature checked before it is cached) is not
// measured here, since wrk sends one fixed header: jwtauth's
// BenchmarkVerifyFirstSight and BenchmarkVerifyRS256FirstSight measure it.
// The goal: portico-basic, portico-jwt and portico-jwt-rs256 each at
// least 0.95 × portico (a cached JWT or Basic costs at most 5 % over an
// API key).
//
// fasthttp and reverseproxy are this program again, in the hidden modes
// -fasthttp-proxy LISTEN BACKEND and -reverseproxy LISTEN BACKEND, each a
// process of its own like the backend.
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
// always runs first or last; the estimated time of the runs is printed at
// the start (about 6 minutes with the defaults). The report gives each
// run and each target's median over the rounds of requests per second,
// its ratio to the fasthttp target ("× fasthttp"; a run's to the fasthttp
// run of its round), p50 and p99, the CPU time each process used and the
// proxy's CPU µs per request, and the throughput ratios to fasthttp,
// nginx, the backend alone, portico-noanalytics and portico. Then it
// checks the goals of issue 13 for portico, and for portico-std and
// portico-noanalytics beside it: × fasthttp ≥ 0.90, × nginx ≥ 0.80 and
// p99 / nginx's p99 ≤ 1.5, each ratio taken per round between runs of
// the same round and judged on their median; and portico ≥ 0.90 ×
// portico-noanalytics (analytics cost at most 10 %).
//
// Fairness: wrk, the backend and the proxy share the machine, so the
// proxy that needs less CPU per request leaves more to the others. nginx
// runs one worker per core (worker_processes auto) and Portico, the two
// bare Go proxies and the backend run with Go's default GOMAXPROCS; wrk
// defaults to one thread, which keeps it well below a core at these
// rates. CPU time is read from /proc for the backend and the proxy and
// from wrk's rusage, so the report shows where each run's CPU went,
// including to anything else running on the machine ("other"); before
// each run the harness waits, up to -settle, for the machine to be mostly
// idle.
//
// With -conns the program runs instead the connections experiment of
// issue 13 (part 5) on the portico target alone:
//
//	go run ./internal/loadbench -conns [-conns-idle 10000] [-conns-slow 1000]
//	        [-rounds 5] [-duration 8s] [-connections 64] [-json]
//
// Portico is started as the portico target with --read-header-timeout 10m
// and --idle-timeout 10m, so that neither timeout cuts the slow clients
// during the measurement, and --metrics-addr for its goroutines and Go
// memory. Each round opens -conns-idle keep-alive connections, each of
// which sends one request, reads its 200 and stays open, silent; then
// -conns-slow slow clients, each sending a request head a byte a second,
// never finished; reads Portico's memory (VmRSS, threads and descriptors
// from /proc, goroutines and Go heap + stacks in use from /metrics) before
// and after each, and reports the cost per connection; runs wrk with
// them held open, checks which of them Portico still holds, closes them
// all (with a reset, so that no port waits in TIME_WAIT), and runs wrk
// again without them, the order of the two runs alternating from round
// to round. The goal: p99 with them at most 1.5 × p99 without, per round
// and as the median. RLIMIT_NOFILE is raised for this program and the
// children it starts (which needs root above the hard limit); above
// 20,000 connections they come from several loopback source addresses,
// 127.0.0.2 on.
//
// A run that sees socket errors or non-2xx responses is reported as failed
// and left out of the medians. The exit status is 0 when everything ran,
// whether or not Portico met the goals of the issue, and 1 when something
// failed to run or a run failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
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
	switch {
	case len(os.Args) == 3 && os.Args[1] == backendMode:
		os.Exit(serveBackend(os.Args[2], os.Stderr))
	case len(os.Args) == 4 && os.Args[1] == fasthttpMode:
		os.Exit(serveFasthttpProxy(os.Args[2], os.Args[3], os.Stderr))
	case len(os.Args) == 4 && os.Args[1] == reverseProxyMode:
		os.Exit(serveReverseProxy(os.Args[2], os.Args[3], os.Stderr))
	}
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	var code int
	if opts.conns {
		code = runConns(ctx, opts, os.Stdout, os.Stderr)
	} else {
		code = run(ctx, opts, os.Stdout, os.Stderr)
	}
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

	conns     bool // -conns: the connections experiment instead of the benchmark
	connsIdle int  // idle keep-alive connections held open
	connsSlow int  // slow clients held open
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 5, "measured rounds; each round runs every target once (-conns: once with and once without the held connections)")
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "length of each measured wrk run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the warm-up run of each target (0: none)")
	fs.DurationVar(&o.settle, "settle", 30*time.Second, "before each run, wait up to this long for the machine to be mostly idle (0: don't)")
	fs.IntVar(&o.connections, "connections", 64, "wrk connections (-c)")
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
	fs.BoolVar(&o.conns, "conns", false, "run the connections experiment instead: Portico's memory per idle and per slow client connection, and wrk with and without them held open")
	fs.IntVar(&o.connsIdle, "conns-idle", 10000, "-conns: idle keep-alive client connections")
	fs.IntVar(&o.connsSlow, "conns-slow", 1000, "-conns: slow clients, each sending a request head a byte a second")
	def, opt := targetNamesSplit()
	only := fs.String("targets", "", "comma-separated targets to run (default: "+strings.Join(def, ", ")+
		"; opt-in, the front doors and the auth and policy targets: "+strings.Join(opt, ", ")+")")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./internal/loadbench [flags]\n"+
			"       go run ./internal/loadbench -conns [flags]\n\n"+
			"Drives the backend alone, nginx, two bare Go proxies and Portico with wrk,\n"+
			"alternating, and prints req/s, p50, p99, CPU per request and the ratios\n"+
			"to the bare fasthttp proxy and to nginx. The front doors (Apache\n"+
			"mod_proxy and mod_jk, nginx, in front of Portico or of the backend alone)\n"+
			"run only when -targets names them, and so do the variants of Portico with\n"+
			"Basic, JWT or OAuth2 auth or a policy on a POSTed JSON body (make bench-auth).\n"+
			"With -conns, measures instead\n"+
			"what idle and slow client connections cost Portico.\n\nFlags:\n")
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
	case o.connsIdle < 0 || o.connsIdle > maxConnsIdle:
		bad = fmt.Errorf("-conns-idle must be between 0 and %d", maxConnsIdle)
	case o.connsSlow < 0 || o.connsSlow > maxConnsSlow:
		bad = fmt.Errorf("-conns-slow must be between 0 and %d", maxConnsSlow)
	case o.conns && o.only != nil:
		bad = errors.New("-targets has no meaning with -conns, which runs the portico target alone")
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
	script   string   // set by setup: a wrk Lua script (-s) for a request other than a GET; "" for none
	setup    func(ctx context.Context, e *env, t *target) error
	teardown func(ctx context.Context) error

	// procs are the processes whose CPU time is charged to the target (the
	// proxy); the backend's and wrk's are counted on their own.
	procs func() []int

	// parts, when set, split the proxy's CPU time by process (the front
	// end's processes summed, Portico's): reported per request each.
	parts []part

	// optIn targets run only when -targets names them.
	optIn bool

	// redisStats, when set, reads the counters of the target's Redis; it
	// is read around every run for the Redis commands and round trips per
	// request.
	redisStats func(ctx context.Context) (redisSample, error)
}

// A part is a named set of a target's processes whose CPU time is
// reported on its own.
type part struct {
	name string
	pids func() []int
}

// porticoAbout describes the portico target.
const porticoAbout = "wrk → Portico (API key auth, rate limit + quota, analytics) → backend"

// fakeKey is sent as X-API-Key to the targets that do not check keys, so
// that every target gets requests of the same shape.
const fakeKey = "X-API-Key: bench-not-a-key-0123456789abcdef0123"

// allTargets returns every target there is, in the order of the first
// round.
func allTargets(o options) []*target {
	return append([]*target{
		directTarget(),
		nginxTarget(),
		fasthttpTarget(),
		reverseProxyTarget(),
		porticoTarget(o, "portico", porticoAbout),
		porticoTarget(o, "portico-std", "wrk → Portico as portico, on Go's net/http engine (--gateway-engine std) → backend", "--gateway-engine", "std"),
		porticoTarget(o, "portico-noanalytics", "wrk → Portico as portico, analytics off (--analytics none) → backend", "--analytics", "none"),
		clusterTarget(),
		withOptIn(apacheTarget("apache-direct", false, true)),
		withOptIn(apacheTarget("apache-proxy", false, false)),
		withOptIn(apacheTarget("apache-jk", true, false)),
		withOptIn(nginxPorticoTarget()),
	}, authTargets()...)
}

// withOptIn marks t as run only when -targets names it.
func withOptIn(t *target) *target {
	t.optIn = true
	return t
}

// targets returns the targets chosen with -targets.
func targets(o options) []*target {
	var ts []*target
	for _, t := range allTargets(o) {
		if (o.only == nil && !t.optIn) || slices.Contains(o.only, t.name) {
			ts = append(ts, t)
		}
	}
	return ts
}

// targetNames returns the names of the default targets, and then those
// of the opt-in ones.
func targetNames() []string {
	def, opt := targetNamesSplit()
	return append(def, opt...)
}

// targetNamesSplit returns the names of the default targets and of the
// opt-in ones.
func targetNamesSplit() (def, opt []string) {
	for _, t := range allTargets(options{}) {
		if t.optIn {
			opt = append(opt, t.name)
		} else {
			def = append(def, t.name)
		}
	}
	return def, opt
}

// refs are the reference targets: every other target's throughput is
// given as a ratio to each of them. The first is the ceiling every
// report's "× fasthttp" column is measured against.
var refs = []string{"fasthttp", "nginx", "direct", "portico-noanalytics", "portico"}

// The metrics a goal bounds.
const (
	metricRPS = "req_per_sec" // Target's ≥ Bound × Ref's
	metricP99 = "p99"         // Target's ≤ Bound × Ref's
)

// A goal is a bound issue 13 sets on a target relative to a reference
// measured in the same run.
type goal struct {
	Target string  `json:"target"`
	Ref    string  `json:"ref"`
	Metric string  `json:"metric"` // metricRPS or metricP99
	Bound  float64 `json:"bound"`
}

// goals are checked and reported, never enforced: the exit status does not
// depend on them. They are the portico target's; portico-std and
// portico-noanalytics are measured against the same bounds beside it; and
// those of the auth targets against portico.
var goals = func() []goal {
	var gs []goal
	for _, t := range []string{"portico", "portico-std", "portico-noanalytics"} {
		gs = append(gs,
			goal{Target: t, Ref: "fasthttp", Metric: metricRPS, Bound: 0.90},
			goal{Target: t, Ref: "nginx", Metric: metricRPS, Bound: 0.80},
			goal{Target: t, Ref: "nginx", Metric: metricP99, Bound: 1.5})
	}
	// Analytics cost at most 10 %.
	gs = append(gs, goal{Target: "portico", Ref: "portico-noanalytics", Metric: metricRPS, Bound: 0.90})
	// A cached JWT or Basic costs at most 5 % over an API key.
	for _, t := range []string{"portico-basic", "portico-jwt", "portico-jwt-rs256"} {
		gs = append(gs, goal{Target: t, Ref: "portico", Metric: metricRPS, Bound: 0.95})
	}
	return gs
}()

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
	e.logf("%d targets, %d round(s) × %s, warm-up %s: about %s of runs, plus builds, setup and any wait for a quiet machine",
		len(ts), o.rounds, o.duration, o.warmup, runTime(o, len(ts)).Round(time.Second))
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
			if err := printJSON(stdout, res); err != nil {
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

// settleCheck is how long settleDown looks at the machine at least.
const settleCheck = 500 * time.Millisecond

// runTime estimates how long the warm-ups and rounds of n targets take:
// wrk's runs in whole seconds, and one settle check before each.
func runTime(o options, n int) time.Duration {
	whole := func(d time.Duration) time.Duration { return time.Duration(math.Ceil(d.Seconds())) * time.Second }
	per := time.Duration(o.rounds) * whole(o.duration)
	runs := o.rounds
	if o.warmup > 0 {
		per += whole(o.warmup)
		runs++
	}
	if o.settle > 0 {
		per += time.Duration(runs) * settleCheck
	}
	return time.Duration(n) * per
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
