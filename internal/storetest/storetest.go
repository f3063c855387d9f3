// Package storetest is the contract that every portico.Store must pass:
// the embedded store and the Redis store run the same suite, so that the
// admin API and the nodes behave the same on both. RunTokens is the
// contract of portico.TokenStore, the admin API's bearer tokens.
//
// Use it from a store's tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) portico.Store { return openEmpty(t) })
//	}
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// Opener returns a new, empty store for one test, and arranges for it to
// be closed when t ends.
type Opener func(t *testing.T) portico.Store

// Reopener closes s and returns a store on the same backing data (the same
// file, the same Redis and cluster name), closed when t ends.
type Reopener func(t *testing.T, s portico.Store) portico.Store

// Run runs the contract suite, each case as a subtest on a store of its
// own from open.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Opener)
	}{
		{"LoadEmpty", testLoadEmpty},
		{"RoundTrip", testRoundTrip},
		{"TimesUTC", testTimesUTC},
		{"VersionIncrements", testVersionIncrements},
		{"ConflictWritesNothing", testConflictWritesNothing},
		{"BadChangesWriteNothing", testBadChangesWriteNothing},
		{"Delete", testDelete},
		{"Order", testOrder},
		{"ConcurrentApply", testConcurrentApply},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open) })
	}
}

// RunReopen checks that what one store wrote loads, and can be changed
// further, through the store that reopen returns.
func RunReopen(t *testing.T, open Opener, reopen Reopener) {
	t.Run("Reopen", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		changes := Entities()
		apply(t, s, 0, changes...)
		s = reopen(t, s)
		want := portico.NewConfig().With(1, changes...)
		Equal(t, Load(t, s), want)
		del := portico.Delete(portico.KindKey, "key1")
		if v, err := s.Apply(ctx, 1, []portico.Change{del}); err != nil || v != 2 {
			t.Fatalf("Apply after reopen = %d, %v; want 2, nil", v, err)
		}
		Equal(t, Load(t, s), want.With(2, del))
	})
}

// At returns a UTC time with nanoseconds, which round-trips exactly.
func At(sec int) time.Time {
	return time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC).Add(time.Duration(sec) * time.Second)
}

// Entities returns one fully populated entity of every kind, as puts, all
// times in UTC.
func Entities() []portico.Change {
	revoked := At(9)
	return []portico.Change{
		portico.Put(&portico.Plan{
			ID: "plan1", Name: "gold", Description: "the gold plan",
			RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Second, Window: portico.Fixed,
				Resources: []portico.ResourceLimit{{Pattern: "POST /orders", Limit: 5, Per: portico.Minute, Window: portico.Rolling}}},
			Quota:            &portico.Quota{Limit: 100000, Per: portico.Month, Mode: portico.Soft, Threshold: 80},
			AutoApprove:      true,
			OnDatastoreError: portico.DatastoreClosed,
			Owner:            "user1",
			CreatedAt:        At(0), UpdatedAt: At(1),
		}),
		portico.Put(&portico.API{
			ID: "api1", Name: "weather", Version: "v1", Context: "/weather/v1", Description: "forecasts",
			Visibility: portico.Partner, State: portico.Published, Auth: portico.AuthMethods{portico.AuthAPIKey},
			Groups: []string{"group1"},
			Endpoint: portico.Endpoint{Type: portico.LoadBalancer, Algorithm: portico.WeightedRoundRobin,
				Targets: []portico.Target{{URL: "http://10.0.0.5:7001", Weight: 3}, {URL: "http://10.0.0.6:7001/base", Weight: 1}}},
			Plans:     []string{"plan1"},
			Timeouts:  portico.Timeouts{Connect: portico.Duration(1500 * time.Millisecond), Response: portico.Duration(time.Minute)},
			Owner:     "user1",
			CreatedAt: At(2), UpdatedAt: At(3),
		}),
		portico.Put(&portico.User{
			ID: "user1", Username: "ann", Email: "ann@example.com",
			Roles:      []portico.Role{portico.RolePublisher, portico.RoleSubscriber},
			WebhookURL: "https://example.com/hook", PasswordHash: "$argon2id$v=19$...", Internal: true,
			CreatedAt: At(4), UpdatedAt: At(5),
		}),
		portico.Put(&portico.Application{
			ID: "app1", Name: "ann-app", Description: "ann's app", Owner: "user1",
			CreatedAt: At(6), UpdatedAt: At(7),
		}),
		portico.Put(&portico.Key{
			ID: "key1", ApplicationID: "app1", Prefix: "pk_1a2b", Hash: portico.HashKey("pk_1a2b-secret"),
			CreatedAt: At(8), RevokedAt: &revoked,
		}),
		portico.Put(&portico.Subscription{
			ID: "sub1", ApplicationID: "app1", APIID: "api1", PlanID: "plan1", Status: portico.Approved,
			CreatedAt: At(10), UpdatedAt: At(11),
		}),
		portico.Put(&portico.Group{
			ID: "group1", Name: "partners", Description: "our partners", Members: []string{"user1"},
			CreatedAt: At(12), UpdatedAt: At(13),
		}),
	}
}

