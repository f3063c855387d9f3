package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The connections experiment (loadbench -conns) measures what client
// connections that send no work cost Portico: memory per idle keep-alive
// connection and per slow client, and the latency of the clients that do
// send work while those are held open.

const (
	maxConnsIdle = 100_000 // bound of -conns-idle
	maxConnsSlow = 20_000  // bound of -conns-slow

	// perSource is the most client connections opened from one loopback
	// source address: each takes an ephemeral port (about 28,000 in
	// Linux's default range) towards the one gateway port. Above it the
	// connections are spread over 127.0.0.2, 127.0.0.3, ….
	perSource = 20_000

	// dialers is how many connections are being opened at once.
	dialers = 64

	// slowPad is how many bytes of padding a slow client sends after its
	// request line and headers, one a second, before it waits, silent,
	// to be closed: an hour, longer than any measurement.
	slowPad = 3600
)

// connsPorticoFlags are the flags Portico gets in the connections
// experiment besides the portico target's: with the defaults (10s, 120s)
// the slow clients would be cut before the measurement ends.
var connsPorticoFlags = []string{"--read-header-timeout", "10m", "--idle-timeout", "10m"}

// connsRoundOverhead is about how long a round of the experiment takes
// besides its wrk runs: opening and closing the connections, the slow
// clients' first two bytes, and waiting for the memory to settle.
const connsRoundOverhead = 6 * time.Second

// connsTime estimates how long the experiment takes once Portico runs.
func connsTime(o options) time.Duration {
	whole := func(d time.Duration) time.Duration { return time.Duration(math.Ceil(d.Seconds())) * time.Second }
	return whole(o.warmup) + time.Duration(o.rounds)*(2*whole(o.duration)+2*settleCheck+connsRoundOverhead)
}

// runConns runs the connections experiment and returns the exit status.
func runConns(ctx context.Context, o options, stdout, stderr io.Writer) (code int) {
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
	if err := checkTools(nil); err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	// Before any child starts: they inherit the limit. Portico holds every
	// connection once, this program once, plus files, listeners and the
	// backend's.
	nofile, err := raiseNoFile(uint64(o.connsIdle + o.connsSlow + 4096))
	if err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	metricsAddr, err := freePort()
	if err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	flags := append(slices.Clone(connsPorticoFlags), "--metrics-addr", metricsAddr)
	t := porticoTarget(o, "portico", porticoAbout, flags...)
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := t.teardown(tctx); err != nil {
			fmt.Fprintf(stderr, "loadbench: teardown %s: %v\n", t.name, err)
			code = 1
		}
	}()
	e.logf("connections experiment: %d idle, %d slow, RLIMIT_NOFILE %d; %d round(s) with and without them, wrk %s each: about %s, plus the build and any wait for a quiet machine",
		o.connsIdle, o.connsSlow, nofile, o.rounds, o.duration, connsTime(o).Round(time.Second))
	if err := e.startBackend(ctx); err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	e.logf("setting up %s %s", t.name, strings.Join(flags, " "))
	if err := t.setup(ctx, e, t); err != nil {
		fmt.Fprintf(stderr, "loadbench: setup %s: %v\n", t.name, err)
		return 1
	}
	metricsURL := "http://" + metricsAddr + "/metrics"
	res := &connsResults{Options: optionsJSON(o), Idle: o.connsIdle, Slow: o.connsSlow, PorticoFlags: flags, NoFile: nofile}
	if v, err := scrape(ctx, metricsURL, "go_gc_gogc_percent"); err == nil {
		res.GOGC = int64(v[0])
	}
	err = measureConns(ctx, e, t, metricsURL, res)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "loadbench: interrupted; no report")
		return 1
	}
	if len(res.Rounds) > 0 {
		res.Facts = e.facts([]*target{t})
		res.summarize()
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
	if n := res.Summary.FailedRuns; n > 0 {
		fmt.Fprintf(stderr, "loadbench: %d run(s) FAILED (socket errors or non-2xx responses); see above\n", n)
		return 1
	}
	return code
}

// raiseNoFile raises RLIMIT_NOFILE of this process, and so of the
// children it starts from now on, to at least want, raising the hard
// limit too when it is lower (which needs root). It returns the new soft
// limit.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("RLIMIT_NOFILE: %w", err)
	}
	// Set it even when it is high enough: Go raised this process's soft
	// limit at start and would restore the original one in children;
	// after Setrlimit they inherit this one.
	next := syscall.Rlimit{Cur: max(want, lim.Cur), Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		if lim.Max < want {
			return 0, fmt.Errorf("the experiment needs %d open files, RLIMIT_NOFILE's hard limit is %d and raising it failed (run as root, or lower -conns-idle and -conns-slow): %w", want, lim.Max, err)
		}
		next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
			return 0, fmt.Errorf("RLIMIT_NOFILE: %w", err)
		}
	}
	return next.Cur, nil
}

