package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
)

// BenchmarkApply measures one Apply of one change: one EVALSHA round trip
// that also logs and publishes the change set.
func BenchmarkApply(b *testing.B) {
	srv := redistest.Start(b)
	s := fresh(b, srv)
	ctx := context.Background()
	p := &portico.Plan{ID: "p", Name: "gold", RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Second, Window: portico.Fixed}, CreatedAt: storetest.At(0)}
	changes := []portico.Change{portico.Put(p)}
	b.ReportAllocs()
	base := int64(0)
	for b.Loop() {
		if _, err := s.Apply(ctx, base, changes); err != nil {
			b.Fatal(err)
		}
		base++
	}
}

// BenchmarkLoad measures Load of 10,000 APIs and of 100,000 keys; set
// PORTICO_BENCH_KEYS=1000000 for a million keys (about 1 GB of memory in
// all: Redis, the reply and the Config).
func BenchmarkLoad(b *testing.B) {
	keys := 100000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_BENCH_KEYS")); err == nil && v > 0 {
		keys = v
	}
	for _, tc := range []struct {
		name string
		n    int
		put  func(i int) portico.Change
	}{
		{"apis=10000", 10000, func(i int) portico.Change {
			a := *storetest.Entities()[1].API
			a.ID, a.Context = fmt.Sprintf("api%d", i), fmt.Sprintf("/api%d/v1", i)
			return portico.Put(&a)
		}},
		{fmt.Sprintf("keys=%d", keys), keys, func(i int) portico.Change {
			id := portico.NewID()
			return portico.Put(&portico.Key{ID: id, ApplicationID: "app1", Prefix: id[:8], Hash: portico.HashKey(id), CreatedAt: storetest.At(i)})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := redistest.Start(b)
			s := fresh(b, srv)
			ctx := context.Background()
			// Large imports go in chunks: every change set is logged and
			// published whole.
			const chunk = 10000
			base := int64(0)
			for i := 0; i < tc.n; i += chunk {
				changes := make([]portico.Change, 0, chunk)
				for j := i; j < min(i+chunk, tc.n); j++ {
					changes = append(changes, tc.put(j))
				}
				if _, err := s.Apply(ctx, base, changes); err != nil {
					b.Fatal(err)
				}
				base++
			}
			if err := srv.Client(b).Del(ctx, "portico:{"+s.Cluster()+"}:changes").Err(); err != nil {
				b.Fatal(err)
			}
			mem, err := srv.Client(b).InfoMap(ctx, "memory").Result()
			if err == nil {
				b.Logf("%s: redis used_memory %s", tc.name, mem["Memory"]["used_memory_human"])
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			var c *portico.Config
			for b.Loop() {
				c, err = s.Load(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c.APIs.Len()+c.Keys.Len() != tc.n {
					b.Fatalf("loaded %d entities, want %d", c.APIs.Len()+c.Keys.Len(), tc.n)
				}
			}
			b.StopTimer()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(tc.n), "heap-bytes/entity")
			runtime.KeepAlive(c)
		})
	}
}