// Load loads s's configuration or fails the test.
func Load(t testing.TB, s portico.Store) *portico.Config {
	t.Helper()
	c, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Equal fails the test unless got and want are deeply equal.
func Equal(t testing.TB, got, want *portico.Config) {
	t.Helper()
	if g, w := contents(got), contents(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("config differs\n got %+v\nwant %+v", g, w)
	}
}

// configContents is a Config as plain maps, which compare by content
// (two Tables with the same entries can differ in layout).
type configContents struct {
	Version       int64
	Plans         map[string]*portico.Plan
	APIs          map[string]*portico.API
	Users         map[string]*portico.User
	Applications  map[string]*portico.Application
	Keys          map[string]*portico.Key
	Subscriptions map[string]*portico.Subscription
	Groups        map[string]*portico.Group
}

func contents(c *portico.Config) configContents {
	return configContents{c.Version, c.Plans.Map(), c.APIs.Map(), c.Users.Map(), c.Applications.Map(), c.Keys.Map(), c.Subscriptions.Map(), c.Groups.Map()}
}

// apply applies changes at base and fails the test unless it gives base+1.
func apply(t testing.TB, s portico.Store, base int64, changes ...portico.Change) {
	t.Helper()
	if v, err := s.Apply(context.Background(), base, changes); err != nil || v != base+1 {
		t.Fatalf("Apply(base %d) = %d, %v; want %d, nil", base, v, err, base+1)
	}
}

func testLoadEmpty(t *testing.T, open Opener) {
	Equal(t, Load(t, open(t)), portico.NewConfig())
}

func testRoundTrip(t *testing.T, open Opener) {
	s := open(t)
	changes := Entities()
	apply(t, s, 0, changes...)
	want := portico.NewConfig().With(1, changes...)
	Equal(t, Load(t, s), want)
	for _, m := range []int{want.Plans.Len(), want.APIs.Len(), want.Users.Len(), want.Applications.Len(), want.Keys.Len(), want.Subscriptions.Len(), want.Groups.Len()} {
		if m != 1 {
			t.Fatalf("fixture does not cover every kind: %+v", want)
		}
	}

	// A replaced entity loads as the new one.
	p := *want.Plans.Get("plan1")
	p.Name, p.RateLimit, p.UpdatedAt = "platinum", nil, At(20)
	apply(t, s, 1, portico.Put(&p))
	Equal(t, Load(t, s), want.With(2, portico.Put(&p)))
}

// testTimesUTC checks that a UTC time keeps its instant and its location.
func testTimesUTC(t *testing.T, open Opener) {
	s := open(t)
	now := time.Now().UTC()
	apply(t, s, 0, portico.Put(&portico.Application{ID: "a", CreatedAt: now, UpdatedAt: now}))
	a := Load(t, s).Applications.Get("a")
	if !a.CreatedAt.Equal(now) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v", a.CreatedAt, now)
	}
}

func testVersionIncrements(t *testing.T, open Opener) {
	s := open(t)
	for base := int64(0); base < 5; base++ {
		var changes []portico.Change
		if base > 0 { // the first Apply has no changes: it still counts
			changes = []portico.Change{portico.Put(&portico.Plan{ID: fmt.Sprint("p", base), CreatedAt: At(int(base))})}
		}
		apply(t, s, base, changes...)
		if v := Load(t, s).Version; v != base+1 {
			t.Fatalf("Load after Apply(base %d) has version %d, want %d", base, v, base+1)
		}
	}
}

