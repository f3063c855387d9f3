package redisstore_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
	"github.com/portico-gw/portico/redisstore"
)

// watch runs w.Watch until the test ends and returns its channels: one
// receive per subscribed call, the change sets, and Watch's result.
func watch(t *testing.T, w *redisstore.Store) (subscribed chan struct{}, sets chan portico.ChangeSet, done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	subscribed, sets, done = make(chan struct{}, 1), make(chan portico.ChangeSet, 1000), make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- w.Watch(ctx, func() { subscribed <- struct{}{} }, func(cs portico.ChangeSet) { sets <- cs })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
	})
	return subscribed, sets, done
}

func receive[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
	}
	var zero T
	return zero
}

// TestWatchDeliversInOrder checks that a node sees every Apply of another
// node, in order, with its changes.
func TestWatchDeliversInOrder(t *testing.T) {
	const n = 100
	ctx := context.Background()
	srv := redistest.Start(t)
	a := fresh(t, srv)
	b := open(t, srv, a.Cluster())
	subscribed, sets, _ := watch(t, a)
	receive(t, subscribed, "subscription")

	var applied [][]portico.Change
	for base := int64(0); base < n; base++ {
		ch := []portico.Change{portico.Put(&portico.Plan{ID: fmt.Sprint("p", base), CreatedAt: storetest.At(int(base))})}
		if base%10 == 9 {
			ch = append(ch, portico.Delete(portico.KindPlan, fmt.Sprint("p", base-1)))
		}
		if _, err := b.Apply(ctx, base, ch); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, ch)
	}
	for i := range n {
		cs := receive(t, sets, "change set")
		if cs.Version != int64(i+1) || !reflect.DeepEqual(cs.Changes, applied[i]) {
			t.Fatalf("change set %d = %+v, want version %d with %+v", i, cs, i+1, applied[i])
		}
	}
	// The whole config rebuilt from the feed equals Load.
	c := portico.NewConfig()
	for i, ch := range applied {
		c = c.With(int64(i+1), ch...)
	}
	storetest.Equal(t, storetest.Load(t, a), c)
}

// TestWatchBreaksAndResubscribes checks that Watch returns an error when
// Redis goes away, and that a new Watch calls subscribed again once Redis
// is back, after which ChangesSince tells the node to reload.
func TestWatchBreaksAndResubscribes(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := fresh(t, srv)
	subscribed, _, done := watch(t, a)
	receive(t, subscribed, "subscription")
	if _, err := a.Apply(ctx, 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	err := receive(t, done, "end of Watch")
	if portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("Watch after Redis stopped = %v, want EUnavailable", err)
	}
	srv.Start()

	// The caller's loop: watch again until subscribed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		subscribed, _, done = watch(t, a)
		select {
		case <-subscribed:
		case err := <-done:
			if time.Now().After(deadline) {
				t.Fatalf("Watch still failing 5 s after Redis came back: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		case <-time.After(5 * time.Second):
			t.Fatal("no subscription within 5 s")
		}
		break
	}
	// The restarted Redis kept nothing: the node must reload.
	if _, complete, err := a.ChangesSince(ctx, 1); err != nil || complete {
		t.Errorf("ChangesSince(1) = %v, %v; want incomplete", complete, err)
	}
}

// TestWatchEndsWithContext checks that Watch returns nil when its context
// ends, and at once for an ended context.
func TestWatchEndsWithContext(t *testing.T) {
	srv := redistest.Start(t)
	a := fresh(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	subscribed := make(chan struct{}, 1)
	go func() { done <- a.Watch(ctx, func() { subscribed <- struct{}{} }, func(portico.ChangeSet) {}) }()
	receive(t, subscribed, "subscription")
	cancel()
	if err := receive(t, done, "end of Watch"); err != nil {
		t.Errorf("Watch after cancel = %v, want nil", err)
	}
	if err := a.Watch(ctx, nil, nil); err != nil {
		t.Errorf("Watch with an ended context = %v, want nil", err)
	}
}

func TestChangesSince(t *testing.T) {
	const sets, logCap = 8, 5
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv, redisstore.WithLogCap(logCap))
	if _, complete, err := s.ChangesSince(ctx, 0); err != nil || !complete {
		t.Fatalf("ChangesSince(0) on an empty store = %v, %v; want complete", complete, err)
	}
	var applied [][]portico.Change
	for base := int64(0); base < sets; base++ {
		ch := []portico.Change{portico.Put(&portico.API{ID: fmt.Sprint("a", base), CreatedAt: storetest.At(int(base))})}
		if _, err := s.Apply(ctx, base, ch); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, ch)
	}
	if v, err := s.Version(ctx); err != nil || v != sets {
		t.Fatalf("Version = %d, %v; want %d", v, err, sets)
	}
	// The log keeps versions 4..8.
	for _, tc := range []struct {
		since    int64
		complete bool
		first    int64 // version of the first set returned, 0 for none
	}{
		{0, false, 0},
		{2, false, 0},
		{3, true, 4},
		{6, true, 7},
		{8, true, 0},
		{9, false, 0}, // ahead of the store: it lost its data
	} {
		got, complete, err := s.ChangesSince(ctx, tc.since)
		if err != nil || complete != tc.complete {
			t.Errorf("ChangesSince(%d) complete = %v, %v; want %v", tc.since, complete, err, tc.complete)
			continue
		}
		if tc.first == 0 {
			if len(got) != 0 {
				t.Errorf("ChangesSince(%d) = %d sets, want none", tc.since, len(got))
			}
			continue
		}
		if want := sets - tc.first + 1; int64(len(got)) != want {
			t.Fatalf("ChangesSince(%d) = %d sets, want %d", tc.since, len(got), want)
		}
		for i, cs := range got {
			v := tc.first + int64(i)
			if cs.Version != v || !reflect.DeepEqual(cs.Changes, applied[v-1]) {
				t.Errorf("ChangesSince(%d)[%d] = %+v, want version %d with %+v", tc.since, i, cs, v, applied[v-1])
			}
		}
	}
	if n, err := srv.Client(t).LLen(ctx, "portico:{"+s.Cluster()+"}:changes").Result(); err != nil || n != logCap {
		t.Errorf("log length = %d, %v; want %d", n, err, logCap)
	}
}
