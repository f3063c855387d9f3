package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSentinelFailover runs a store through Redis Sentinel: a master, a
// replica and a Sentinel, all real redis-server processes. Config changes
// are acknowledged by the replica before Apply returns; the master is
// killed; the Sentinel promotes the replica and the store follows it: the
// next write succeeds on the new master and every acknowledged change is
// there. With no replica left, a write still succeeds and is logged as
// not replicated.
func TestSentinelFailover(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	replica := redistest.StartWith(t, redistest.Options{ReplicaOf: master})
	sentinel := redistest.StartSentinel(t, "portico", master)

	var logs syncBuffer
	st, err := redisstore.Open(ctx, sentinel.SentinelURL("portico"), "failover",
		redisstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plan := func(i int) []portico.Change {
		id := fmt.Sprint("plan", i)
		return []portico.Change{portico.Put(&portico.Plan{ID: id, Name: id})}
	}
	var v int64
	const acked = 20
	for i := range acked {
		if v, err = st.Apply(ctx, v, plan(i)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(logs.String(), "a failover now would lose it") {
		t.Errorf("a write was logged as not replicated with the replica up:\n%s", logs.String())
	}

	master.Stop()
	killed := time.Now()
	var failures int
	for {
		nv, err := st.Apply(ctx, v, plan(acked))
		if err == nil {
			v = nv
			break
		}
		if code := portico.ErrorCodeOf(err); code != portico.EUnavailable {
			t.Fatalf("write during the failover: %v (%s), want unavailable", err, code)
		}
		failures++
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("no write succeeded 30 s after the master was killed: %v; Sentinel log:\n%s", err, sentinel.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("first write on the new master %v after the old one was killed (%d writes refused as unavailable meanwhile)",
		time.Since(killed).Round(time.Millisecond), failures)
	if role := replica.Role(ctx); role != "master" {
		t.Errorf("the replica's role after the failover is %q, want master", role)
	}
	cfg, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != v || cfg.Plans.Len() != acked+1 {
		t.Errorf("after the failover: version %d with %d plans, want %d with %d", cfg.Version, cfg.Plans.Len(), v, acked+1)
	}
	if !strings.Contains(logs.String(), "a failover now would lose it") {
		t.Errorf("the write on a master without replicas was not logged as not replicated; log:\n%s", logs.String())
	}
}
