package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what one wrk --latency run printed.
type wrkResult struct {
	Requests  int64   `json:"requests"`
	ReqPerSec float64 `json:"req_per_sec"`
	// Latencies in microseconds, as wrk prints them (two decimals in the
	// unit it picked).
	P50us  float64 `json:"p50_us"`
	P75us  float64 `json:"p75_us"`
	P90us  float64 `json:"p90_us"`
	P99us  float64 `json:"p99_us"`
	MaxUs  float64 `json:"max_us"`
	Non2xx int64   `json:"non_2xx"` // wrk: "Non-2xx or 3xx responses", i.e. status ≥ 400

	SocketErrors socketErrors `json:"socket_errors"`
}

type socketErrors struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
}

func (s socketErrors) total() int64 { return s.Connect + s.Read + s.Write + s.Timeout }

// problem describes what makes a run count as failed, or "" when nothing
// does.
func (w wrkResult) problem() string {
	var p []string
	if n := w.SocketErrors.total(); n > 0 {
		s := w.SocketErrors
		p = append(p, fmt.Sprintf("%d socket errors (connect %d, read %d, write %d, timeout %d)",
			n, s.Connect, s.Read, s.Write, s.Timeout))
	}
	if w.Non2xx > 0 {
		p = append(p, fmt.Sprintf("%d non-2xx/3xx responses of %d", w.Non2xx, w.Requests))
	}
	if w.Requests == 0 {
		p = append(p, "no requests completed")
	}
	return strings.Join(p, "; ")
}

// parseWrk reads the report that wrk --latency prints.
func parseWrk(out string) (wrkResult, error) {
	var w wrkResult
	var seen struct{ rps, dist, requests bool }
	inDist := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case line == "Latency Distribution":
			inDist = true
			continue
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := parseWrkTime(f[1])
			if err != nil {
				return w, fmt.Errorf("latency distribution %q: %w", line, err)
			}
			switch f[0] {
			case "50%":
				w.P50us, seen.dist = d, true
			case "75%":
				w.P75us = d
			case "90%":
				w.P90us = d
			case "99%":
				w.P99us = d
			}
			continue
		}
		inDist = false
		switch {
		case f[0] == "Latency" && len(f) >= 4:
			// Latency  avg  stdev  max  +/-stdev
			d, err := parseWrkTime(f[3])
			if err != nil {
				return w, fmt.Errorf("latency line %q: %w", line, err)
			}
			w.MaxUs = d
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return w, fmt.Errorf("requests line %q: %w", line, err)
			}
			w.Requests, seen.requests = n, true
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return w, fmt.Errorf("requests/sec line %q: bad number", line)
			}
			w.ReqPerSec, seen.rps = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return w, fmt.Errorf("non-2xx line %q: %w", line, err)
			}
			w.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 12, write 0, timeout 3
			fs := strings.Fields(strings.NewReplacer(",", " ").Replace(strings.TrimPrefix(line, "Socket errors:")))
			if len(fs) != 8 {
				return w, fmt.Errorf("socket errors line %q: unexpected shape", line)
			}
			for i := 0; i < len(fs); i += 2 {
				n, err := strconv.ParseInt(fs[i+1], 10, 64)
				if err != nil {
					return w, fmt.Errorf("socket errors line %q: %w", line, err)
				}
				switch fs[i] {
				case "connect":
					w.SocketErrors.Connect = n
				case "read":
					w.SocketErrors.Read = n
				case "write":
					w.SocketErrors.Write = n
				case "timeout":
					w.SocketErrors.Timeout = n
				default:
					return w, fmt.Errorf("socket errors line %q: unknown kind %q", line, fs[i])
				}
			}
		}
	}
	switch {
	case !seen.rps:
		return w, errors.New(`no "Requests/sec:" line in wrk's output`)
	case !seen.requests:
		return w, errors.New(`no "N requests in" line in wrk's output`)
	case !seen.dist:
		return w, errors.New("no latency distribution in wrk's output (was --latency given?)")
	}
	return w, nil
}

// wrkTimeUnits are the units wrk prints times in, in microseconds.
var wrkTimeUnits = []struct {
	suffix string
	us     float64
}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}}