func testConflictWritesNothing(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	apply(t, s, 0, Entities()...)
	before := Load(t, s)
	for _, base := range []int64{0, 2, -1} {
		v, err := s.Apply(ctx, base, []portico.Change{
			portico.Put(&portico.Plan{ID: "plan2", Name: "silver"}),
			portico.Delete(portico.KindAPI, "api1"),
		})
		if v != 0 || portico.ErrorCodeOf(err) != portico.EConflict {
			t.Fatalf("Apply(base %d) = %d, %v; want EConflict", base, v, err)
		}
		if !strings.Contains(portico.ErrorMessageOf(err), "version 1") {
			t.Errorf("message %q does not name the stored version", portico.ErrorMessageOf(err))
		}
	}
	Equal(t, Load(t, s), before)
}

func testBadChangesWriteNothing(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	ok := portico.Put(&portico.Plan{ID: "ok"})
	for name, ch := range map[string]portico.Change{
		"unknown kind":         {Kind: "widget", ID: "w", Delete: true},
		"unknown kind put":     {Kind: "widget", ID: "w"},
		"no id":                portico.Delete(portico.KindPlan, ""),
		"no entity":            {Kind: portico.KindAPI, ID: "api1"},
		"entity of wrong kind": {Kind: portico.KindAPI, ID: "p", Plan: &portico.Plan{ID: "p"}},
		"mismatched id":        {Kind: portico.KindPlan, ID: "p", Plan: &portico.Plan{ID: "q"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Apply(ctx, 0, []portico.Change{ok, ch})
			if err == nil || portico.ErrorCodeOf(err) != portico.EInternal {
				t.Fatalf("Apply = %v, want an internal error", err)
			}
			Equal(t, Load(t, s), portico.NewConfig())
		})
	}
}

func testDelete(t *testing.T, open Opener) {
	s := open(t)
	changes := Entities()
	apply(t, s, 0, changes...)
	want := portico.NewConfig().With(1, changes...)

	// Deleting every entity, and one that does not exist, leaves nothing.
	var dels []portico.Change
	for _, ch := range changes {
		dels = append(dels, portico.Delete(ch.Kind, ch.ID))
	}
	dels = append(dels, portico.Delete(portico.KindKey, "no-such-key"))
	apply(t, s, 1, dels...)
	want = want.With(2, dels...)
	if n := want.Len(); n != 0 {
		t.Fatal("With kept deleted entities")
	}
	Equal(t, Load(t, s), want)
}

// testOrder checks that the changes of one Apply apply in order: put then
// delete removes, delete then put keeps, the last of two puts wins.
func testOrder(t *testing.T, open Opener) {
	s := open(t)
	p, q := &portico.Plan{ID: "p", CreatedAt: At(0)}, &portico.Plan{ID: "q", CreatedAt: At(0)}
	r1, r2 := &portico.Plan{ID: "r", Name: "first", CreatedAt: At(0)}, &portico.Plan{ID: "r", Name: "second", CreatedAt: At(0)}
	seq := []portico.Change{
		portico.Put(p), portico.Delete(portico.KindPlan, "p"),
		portico.Delete(portico.KindPlan, "q"), portico.Put(q),
		portico.Put(r1), portico.Put(r2),
	}
	apply(t, s, 0, seq...)
	got := Load(t, s)
	Equal(t, got, portico.NewConfig().With(1, seq...))
	if got.Plans.Get("p") != nil || got.Plans.Get("q") == nil || got.Plans.Get("r").Name != "second" {
		t.Fatalf("plans = %v, want q and the second r", got.Plans.Map())
	}
}

// testConcurrentApply races writers on each base version: exactly one wins
// per base, the others get EConflict, and only the winners' changes load.
func testConcurrentApply(t *testing.T, open Opener) {
	const writers, rounds = 6, 4
	s := open(t)
	ctx := context.Background()
	want := portico.NewConfig()
	for base := int64(0); base < rounds; base++ {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []portico.Change
		)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch := portico.Put(&portico.Plan{ID: fmt.Sprintf("p%d-%d", base, w), CreatedAt: At(w)})
				v, err := s.Apply(ctx, base, []portico.Change{ch})
				switch {
				case err == nil && v == base+1:
					mu.Lock()
					winners = append(winners, ch)
					mu.Unlock()
				case portico.ErrorCodeOf(err) != portico.EConflict:
					t.Errorf("Apply(base %d) = %d, %v; want success or EConflict", base, v, err)
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("base %d: %d winners, want exactly 1", base, len(winners))
		}
		want = want.With(base+1, winners...)
	}
	Equal(t, Load(t, s), want)
}
