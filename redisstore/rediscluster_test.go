package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
	"github.com/portico-gw/portico/redisstore"
)

// TestRedisCluster runs the store contract on a Redis Cluster of three
// masters (real redis-server processes in cluster mode), then checks the
// change feed: a change applied through one store reaches a Watch of
// another, whichever node the subscription landed on.
func TestRedisCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	url := redistest.ClusterURL(nodes)
	ctx := context.Background()
	openCluster := func(t *testing.T, name string) *redisstore.Store {
		s, err := redisstore.Open(ctx, url, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.Run(t, func(t *testing.T) portico.Store {
		return openCluster(t, fmt.Sprintf("rc%d", clusters.Add(1)))
	})

	a, b := openCluster(t, "feed"), openCluster(t, "feed")
	got := make(chan portico.ChangeSet, 10)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subscribed := make(chan struct{})
	go b.Watch(wctx, func() { close(subscribed) }, func(cs portico.ChangeSet) { got <- cs })
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("no subscription on the Redis Cluster within 10 s")
	}
	v, err := a.Apply(ctx, 0, []portico.Change{portico.Put(&portico.Plan{ID: "p", Name: "p"})})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case cs := <-got:
		if cs.Version != v || len(cs.Changes) != 1 || cs.ID == "" {
			t.Errorf("change set %+v, want version %d with one change and an ID", cs, v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the change set did not reach the other store's Watch within 10 s")
	}
	cfg, err := b.Load(ctx)
	if err != nil || cfg.Version != v || cfg.Plans.Get("p") == nil {
		t.Errorf("Load on the Redis Cluster: %v, %v", cfg, err)
	}
	if hv, id, err := b.Head(ctx); hv != v || id == "" || err != nil {
		t.Errorf("Head = %d %q %v", hv, id, err)
	}
}