// parseWrkTime parses a time as wrk prints it ("627.00us", "1.23ms",
// "2.00s", "1.50m") into microseconds.
func parseWrkTime(s string) (float64, error) {
	for _, u := range wrkTimeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return 0, fmt.Errorf("bad time %q", s)
			}
			return v * u.us, nil
		}
	}
	return 0, fmt.Errorf("bad time %q: no unit", s)
}

// runResult is one wrk run of one target, with the CPU time each party used.
type runResult struct {
	Target string `json:"target"`
	Round  int    `json:"round"` // 1…rounds
	Order  int    `json:"order"` // position in its round, 1…len(targets)

	wrkResult
	Seconds float64 `json:"seconds"` // wall time of the wrk process
	CPU     cpuUse  `json:"cpu"`
	// Redis is what the target's Redis did during the run; nil for the
	// targets without one.
	Redis  *redisUse `json:"redis,omitempty"`
	Failed string    `json:"failed,omitempty"`
	// XFasthttp is ReqPerSec over that of the fasthttp target's run in
	// the same round (0: unknown); set by summarize.
	XFasthttp float64 `json:"x_fasthttp,omitempty"`
	Output    string  `json:"-"` // what wrk printed
}

// wrk drives t for d and returns the run. A run with socket errors or
// non-2xx responses is returned with Failed set; an error means wrk or a
// process of the benchmark did not work.
func (e *env) wrk(ctx context.Context, t *target, d time.Duration) (runResult, error) {
	r := runResult{Target: t.name}
	secs := int(math.Ceil(d.Seconds()))
	args := []string{"-t", strconv.Itoa(e.opts.threads), "-c", strconv.Itoa(e.opts.connections),
		"-d", strconv.Itoa(secs) + "s", "--latency"}
	for _, h := range t.headers {
		args = append(args, "-H", h)
	}
	if t.script != "" {
		args = append(args, "-s", t.script)
	}
	args = append(args, t.url)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	// Not in our process group: a ctrl-C must not end wrk early with a
	// report that looks whole; the context kills it instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr

	var proxy []int
	if t.procs != nil {
		proxy = t.procs()
	}
	var redisBefore redisSample
	if t.redisStats != nil {
		var err error
		if redisBefore, err = t.redisStats(ctx); err != nil {
			return r, err
		}
	}
	var parts [][]int
	var names []string
	for _, pt := range t.parts {
		parts, names = append(parts, pt.pids()), append(names, pt.name)
	}
	before := e.sampleCPU(proxy, parts)
	start := time.Now()
	out, err := cmd.Output()
	r.Seconds = time.Since(start).Seconds()
	after := e.sampleCPU(proxy, parts)
	r.Output = string(out)
	if ctx.Err() != nil {
		return r, fmt.Errorf("wrk: %w", context.Cause(ctx))
	}
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	if r.wrkResult, err = parseWrk(r.Output); err != nil {
		return r, fmt.Errorf("wrk %s: %w\noutput:\n%s", strings.Join(args, " "), err, out)
	}
	r.CPU = cpuDelta(before, after, cmd.ProcessState, r.Seconds, names)
	if t.redisStats != nil {
		redisAfter, err := t.redisStats(ctx)
		if err != nil {
			return r, err
		}
		r.Redis = redisDelta(redisBefore, redisAfter, r.Requests)
	}
	r.Failed = r.problem()
	return r, e.checkAlive()
}

// wrkScript returns a wrk Lua script whose every request has method and
// body; wrk builds the request once, so the script costs nothing per
// request. The headers stay wrk's -H.
func wrkScript(method string, body []byte) string {
	return "-- written by loadbench (internal/loadbench/wrk.go): every request the same\n" +
		"wrk.method = " + luaString([]byte(method)) + "\n" +
		"wrk.body = " + luaString(body) + "\n"
}

// luaString returns b as a Lua string literal: printable ASCII as it is
// but for '"' and '\', every other byte as a decimal escape (\ddd), which
// every Lua version and LuaJIT read the same.
func luaString(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\%03d", c)
		}
	}
	s.WriteByte('"')
	return s.String()
}