// measureConns runs the warm-up and the rounds into res. It returns an
// error when something could not be done; res holds the rounds done.
func measureConns(ctx context.Context, e *env, t *target, metricsURL string, res *connsResults) error {
	o := e.opts
	u, err := url.Parse(t.url)
	if err != nil {
		return err
	}
	pid := t.procs()[0]
	var head strings.Builder
	fmt.Fprintf(&head, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	for _, h := range t.headers {
		head.WriteString(h + "\r\n")
	}
	request := []byte(head.String() + "\r\n")
	slowStream := []byte(head.String() + "X-Slow: " + strings.Repeat("a", slowPad))
	total := o.connsIdle + o.connsSlow

	if o.warmup > 0 {
		if err := e.settleDown(ctx); err != nil {
			return err
		}
		e.logf("warm-up %s (%s)", t.name, o.warmup)
		if _, err := e.wrk(ctx, t, o.warmup); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	for round := 1; round <= o.rounds; round++ {
		cr := connsRound{Round: round, WithLast: round%2 == 0}
		for _, with := range []bool{!cr.WithLast, cr.WithLast} {
			if err := e.settleDown(ctx); err != nil {
				return err
			}
			if !with {
				e.logf("round %d/%d: wrk without them (%s)", round, o.rounds, o.duration)
				if cr.Without, err = e.wrk(ctx, t, o.duration); err != nil {
					return fmt.Errorf("round %d, without: %w", round, err)
				}
				cr.Without.Round, cr.Without.Target = round, "without"
				if cr.AfterWithout, err = readMem(ctx, pid, metricsURL); err != nil {
					return err
				}
				continue
			}
			if err := roundWith(ctx, e, t, &cr, pid, metricsURL, u.Host, request, slowStream, total); err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
		}
		for _, x := range []runResult{cr.With, cr.Without} {
			if x.Failed != "" {
				fmt.Fprintf(e.stderr, "loadbench: RUN FAILED: round %d, %s: %s\n", round, x.Target, x.Failed)
			}
		}
		res.Rounds = append(res.Rounds, cr)
	}
	return nil
}

// roundWith opens the idle connections and the slow clients, reading
// Portico's memory before and after each, runs wrk, checks which
// connections Portico still holds and closes them all.
func roundWith(ctx context.Context, e *env, t *target, cr *connsRound, pid int, metricsURL, addr string, request, slowStream []byte, total int) error {
	o := e.opts
	var err error
	if cr.Before, err = settledMem(ctx, pid, metricsURL); err != nil {
		return err
	}
	e.logf("round %d/%d: opening %d idle keep-alive connections", cr.Round, o.rounds, o.connsIdle)
	idle, err := dialAll(ctx, o.connsIdle, func(ctx context.Context, i int) (net.Conn, error) {
		return openIdle(ctx, addr, request, i, total)
	})
	defer closeAll(idle)
	if err != nil {
		return fmt.Errorf("idle connections: %w", err)
	}
	if cr.Idle, err = settledMem(ctx, pid, metricsURL); err != nil {
		return err
	}
	e.logf("round %d/%d: starting %d slow clients", cr.Round, o.rounds, o.connsSlow)
	slow, err := startSlow(ctx, addr, slowStream, o.connsIdle, o.connsSlow, total)
	if slow != nil {
		defer slow.stop()
	}
	if err != nil {
		return fmt.Errorf("slow clients: %w", err)
	}
	if cr.Slow, err = settledMem(ctx, pid, metricsURL); err != nil {
		return err
	}
	if err := e.settleDown(ctx); err != nil {
		return err
	}
	e.logf("round %d/%d: wrk with them (%s)", cr.Round, o.rounds, o.duration)
	if cr.With, err = e.wrk(ctx, t, o.duration); err != nil {
		return fmt.Errorf("with: %w", err)
	}
	cr.With.Round, cr.With.Target = cr.Round, "with"
	if cr.AfterWrk, err = readMem(ctx, pid, metricsURL); err != nil {
		return err
	}
	cr.IdleHeld, cr.SlowHeld = countOpen(idle), countOpen(slow.conns)
	slow.stop()
	closeAll(idle)
	cr.Closed, err = settledMem(ctx, pid, metricsURL)
	return err
}

// dialLoopback dials addr from a loopback source address: 127.0.0.1 when
// total connections fit in one address's ephemeral ports, else connection
// i of total from 127.0.0.(2 + i/perSource).
func dialLoopback(ctx context.Context, addr string, i, total int) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if total > perSource {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/perSource))}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// openIdle opens connection i of total to addr, sends request on it and
// reads a 200 with backendBody: the connection is then an idle keep-alive
// connection.
func openIdle(ctx context.Context, addr string, request []byte, i, total int) (net.Conn, error) {
	c, err := dialLoopback(ctx, addr, i, total)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	err = exchange(c, request)
	_ = c.SetDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// exchange sends request on c and reads one response, which must be a
// 200 with backendBody and nothing after it.
func exchange(c net.Conn, request []byte) error {
	if _, err := c.Write(request); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s, body %q", resp.Status, clip(body, 200))
	case !bytes.Equal(body, backendBody):
		return fmt.Errorf("body %q, want %q", clip(body, 200), backendBody)
	case resp.Close:
		return errors.New("the server closes the connection after the response")
	case br.Buffered() > 0:
		return fmt.Errorf("%d bytes after the response", br.Buffered())
	}
	return nil
}

