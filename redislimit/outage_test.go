package redislimit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestOutage stops redis-server: requests follow each spec's OnError
// policy and Take never returns an error; when the server is back,
// decisions go to Redis again.
func TestOutage(t *testing.T) {
	s := redistest.Start(t)
	l := New(client(t, s), "test:{c}:lim:")
	l.LiveNodes = func() int { return 2 }
	l.Backoff = 100 * time.Millisecond
	ctx := context.Background()
	spec := func(key string, p portico.DatastoreErrorPolicy) []portico.LimitSpec {
		return []portico.LimitSpec{{Key: key, Limit: 10, Per: portico.Minute, OnError: p}}
	}
	if d, err := l.Take(ctx, time.Now(), spec("warm", "")); err != nil || !d.Allowed {
		t.Fatalf("before the outage: %+v %v", d, err)
	}

	s.Stop()
	down := time.Now()
	var served, failed int
	// local (the default): 10 per minute over 2 live nodes is 5 here.
	for _, p := range []portico.DatastoreErrorPolicy{"", portico.DatastoreLocal} {
		key := "local-" + string(p)
		admitted := 0
		for i := 0; i < 8; i++ {
			d, err := l.Take(ctx, time.Now(), spec(key, p))
			if err != nil {
				t.Fatalf("policy %q: error %v", p, err)
			}
			if d.Allowed {
				admitted++
				served++
			} else {
				failed++
			}
		}
		if admitted != 5 && time.Now().Truncate(time.Minute).Equal(down.Truncate(time.Minute)) {
			t.Errorf("policy %q: admitted %d of 8, want 5 (10/min over 2 nodes)", p, admitted)
		}
	}
	for i := 0; i < 20; i++ {
		d, err := l.Take(ctx, time.Now(), spec("open", portico.DatastoreOpen))
		if err != nil || !d.Allowed {
			t.Fatalf("open: %+v %v", d, err)
		}
		served++
	}
	for i := 0; i < 3; i++ {
		d, err := l.Take(ctx, time.Now(), spec("closed", portico.DatastoreClosed))
		if err != nil || d.Allowed || d.RetryAfter != time.Second || d.Rejected != "closed" {
			t.Fatalf("closed: %+v %v", d, err)
		}
		failed++
	}
	// A request with a closed spec is rejected even if its other specs are open.
	mixed := append(spec("m-open", portico.DatastoreOpen), spec("m-closed", portico.DatastoreClosed)...)
	if d, err := l.Take(ctx, time.Now(), mixed); err != nil || d.Allowed || d.Rejected != "m-closed" {
		t.Fatalf("mixed: %+v %v", d, err)
	}
	t.Logf("outage: %d admitted, %d rejected by policy, %d round trips tried, %v", served, failed, l.RoundTrips(), time.Since(down))

	s.Start()
	back := time.Now()
	before := l.RoundTrips()
	deadline := back.Add(5 * time.Second)
	for {
		d, err := l.Take(ctx, time.Now(), spec("after", portico.DatastoreClosed))
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("decisions did not go back to Redis within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, err := client(t, s).HGet(ctx, l.redisKey(&spec("after", portico.DatastoreClosed)[0]), "n").Int64()
	// A call that timed out while the server came back may have been
	// counted too: a lost reply under-admits, it never over-admits.
	if err != nil || n < 1 {
		t.Fatalf("after the outage Redis counted %d (%v), want at least 1", n, err)
	}
	t.Logf("back in Redis %v after restart (%d round trips)", time.Since(back), l.RoundTrips()-before)
}

// TestErrorReplyIsNotOutage: an error reply about one call (here a
// counter's key holds a value of another type) applies the OnError
// policy to that request only; the Limiter does not back off, and other
// counters are still decided in Redis.
func TestErrorReplyIsNotOutage(t *testing.T) {
	rdb := client(t, redistest.Start(t))
	l := New(rdb, "test:{c}:lim:")
	ctx := context.Background()
	bad := []portico.LimitSpec{{Key: "bad", Limit: 10, Per: portico.Minute, OnError: portico.DatastoreClosed}}
	good := []portico.LimitSpec{{Key: "good", Limit: 10, Per: portico.Minute, OnError: portico.DatastoreClosed}}
	if err := rdb.Set(ctx, l.redisKey(&bad[0]), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := l.Take(ctx, time.Now(), bad)
	if err != nil || d.Allowed || !d.Unavailable {
		t.Fatalf("counter whose key Redis cannot use: %+v %v, want the closed policy", d, err)
	}
	before := l.RoundTrips()
	d, err = l.Take(ctx, time.Now(), good)
	if err != nil || !d.Allowed || d.Unavailable {
		t.Fatalf("another counter after an error reply: %+v %v, want decided in Redis", d, err)
	}
	if l.RoundTrips() == before {
		t.Fatal("the other counter was not decided in Redis")
	}
}

// replyErr is an error reply from Redis.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestUnreachable checks which errors start the backoff: no answer, or an
// answer that Redis cannot serve now; not an error reply about the call.
func TestUnreachable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{os.ErrDeadlineExceeded, true},
		{io.EOF, true},
		{redis.ErrClosed, true},
		{replyErr("LOADING Redis is loading the dataset in memory"), true},
		{replyErr("READONLY You can't write against a read only replica."), true},
		{replyErr("MASTERDOWN Link with MASTER is down"), true},
		{replyErr("BUSY Redis is busy running a script."), true},
		{replyErr("ERR user_script:85: attempt to compare nil with number"), false},
		{replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{fmt.Errorf("%w [1 2]", errReply), false},
		{context.Canceled, false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("unreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// blackhole returns the address of a TCP server that accepts connections
// and never answers: a Redis that is away without refusing connections.
func blackhole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestOneProbeAfterBackoff: when the backoff after a failed call ends,
// one request tries Redis; the requests on other counters that come while
// it waits for an answer get the outage policy at once instead of each
// waiting for its own timeout.
func TestOneProbeAfterBackoff(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{
		Addr: blackhole(t), MaxRetries: -1, DialerRetries: 1, PoolSize: 64,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
	})
	t.Cleanup(func() { rdb.Close() })
	l := New(rdb, "test:{c}:lim:")
	l.Backoff = 50 * time.Millisecond
	ctx := context.Background()
	specs := []portico.LimitSpec{{Key: "k", Limit: 10, Per: portico.Minute, OnError: portico.DatastoreClosed}}
	start := time.Now()
	if d, err := l.Take(ctx, start, specs); err != nil || !d.Unavailable {
		t.Fatalf("Redis away: %+v %v, want the closed policy", d, err)
	}
	after := start.Add(l.Backoff + time.Millisecond)
	const n = 20
	var wg sync.WaitGroup
	var unavailable atomic.Int64
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Counters of their own: requests on one counter would wait
			// for its grant in flight anyway.
			specs := []portico.LimitSpec{{Key: "k" + strconv.Itoa(i), Limit: 10, Per: portico.Minute, OnError: portico.DatastoreClosed}}
			<-release
			d, err := l.Take(ctx, after, specs)
			if err != nil {
				t.Error(err)
			}
			if d.Unavailable {
				unavailable.Add(1)
			}
		}()
	}
	before := l.RoundTrips()
	close(release)
	wg.Wait()
	if got := l.RoundTrips() - before; got != 1 || unavailable.Load() != n {
		t.Errorf("%d requests after the backoff: %d Redis calls, %d got the closed policy; want 1 probe and %d", n, got, unavailable.Load(), n)
	}
}
