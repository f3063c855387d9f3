package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico/internal/redisinfo"
)

// This file holds what the binary cluster tests use to drive traffic
// through gateways and to judge what the limiters admitted: a paced load
// that records each request's send and receive times, the attribution of
// admitted requests to limit windows, and Redis's counters.

// loadClient returns an HTTP client for loads: enough keep-alive
// connections per gateway for many workers, and a 10 s bound on each
// request. Its idle connections are closed when the test ends.
func loadClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// sample is one request of a load.
type sample struct {
	// sent and recv are when the request was sent and its answer read, in
	// Unix nanoseconds of the wall clock, which on one machine is Redis's
	// clock too: the limiter decided the request somewhere in between.
	sent, recv int64
	node       int    // index of the gateway it went to
	code       int    // HTTP status; 0 when there was no answer
	retryAfter string // the Retry-After header
}

func (s sample) admitted() bool { return s.code == 200 }

// load is steady GET traffic on one path with one API key through a set
// of gateways.
type load struct {
	gateways []string // base URLs; request i of worker w goes to gateways[(i+w) % len]
	path     string
	key      string  // sent as X-API-Key; none when empty
	rate     float64 // requests per second, all workers together
	workers  int
}

// runningLoad is a load started by startLoad.
type runningLoad struct {
	cancel  context.CancelFunc
	done    chan struct{}
	samples []sample
}

// wait waits until the load has ended and returns its samples, sorted by
// send time.
func (r *runningLoad) wait() []sample {
	<-r.done
	return r.samples
}

// stop ends the load early: no request is sent after stop is called, the
// ones in flight complete. It returns the samples as wait does.
func (r *runningLoad) stop() []sample {
	r.cancel()
	return r.wait()
}

// startLoad sends l's traffic with hc until the deadline until (or stop):
// each worker sends one request after another on a fixed schedule of
// rate/workers per second, staggered against the other workers; a worker
// that falls behind sends at once rather than skipping. Each worker sends
// at most rate/workers × (until − now) + 1 requests. The load is stopped
// when the test ends.
func startLoad(t testing.TB, hc *http.Client, l load, until time.Time) *runningLoad {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningLoad{cancel: cancel, done: make(chan struct{})}
	t.Cleanup(func() { r.stop() })
	interval := time.Duration(float64(time.Second) * float64(l.workers) / l.rate)
	start := time.Now()
	most := int(until.Sub(start)/interval) + 1
	out := make([][]sample, l.workers)
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(0)
			defer timer.Stop()
			next := start.Add(time.Duration(w) * interval / time.Duration(l.workers))
			for i := 0; i < most && next.Before(until); i++ {
				timer.Reset(time.Until(next))
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				out[w] = append(out[w], l.send(hc, (i+w)%len(l.gateways)))
				next = next.Add(interval)
			}
		}()
	}
	go func() {
		wg.Wait()
		for _, ss := range out {
			r.samples = append(r.samples, ss...)
		}
		slices.SortFunc(r.samples, func(a, b sample) int { return cmp.Compare(a.sent, b.sent) })
		close(r.done)
	}()
	return r
}

// send sends one request of l to gateway node. A request in flight is not
// cancelled by the load's stop: it completes or times out.
func (l load) send(hc *http.Client, node int) sample {
	s := sample{node: node, sent: time.Now().UnixNano()}
	req, err := http.NewRequest("GET", l.gateways[node]+l.path, nil)
	if err != nil {
		s.recv = s.sent
		return s // counted as failed
	}
	if l.key != "" {
		req.Header.Set("X-API-Key", l.key)
	}
	s.sent = time.Now().UnixNano()
	resp, err := hc.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			s.code, s.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		}
	}
	s.recv = time.Now().UnixNano()
	return s
}

// tally counts requests by outcome.
type tally struct {
	served  int           // 2xx
	limited int           // 429
	refused int           // 503 with Retry-After: limits not checkable, turned away on purpose
	failed  int           // anything else, no answer included
	slowest time.Duration // the longest time from send to answer
}

// count tallies the samples for which keep is true.
func count(ss []sample, keep func(sample) bool) tally {
	var c tally
	for _, s := range ss {
		if keep(s) {
			c.slowest = max(c.slowest, time.Duration(s.recv-s.sent))
		}
		switch {
		case !keep(s):
		case s.code >= 200 && s.code < 300:
			c.served++
		case s.code == http.StatusTooManyRequests:
			c.limited++
		case s.code == http.StatusServiceUnavailable && s.retryAfter != "":
			c.refused++
		default:
			c.failed++
		}
	}
	return c
}

func (c tally) String() string {
	return fmt.Sprintf("%d served, %d limited, %d refused, %d failed (slowest %v)", c.served, c.limited, c.refused, c.failed, c.slowest.Round(100*time.Microsecond))
}