// dialAll opens n connections with open, dialers at a time, within a
// time bound. On an error it returns the connections opened so far (nil
// for the others) and the first error.
func dialAll(ctx context.Context, n int, open func(ctx context.Context, i int) (net.Conn, error)) ([]net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute+time.Duration(n)*time.Millisecond)
	defer cancel()
	conns := make([]net.Conn, n)
	var next, failed atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(dialers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := open(ctx, i)
				if err != nil {
					failed.Add(1)
					once.Do(func() { first = fmt.Errorf("connection %d: %w", i, err) })
					cancel()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		return conns, fmt.Errorf("%d of %d failed or not opened; first: %w", n-countNonNil(conns), n, first)
	}
	return conns, nil
}

func countNonNil(conns []net.Conn) int {
	n := 0
	for _, c := range conns {
		if c != nil {
			n++
		}
	}
	return n
}

// closeAll closes the connections with a reset (SO_LINGER 0): closed
// with a FIN, each would hold its ephemeral port in TIME_WAIT for a
// minute, and a few rounds would use them all up.
func closeAll(conns []net.Conn) {
	for i, c := range conns {
		if c == nil {
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
		conns[i] = nil
	}
}

// countOpen counts the connections the server has neither closed nor
// answered: a peek finds nothing to read and no end of stream.
func countOpen(conns []net.Conn) int {
	n := 0
	buf := make([]byte, 1)
	for _, c := range conns {
		sc, ok := c.(syscall.Conn)
		if !ok {
			continue
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		var open bool
		_ = raw.Read(func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			open = err == syscall.EAGAIN
			return true
		})
		if open {
			n++
		}
	}
	return n
}

// slowClients are connections that each send a stream one byte a second
// until stopped.
type slowClients struct {
	conns    []net.Conn
	done     chan struct{} // closed by stop
	stopOnce sync.Once
	wg       sync.WaitGroup
	started  atomic.Int64 // clients that have sent two bytes or more
	failed   atomic.Int64 // clients whose write failed
}

// startSlow opens n slow clients to addr, connections first+0…first+n-1
// of total, each sending stream a byte a second (their first bytes spread
// over a second), and waits until each has sent two bytes. The clients
// run until stop, the end of stream or the end of ctx.
func startSlow(ctx context.Context, addr string, stream []byte, first, n, total int) (*slowClients, error) {
	conns, err := dialAll(ctx, n, func(ctx context.Context, i int) (net.Conn, error) {
		return dialLoopback(ctx, addr, first+i, total)
	})
	s := &slowClients{conns: conns, done: make(chan struct{})}
	if err != nil {
		return s, err
	}
	for i, c := range conns {
		s.wg.Go(func() { s.trickle(ctx, c, stream, time.Duration(i%1000)*time.Millisecond) })
	}
	// Two seconds for the second byte, the spread and some slack.
	deadline := time.Now().Add(10 * time.Second)
	for s.started.Load()+s.failed.Load() < int64(n) {
		if time.Now().After(deadline) {
			return s, fmt.Errorf("after 10s, %d of %d slow clients have sent two bytes", s.started.Load(), n)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if f := s.failed.Load(); f > 0 {
		return s, fmt.Errorf("%d of %d slow clients could not write", f, n)
	}
	return s, nil
}

// trickle writes stream to c a byte a second, the first after delay.
func (s *slowClients) trickle(ctx context.Context, c net.Conn, stream []byte, delay time.Duration) {
	t := time.NewTimer(delay)
	defer t.Stop()
	for k := range stream {
		select {
		case <-s.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(stream[k : k+1]); err != nil {
			s.failed.Add(1)
			return
		}
		if k == 1 {
			s.started.Add(1)
		}
		t.Reset(time.Second)
	}
}

// stop ends the clients and closes their connections; it is safe to call
// more than once.
func (s *slowClients) stop() {
	s.stopOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		closeAll(s.conns)
	})
}
