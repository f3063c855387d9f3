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

// TestLoadAcrossRestores loads while the store is emptied and restored
// over and over with one of two configs of the same version: HSCAN's
// cursor means nothing across such a restart, and the versions match, so
// only the epoch tells Load to scan again. Every Load must return one of
// the two configs whole, never a mix.
func TestLoadAcrossRestores(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	configs := make([]*portico.Config, 2)
	for c := range configs {
		keys := map[string]*portico.Key{}
		for i := range 20_000 {
			id := "k" + strconv.Itoa(i*(c+1)) // half the IDs differ between the two
			keys[id] = &portico.Key{ID: id, ApplicationID: "app" + strconv.Itoa(c)}
		}
		configs[c] = &portico.Config{Version: 7, Keys: portico.TableOf(keys)}
	}
	rdb := srv.Client(t)
	if ok, err := s.Restore(ctx, configs[0]); !ok || err != nil {
		t.Fatal(ok, err)
	}
	done, stop := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for i := range 30 {
			select {
			case <-stop:
				return
			default:
			}
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Error(err)
				return
			}
			if ok, err := s.Restore(ctx, configs[(i+1)%2]); !ok || err != nil {
				t.Error(ok, err)
				return
			}
		}
	}()
	loads, failed := 0, 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		got, err := s.Load(ctx)
		if err != nil {
			failed++ // three scans in a row crossed a restore: an error, never a mix
			continue
		}
		loads++
		if got.Len() == 0 {
			continue // loaded between a flush and a restore: empty, which Sync knows how to treat
		}
		a, b := contentsEqual(got, configs[0]), contentsEqual(got, configs[1])
		if !a && !b {
			t.Fatalf("Load %d returned a mix of two configs: %d keys at version %d", loads, got.Keys.Len(), got.Version)
		}
	}
	t.Logf("%d loads across 30 restores, %d gave up after three tries", loads, failed)
	if loads == 0 {
		t.Fatal("no Load succeeded")
	}
}

func contentsEqual(a, b *portico.Config) bool {
	if a.Version != b.Version || a.Keys.Len() != b.Keys.Len() {
		return false
	}
	for id, k := range b.Keys.All() {
		if got := a.Keys.Get(id); got == nil || got.ApplicationID != k.ApplicationID {
			return false
		}
	}
	return true
}

// TestLoadGivesOldStoresAnEpoch: a store written before epochs existed
// loads as before and gets an epoch on the way.
func TestLoadGivesOldStoresAnEpoch(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	if _, err := s.Apply(ctx, 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}
	rdb := srv.Client(t)
	keys := rdb.Keys(ctx, "*:epoch").Val()
	if len(keys) != 1 {
		t.Fatalf("epoch keys after the first write: %v, want one", keys)
	}
	rdb.Del(ctx, keys[0])
	storetest.Equal(t, storetest.Load(t, s), portico.NewConfig().With(1, storetest.Entities()...))
	if n := rdb.Exists(ctx, keys[0]).Val(); n != 1 {
		t.Fatal("Load did not give the store an epoch")
	}
}
