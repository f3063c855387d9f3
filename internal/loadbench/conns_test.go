package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tportico\nUmask:\t0022\nVmPeak:\t 1300000 kB\nVmRSS:\t   51200 kB\nRssAnon:\t   40000 kB\nThreads:\t9\nSigQ:\t0/31457\n"
	rss, threads, err := parseStatus(status)
	if err != nil || rss != 51200*1024 || threads != 9 {
		t.Errorf("parseStatus = %d, %d, %v; want %d, 9", rss, threads, err, 51200*1024)
	}
	for _, bad := range []string{
		"Threads:\t9\n",                  // no VmRSS (a kernel thread)
		"VmRSS:\t 12 MB\nThreads:\t9\n",  // unit
		"VmRSS:\t -12 kB\nThreads:\t9\n", // sign
		"VmRSS:\t 12 kB\nThreads:\tx\n",  // number
		"VmRSS:\t 12 kB\n",               // no Threads
	} {
		if _, _, err := parseStatus(bad); err == nil {
			t.Errorf("parseStatus(%q): no error", bad)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 10023
go_gc_duration_seconds{quantile="0.5"} 3.1e-05
go_memstats_heap_inuse_bytes 8.6016e+07
go_memstats_stack_inuse_bytes 4.3e+07
go_memstats_stack_inuse_bytes_total 1
`
	got, err := parseMetrics(strings.NewReader(text), "go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")
	if err != nil || len(got) != 3 || got[0] != 10023 || got[1] != 86016000 || got[2] != 43e6 {
		t.Errorf("parseMetrics = %v, %v", got, err)
	}
	if _, err := parseMetrics(strings.NewReader(text), "go_threads"); err == nil || !strings.Contains(err.Error(), "go_threads") {
		t.Errorf("missing metric: error %v", err)
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines NaN\n"), "go_goroutines"); err == nil {
		t.Error("NaN: no error")
	}
}

func TestConnsSummarize(t *testing.T) {
	mem := func(rss, inuse, g int64) memSample {
		return memSample{RSS: rss, GoInUse: inuse, Goroutines: g, Threads: 8, FDs: 20}
	}
	run := func(name string, round int, rps, p99 float64, failed string) runResult {
		x := rr(name, round, rps, p99, failed)
		return x
	}
	r := &connsResults{
		Options: optionsOut{Rounds: 3, Seconds: 8},
		Facts:   facts{CPUs: 2},
		Idle:    1000, Slow: 100,
		Rounds: []connsRound{
			{Round: 1, Before: mem(10e6, 5e6, 20), Idle: mem(18e6, 11e6, 1020), Slow: mem(19e6, 11.5e6, 1120),
				IdleHeld: 1000, SlowHeld: 100,
				With: run("with", 1, 900, 3000, ""), Without: run("without", 1, 1000, 2000, "")},
			{Round: 2, WithLast: true, Before: mem(20e6, 5e6, 20), Idle: mem(22e6, 11e6, 1020), Slow: mem(22.5e6, 11.5e6, 1120),
				IdleHeld: 1000, SlowHeld: 100,
				With: run("with", 2, 950, 2200, ""), Without: run("without", 2, 1000, 2000, "")},
			{Round: 3, Before: mem(20e6, -1, -1), Idle: mem(23e6, -1, -1), Slow: mem(23.2e6, -1, -1),
				IdleHeld: 999, SlowHeld: 100,
				With: run("with", 3, 10, 9e6, "3 socket errors"), Without: run("without", 3, 1100, 1000, "")},
		},
	}
	r.summarize()
	s := r.Summary
	if s.Idle.RSSFirst != 8000 || s.Idle.RSS != 3000 || s.Idle.GoInUse != 6000 || s.Idle.Goroutines != 1 {
		t.Errorf("idle cost = %+v, want RSS 8000 B in round 1, median 3000 B; 6000 B in use, 1 goroutine", s.Idle)
	}
	if s.Slow.RSSFirst != 10000 || s.Slow.RSS != 5000 || s.Slow.GoInUse != 5000 || s.Slow.Goroutines != 1 {
		t.Errorf("slow cost = %+v, want RSS 10000 B in round 1, median 5000 B; 5000 B in use, 1 goroutine", s.Slow)
	}
	if !s.Known || !near(s.P99Ratio, 1.3) || len(s.P99PerRound) != 2 || !near(s.ReqPerSecRatio, 0.925) || !s.P99Met {
		t.Errorf("p99 ratio %v (rounds %v), req/s ratio %v, met %v; want 1.3 (1.5, 1.1), 0.925, met",
			s.P99Ratio, s.P99PerRound, s.ReqPerSecRatio, s.P99Met)
	}
	if s.WithP99us != 2600 || s.WithoutP99us != 2000 || s.WithoutReqPerSec != 1000 || s.FailedRuns != 1 || s.ConnectionsSound {
		t.Errorf("summary = %+v; want with p99 2600, without p99 2000 and 1000 req/s, 1 failed run, connections not all held", s)
	}
	if s.PeakRSS != 0 {
		t.Errorf("peak RSS = %d, want 0 (no reading after a run)", s.PeakRSS)
	}
	r.Rounds[1].AfterWrk.RSS = 40 << 20
	r.Rounds[1].AfterWithout.RSS = 20 << 20
	r.Rounds[2].AfterWithout.RSS = 30 << 20
	r.GOGC = 400
	r.summarize()
	if s := r.Summary; s.PeakRSS != 40<<20 || s.MinRSSWithout != 20<<20 || s.MaxRSSWithout != 30<<20 {
		t.Errorf("peak RSS = %d, without %d to %d; want %d, %d to %d", s.PeakRSS, s.MinRSSWithout, s.MaxRSSWithout, 40<<20, 20<<20, 30<<20)
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"up to 40.0 MiB; after one without: 20.0 MiB to 30.0 MiB", "about 5 × the live heap", "8,000 B", "p99 with / without: 1.300", "idle 999/1000", "RUN(S) FAILED", "did not hold every connection"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFmtInt(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -123: "-123", -1234567: "-1,234,567"} {
		if got := fmtInt(in); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", in, got, want)
		}
	}
	if got := fmtBytes(-0.6); got != "-1 B" {
		t.Errorf("fmtBytes(-0.6) = %q", got)
	}
}

// TestRefProxies sends a request through each reference proxy to the
// backend.
func TestRefProxies(t *testing.T) {
	backend := httptest.NewServer(backendHandler())
	defer backend.Close()
	addr := strings.TrimPrefix(backend.URL, "http://")
	t.Run("fasthttp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := fasthttpProxy(addr)
		go srv.Serve(ln)
		defer srv.Shutdown()
		checkProxy(t, "http://"+ln.Addr().String())
	})
	t.Run("reverseproxy", func(t *testing.T) {
		var log strings.Builder
		srv := httptest.NewServer(reverseProxy(addr, &log).Handler)
		defer srv.Close()
		checkProxy(t, srv.URL)
		if log.Len() > 0 {
			t.Errorf("proxy log: %s", log.String())
		}
	})
}

func checkProxy(t *testing.T, base string) {
	t.Helper()
	for range 3 { // on one kept-alive connection
		resp, err := http.Get(base + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, backendBody) {
			t.Fatalf("GET: %s %q %v; want 200 %q", resp.Status, body, err, backendBody)
		}
	}
}

// TestIdleAndSlowClients opens idle connections and slow clients to a
// server, counts those it holds, and sees them closed.
func TestIdleAndSlowClients(t *testing.T) {
	srv := httptest.NewUnstartedServer(backendHandler())
	srv.Config.ReadHeaderTimeout = time.Minute
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	request := []byte("GET /hello HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")

	idle, err := dialAll(ctx, 20, func(ctx context.Context, i int) (net.Conn, error) {
		return openIdle(ctx, addr, request, i, 23)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(idle)
	if n := countOpen(idle); n != 20 {
		t.Errorf("idle connections open = %d, want 20", n)
	}
	slow, err := startSlow(ctx, addr, []byte("GET /hello HTTP/1.1\r\nX-Slow: aaaa"), 20, 3, 23)
	if slow != nil {
		defer slow.stop()
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := countOpen(slow.conns); n != 3 {
		t.Errorf("slow clients open = %d, want 3", n)
	}

	// The server closes them all: none is counted open any more.
	srv.CloseClientConnections()
	deadline := time.Now().Add(10 * time.Second)
	for countOpen(idle)+countOpen(slow.conns) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the server closed them, %d idle and %d slow still counted open", countOpen(idle), countOpen(slow.conns))
		}
		time.Sleep(20 * time.Millisecond)
	}
	slow.stop()
	closeAll(idle)
	if countNonNil(idle) != 0 || countNonNil(slow.conns) != 0 {
		t.Error("closeAll left connections")
	}
}

func TestOpenIdleRejects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no key", http.StatusUnauthorized)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	conns, err := dialAll(context.Background(), 5, func(ctx context.Context, i int) (net.Conn, error) {
		return openIdle(ctx, addr, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), i, 5)
	})
	defer closeAll(conns)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("dialAll error = %v, want one with the 401", err)
	}
}
