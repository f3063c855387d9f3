package redisstore_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
)

// TestRestore: an empty store takes a whole Config at its version, in one
// step; a store holding anything refuses; of concurrent restores exactly
// one wins; no staging hash is left behind.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	cfg := portico.NewConfig().With(41, storetest.Entities()...)
	for i := range 2500 { // more than one staging chunk
		k := &portico.Key{ID: "bulk" + strconv.Itoa(i), ApplicationID: "a", Hash: portico.HashKey(strconv.Itoa(i))}
		cfg = cfg.With(cfg.Version, portico.Put(k))
	}
	cfg = cfg.With(42)

	const racers = 4
	var wins, refusals int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			ok, err := s.Restore(ctx, cfg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins++
			} else {
				refusals++
			}
		})
	}
	wg.Wait()
	if wins != 1 || refusals != racers-1 {
		t.Fatalf("%d restores won and %d were refused; want 1 and %d", wins, refusals, racers-1)
	}
	storetest.Equal(t, storetest.Load(t, s), cfg)
	if v, err := s.Version(ctx); err != nil || v != 42 {
		t.Fatalf("Version = %d, %v; want 42", v, err)
	}
	if keys := srv.Client(t).Keys(ctx, "*restore*").Val(); len(keys) != 0 {
		t.Fatalf("staging keys left: %v", keys)
	}

	// A store with anything in it is not empty: no restore over it.
	other := fresh(t, srv)
	if _, err := other.Apply(ctx, 0, []portico.Change{portico.Put(&portico.Plan{ID: "p", Name: "p"})}); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.Restore(ctx, cfg); ok || err != nil {
		t.Fatalf("Restore over a non-empty store = %v, %v; want false, nil", ok, err)
	}
	if got := storetest.Load(t, other); got.Version != 1 || got.Len() != 1 {
		t.Fatalf("non-empty store changed: version %d, %d entities", got.Version, got.Len())
	}
	if keys := srv.Client(t).Keys(ctx, "*restore*").Val(); len(keys) != 0 {
		t.Fatalf("staging keys left after a refusal: %v", keys)
	}
}