// windowCount is what a load saw of one limit window [start, start+per).
type windowCount struct {
	start int64 // Unix ns
	// definite counts the admitted requests sent and answered inside the
	// window: the limiter admitted each of them in this window.
	definite int
	// straddlers counts the other admitted requests sent before the
	// window's end and answered after its start: each may have been
	// admitted in this window or in a neighbouring one.
	straddlers int
	// refused counts the requests limited (429) that were sent and
	// answered inside the window: the limiter refused each in it.
	refused int
}

// fixedWindows attributes the admitted samples to the epoch-aligned
// windows of length per that lie wholly within [from, to) (Unix ns), and
// returns those windows in order.
func fixedWindows(ss []sample, per time.Duration, from, to int64) []windowCount {
	p := int64(per)
	first, end := (from+p-1)/p, to/p // window k is [k·p, (k+1)·p)
	if end <= first {
		return nil
	}
	ws := make([]windowCount, end-first)
	for i := range ws {
		ws[i].start = (first + int64(i)) * p
	}
	for _, s := range ss {
		a, b := s.sent/p, s.recv/p
		if !s.admitted() {
			if s.code == http.StatusTooManyRequests && a == b && a >= first && a < end {
				ws[a-first].refused++
			}
			continue
		}
		for k := max(a, first); k <= min(b, end-1); k++ {
			if a == b {
				ws[k-first].definite++
			} else {
				ws[k-first].straddlers++
			}
		}
	}
	return ws
}

// admittedIn returns how many admitted samples have the middle of their
// request within [from, to) (Unix ns): each admission counts in one
// interval only, placed within half its request's time of its decision.
func admittedIn(ss []sample, from, to int64) int {
	n := 0
	for _, s := range ss {
		if t := s.sent + (s.recv-s.sent)/2; s.admitted() && t >= from && t < to {
			n++
		}
	}
	return n
}

// meanIn returns the mean number of admitted samples, each taken at the
// middle of its request, in the intervals [x, x+length) for x over
// [from, from+spread) (Unix ns): each admission counts with the share of
// those intervals that hold it. Over a pattern of admissions that repeats
// every spread, it is the count of a whole number of repetitions however
// the admissions fall near the intervals' ends.
func meanIn(ss []sample, length, spread time.Duration, from int64) float64 {
	var sum int64
	for _, s := range ss {
		t := s.sent + (s.recv-s.sent)/2
		if in := min(t+1, from+int64(spread)) - max(t+1-int64(length), from); s.admitted() && in > 0 {
			sum += in
		}
	}
	return float64(sum) / float64(spread)
}

// longestGap returns the longest time between two consecutive sends of
// ss, sorted by send time: how long the load left the limiter without
// demand at worst.
func longestGap(ss []sample) time.Duration {
	var gap int64
	for i := 1; i < len(ss); i++ {
		gap = max(gap, ss[i].sent-ss[i-1].sent)
	}
	return time.Duration(gap)
}

// windowSummary describes windows in one line: how many, the least and
// most definite admissions in one, and the straddlers.
func windowSummary(ws []windowCount) string {
	if len(ws) == 0 {
		return "no complete window"
	}
	lo, hi, st, stMax, loWith := ws[0].definite, ws[0].definite, 0, 0, ws[0].definite+ws[0].straddlers
	for _, w := range ws {
		lo, hi = min(lo, w.definite), max(hi, w.definite)
		st, stMax = st+w.straddlers, max(stMax, w.straddlers)
		loWith = min(loWith, w.definite+w.straddlers)
	}
	return fmt.Sprintf("%d windows: definite min %d max %d, straddlers %d in all (at most %d in one), definite+straddlers min %d",
		len(ws), lo, hi, st, stMax, loWith)
}

// busiestInterval returns the most admitted samples that lie wholly
// inside one interval [x, x+per) — requests the limiter certainly
// admitted within per of each other — and the start x of such an
// interval. ss must be sorted by send time.
func busiestInterval(ss []sample, per time.Duration) (most int, at int64) {
	var adm []sample
	for _, s := range ss {
		if s.admitted() {
			adm = append(adm, s)
		}
	}
	// The best interval can start at the send time of one of its samples.
	for i, s := range adm {
		n, end := 0, s.sent+int64(per)
		for _, u := range adm[i:] {
			if u.sent >= end {
				break
			}
			if u.recv < end {
				n++
			}
		}
		if n > most {
			most, at = n, s.sent
		}
	}
	return most, at
}

// quantiles returns the median, the 99th percentile (nearest rank) and
// the maximum of ds, which it sorts.
func quantiles(ds []time.Duration) (p50, p99, top time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return rank(0.50), rank(0.99), ds[len(ds)-1]
}

