package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
)

func names(t *testing.T, s *redisstore.Store) map[string]string {
	t.Helper()
	nodes, err := s.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes {
		out[n.Name] = n.Status
	}
	return out
}

// TestRegistry checks heartbeats, the down status and expiry of a node
// that stops heartbeating, and Leave.
func TestRegistry(t *testing.T) {
	const expiry = 900 * time.Millisecond
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv, redisstore.WithNodeExpiry(expiry))
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := portico.Node{Name: "a", GatewayAddr: "127.0.0.1:8080", AdminAddr: "127.0.0.1:9080", Version: "1.0",
		StartedAt: started, LBFactor: 2, RequestRate: 12.5,
		LastSeen: time.Unix(1, 0), Status: "down"} // ignored by Heartbeat
	b := portico.Node{Name: "b", LBFactor: 1}
	for _, n := range []portico.Node{a, b} {
		if err := s.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("Nodes = %+v, %v; want a and b", nodes, err)
	}
	secs, err := srv.Client(t).Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := nodes[0]
	if d := secs.Sub(got.LastSeen); d < 0 || d > time.Second {
		t.Errorf("LastSeen = %v, Redis time %v: want Redis's clock", got.LastSeen, secs)
	}
	want := a
	want.LastSeen, want.Status = got.LastSeen, "up"
	if got != want {
		t.Errorf("node a = %+v\nwant %+v", got, want)
	}

	// b keeps heartbeating, a stops: a is down after 2/3 of the expiry,
	// then gone.
	sawDown := false
	deadline := time.Now().Add(3 * expiry)
	for {
		if err := s.Heartbeat(ctx, b); err != nil {
			t.Fatal(err)
		}
		m := names(t, s)
		if m["b"] != "up" {
			t.Fatalf("heartbeating node b is %q", m["b"])
		}
		if m["a"] == "down" {
			sawDown = true
		}
		if _, ok := m["a"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node a still listed %v after its last heartbeat", 3*expiry)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawDown {
		t.Error("node a left the list without being listed as down first")
	}

	// Leave removes at once; a heartbeat brings a node back.
	if err := s.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if m := names(t, s); len(m) != 0 {
		t.Errorf("after Leave: %v, want none", m)
	}
	if err := s.Heartbeat(ctx, a); err != nil {
		t.Fatal(err)
	}
	if m := names(t, s); m["a"] != "up" || len(m) != 1 {
		t.Errorf("after a's heartbeat: %v, want a up", m)
	}
	if err := s.Heartbeat(ctx, portico.Node{}); err == nil {
		t.Error("Heartbeat of a node without a name succeeded")
	}
}