// readRedisCounters reads rdb's server's counters (INFO stats
// commandstats).
func readRedisCounters(t *testing.T, rdb *redis.Client) redisinfo.Sample {
	t.Helper()
	info, err := rdb.Info(context.Background(), "stats", "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO stats commandstats: %v", err)
	}
	c, err := redisinfo.Parse(info)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFixedWindows(t *testing.T) {
	s := int64(time.Second)
	ok := func(sent, recv int64) sample { return sample{sent: sent, recv: recv, code: 200} }
	ss := []sample{
		ok(10*s+1, 10*s+2),                          // before from: left out
		ok(11*s, 11*s+5),                            // definite in 11
		ok(11*s+s/2, 11*s+s/2+1),                    // definite in 11
		{sent: 11*s + 3, recv: 11*s + 4, code: 429}, // refused in 11
		{sent: 12*s - 3, recv: 12*s + 4, code: 429}, // refused, in 11 or 12: not counted
		ok(12*s-1, 12*s),                            // straddles 11 and 12
		ok(12*s+1, 14*s+1),                          // straddles 12 to 14, 14 is incomplete
		ok(13*s+1, 13*s+2),                          // definite in 13
	}
	got := fixedWindows(ss, time.Second, 10*s+1, 14*s+s/2)
	want := []windowCount{{11 * s, 2, 1, 1}, {12 * s, 0, 2, 0}, {13 * s, 1, 1, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("fixedWindows = %v, want %v", got, want)
	}
	if got := fixedWindows(ss, time.Second, 11*s+1, 12*s); got != nil {
		t.Errorf("no complete window: got %v", got)
	}
}

func TestBusiestInterval(t *testing.T) {
	ms := int64(time.Millisecond)
	ok := func(sent, recv int64) sample { return sample{sent: sent, recv: recv, code: 200} }
	for _, tc := range []struct {
		name string
		ss   []sample
		most int
		at   int64
	}{
		{"none", nil, 0, 0},
		{"one", []sample{ok(5*ms, 6*ms)}, 1, 5 * ms},
		{"spread", []sample{ok(0, ms), ok(500*ms, 501*ms), ok(999*ms, 999*ms+1), ok(1000*ms, 1001*ms)}, 3, 0},
		{"a slow answer does not count", []sample{ok(0, ms), ok(10*ms, 1000*ms), ok(20*ms, 21*ms)}, 2, 0},
		{"rejected left out", []sample{ok(0, ms), {sent: 2 * ms, recv: 3 * ms, code: 429}, ok(1500*ms, 1501*ms), ok(1600*ms, 1601*ms)}, 2, 1500 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if most, at := busiestInterval(tc.ss, time.Second); most != tc.most || at != tc.at {
				t.Errorf("busiestInterval = %d at %d, want %d at %d", most, at, tc.most, tc.at)
			}
		})
	}
}

func TestAdmittedIn(t *testing.T) {
	ss := []sample{
		{sent: 10, recv: 20, code: 200}, // middle 15
		{sent: 10, recv: 40, code: 200}, // middle 25: out
		{sent: 12, recv: 14, code: 429}, // not admitted
		{sent: 0, recv: 12, code: 200},  // middle 6: out
		{sent: 16, recv: 22, code: 200}, // middle 19
		{sent: 20, recv: 20, code: 200}, // middle 20: out
	}
	if got := admittedIn(ss, 10, 20); got != 2 {
		t.Errorf("admittedIn = %d, want 2", got)
	}
}

func TestMeanIn(t *testing.T) {
	ms := int64(time.Millisecond)
	at := func(t int64) sample { return sample{sent: t, recv: t, code: 200} }
	// Three admissions every 100 ms, at 0, 10 and 20 ms into each.
	var ss []sample
	for i := range int64(10) {
		ss = append(ss, at(i*100*ms), at(i*100*ms+10*ms), at(i*100*ms+20*ms), sample{sent: i*100*ms + 30*ms, code: 429})
	}
	for _, tc := range []struct {
		name           string
		length, spread time.Duration
		from           int64
		want           float64
	}{
		{"aligned", 500 * time.Millisecond, 100 * time.Millisecond, 0, 15},
		{"shifted", 500 * time.Millisecond, 100 * time.Millisecond, 5 * ms, 15},
		{"within a burst", 300 * time.Millisecond, 100 * time.Millisecond, 15 * ms, 9},
		{"a point", 100 * time.Millisecond, time.Nanosecond, 10 * ms, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := meanIn(ss, tc.length, tc.spread, tc.from); got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Errorf("meanIn = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuantiles(t *testing.T) {
	var ds []time.Duration
	for i := 1000; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p99, top := quantiles(ds)
	if p50 != 500*time.Millisecond || p99 != 990*time.Millisecond || top != time.Second {
		t.Errorf("quantiles of 1..1000 ms = %v %v %v, want 500ms 990ms 1s", p50, p99, top)
	}
}
