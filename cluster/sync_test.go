package cluster_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/cluster"
)

// startSync runs a Sync over f from an empty Config at version 0, or
// from nil when empty is false, and waits for the first subscription.
func startSync(t *testing.T, f *fakeStore, check time.Duration, empty bool) (*cluster.Sync, *portico.ConfigVar, *logBuffer, func() error) {
	t.Helper()
	cv := &portico.ConfigVar{}
	if empty {
		cv.Set(portico.NewConfig(), false)
	}
	log, lb := newLogger()
	s := &cluster.Sync{Store: f, Feed: f, Config: cv, CheckInterval: check, Logger: log}
	stop := run(t, s.Run)
	eventually(t, "subscription", func() bool { return f.activeSubs() == 1 })
	// The catch-up that follows the subscription has read the store (a
	// change set published from now on is not in its answer).
	eventually(t, "the first catch-up", func() bool {
		return f.get(func(f *fakeStore) int { return f.sinceCalls + f.loadCalls }) >= 1
	})
	return s, cv, lb, stop
}

func waitVersion(t *testing.T, cv *portico.ConfigVar, v int64) {
	t.Helper()
	eventually(t, "version "+plans(&portico.Config{Version: v}), func() bool {
		c := cv.Load()
		return c != nil && c.Version == v
	})
}

func TestSyncAppliesInOrder(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, time.Hour, true)
	f.publish("a")
	f.publish("b", "c")
	f.publish("d")
	waitVersion(t, cv, 3)
	if got, want := plans(cv.Load()), "v3 [a b c d]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	st := s.Stats()
	if st.Applied != 3 || st.Gaps != 0 || st.FullReloads != 0 || st.Ignored != 0 {
		t.Errorf("stats = %+v, want 3 applied and nothing else", st)
	}
}

func TestSyncIgnoresAppliedVersions(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, time.Hour, true)
	v1 := f.publish("a")
	v2 := f.publish("b")
	waitVersion(t, cv, 2)

	// This node's own admin write: stored, Set by the admin API, then
	// announced to every node, this one included.
	f.set(func(f *fakeStore) { f.drop = 1 })
	v3 := f.publish("own")
	cv.Set(cv.Load().With(v3.Version, v3.Changes...), false)
	f.deliver(v3)
	f.deliver(v1) // duplicates
	f.deliver(v2)
	f.publish("d")
	waitVersion(t, cv, 4)

	if got, want := plans(cv.Load()), "v4 [a b d own]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	st := s.Stats()
	if st.Applied != 3 || st.Ignored != 3 || st.Gaps != 0 || st.FullReloads != 0 {
		t.Errorf("stats = %+v, want 3 applied, 3 ignored", st)
	}
}

func TestSyncGapCatchesUp(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, time.Hour, true)
	calls := f.get(func(f *fakeStore) int { return f.sinceCalls })
	f.set(func(f *fakeStore) { f.drop = 2 })
	f.publish("a")
	f.publish("b")
	f.publish("c") // version 3 while the node is at 0
	waitVersion(t, cv, 3)
	if got, want := plans(cv.Load()), "v3 [a b c]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	if got := f.get(func(f *fakeStore) int { return f.sinceCalls }); got != calls+1 {
		t.Errorf("ChangesSince calls = %d, want %d", got, calls+1)
	}
	st := s.Stats()
	if st.Gaps != 1 || st.Applied != 3 || st.FullReloads != 0 {
		t.Errorf("stats = %+v, want 1 gap, 3 applied, no full reload", st)
	}
}

func TestSyncIncompleteLogLoadsInFull(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, time.Hour, true)
	f.set(func(f *fakeStore) { f.drop = 4; f.trimmed = 2 })
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		f.publish(p)
	}
	waitVersion(t, cv, 5)
	if got, want := plans(cv.Load()), "v5 [a b c d e]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	if st := s.Stats(); st.Gaps != 1 || st.FullReloads != 1 || st.Applied != 0 {
		t.Errorf("stats = %+v, want 1 gap, 1 full reload", st)
	}
	if got := f.get(func(f *fakeStore) int { return f.loadCalls }); got != 1 {
		t.Errorf("Load calls = %d, want 1", got)
	}
}

func TestSyncReconnectCatchesUp(t *testing.T) {
	f := newFakeStore()
	s, cv, lb, _ := startSync(t, f, time.Hour, true)
	f.set(func(f *fakeStore) { f.watchErrs = 3 })
	f.breakSubs()
	f.publish("missed") // nobody subscribed: not delivered
	eventually(t, "resubscription", func() bool { return f.activeSubs() == 1 })
	waitVersion(t, cv, 1)
	if got, want := plans(cv.Load()), "v1 [missed]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	if st := s.Stats(); st.Reconnects != 1 || st.Applied != 1 {
		t.Errorf("stats = %+v, want 1 reconnect, 1 applied", st)
	}
	// Four failures (the break and three refused subscriptions): one
	// warning, then one line when it is back.
	if n := lb.count("unreachable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, lb)
	}
	eventually(t, "recovery logged", func() bool { return lb.count("reachable again") == 1 })
}

func TestSyncPeriodicCheckCatchesLostPublish(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, 10*time.Millisecond, true)
	f.set(func(f *fakeStore) { f.drop = 1 })
	f.publish("lost")
	waitVersion(t, cv, 1)
	if st := s.Stats(); st.Behind < 1 || st.Applied != 1 || st.FullReloads != 0 {
		t.Errorf("stats = %+v, want the periodic check to apply it", st)
	}
}

func TestSyncLoadsWhenConfigNil(t *testing.T) {
	f := newFakeStore()
	f.publish("a")
	f.publish("b")
	s, cv, _, _ := startSync(t, f, time.Hour, false)
	waitVersion(t, cv, 2)
	if got, want := plans(cv.Load()), "v2 [a b]"; got != want {
		t.Errorf("config = %s, want %s", got, want)
	}
	if st := s.Stats(); st.FullReloads != 1 {
		t.Errorf("stats = %+v, want 1 full reload", st)
	}
}

func TestSyncStoreWentBack(t *testing.T) {
	f := newFakeStore()
	s, cv, lb, _ := startSync(t, f, 10*time.Millisecond, true)
	for _, p := range []string{"a", "b", "c"} {
		f.publish(p)
	}
	waitVersion(t, cv, 3)
	// Redis restarted without its data; a node writes again from version 0.
	f.set(func(f *fakeStore) { f.log = nil })
	f.publish("fresh")
	eventually(t, "the store's config", func() bool { return plans(cv.Load()) == "v1 [fresh]" })
	if st := s.Stats(); st.Rewinds != 1 {
		t.Errorf("stats = %+v, want 1 rewind", st)
	}
	if lb.count("went back") != 1 {
		t.Errorf("rewind not logged:\n%s", lb)
	}
}

func TestSyncConcurrentAdminWritesNeverGoBack(t *testing.T) {
	// The admin API of this node writes while change sets stream in: the
	// version only grows and the node ends with the store's config.
	f := newFakeStore()
	_, cv, _, _ := startSync(t, f, 5*time.Millisecond, true)
	var last int64
	cv.Watch(func(c *portico.Config) {
		if c.Version < last {
			t.Errorf("version went back from %d to %d", last, c.Version)
		}
		last = c.Version
	})
	ctx := context.Background()
	for i := range 100 {
		if i%3 == 0 {
			cur := cv.Load()
			ch := []portico.Change{portico.Put(&portico.Plan{ID: "own"})}
			if v, err := f.Apply(ctx, cur.Version, ch); err == nil {
				cv.Set(cur.With(v, ch...), false)
			}
			continue
		}
		f.publish("p")
	}
	want := int64(f.get(func(f *fakeStore) int { return len(f.log) }))
	waitVersion(t, cv, want)
}

func TestSyncStopsPromptly(t *testing.T) {
	t.Run("subscribed", func(t *testing.T) {
		f := newFakeStore()
		_, _, _, stop := startSync(t, f, time.Millisecond, true)
		if err := stop(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if n := f.activeSubs(); n != 0 {
			t.Errorf("%d subscriptions left after Run returned", n)
		}
	})
	t.Run("store down", func(t *testing.T) {
		f := newFakeStore()
		cv := &portico.ConfigVar{}
		s := &cluster.Sync{Store: f, Feed: f, Config: cv}
		f.set(func(f *fakeStore) { f.down = true })
		stop := run(t, s.Run)
		eventually(t, "a few attempts", func() bool { return f.get(func(f *fakeStore) int { return f.watchCalls }) >= 2 })
		if err := stop(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if cv.Load() != nil {
			t.Errorf("config set while the store was down")
		}
	})
}

func TestSyncNeedsFields(t *testing.T) {
	if err := (&cluster.Sync{}).Run(context.Background()); err == nil {
		t.Error("Run of an empty Sync succeeded")
	}
}

// restoringStore is a fakeStore that is also a cluster.Restorer: Restore
// puts a whole Config back into the empty log, at its version.
type restoringStore struct {
	*fakeStore
	restores []int64 // versions restored
}

func (r *restoringStore) Restore(ctx context.Context, c *portico.Config) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.log) != 0 {
		return false, nil
	}
	var puts []portico.Change
	for p := range c.Plans.Values() {
		puts = append(puts, portico.Put(p))
	}
	r.log = make([]portico.ChangeSet, c.Version)
	for i := range r.log {
		r.log[i] = portico.ChangeSet{Version: int64(i + 1)}
	}
	r.log[len(r.log)-1].Changes = puts
	r.trimmed = c.Version // the log holds nothing before the restore
	r.restores = append(r.restores, c.Version)
	return true, nil
}

func (r *restoringStore) restored() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.restores)
}

// members is a member list the test can change.
type members struct {
	mu    sync.Mutex
	nodes []portico.Node
}

func (m *members) Nodes(context.Context) ([]portico.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes), nil
}

func (m *members) set(nodes ...portico.Node) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = nodes
}

// TestSyncRestoresFromNewestNode: the store comes back empty while node a
// holds version 3 and node b lags at version 1. b must neither take the
// empty config nor restore its older one; a restores version 3 after the
// grace, and b then loads it. Each time the store empties again later,
// the grace starts over: nobody restores before it, not even while the
// member list is still empty (nodes not yet registered again).
func TestSyncRestoresFromNewestNode(t *testing.T) {
	f := &restoringStore{fakeStore: newFakeStore()}
	config := func(v int64, names ...string) *portico.ConfigVar {
		c := portico.NewConfig()
		for _, n := range names {
			c = c.With(c.Version, portico.Put(&portico.Plan{ID: n, Name: n}))
		}
		cv := &portico.ConfigVar{}
		cv.Set(c.With(v), false)
		return cv
	}
	nodes := &members{}
	nodes.set(portico.Node{Name: "a", Status: "up", ConfigVersion: 3}, portico.Node{Name: "b", Status: "up", ConfigVersion: 1})
	b := config(1, "p1")
	var wentBack atomic.Bool
	b.Watch(func(c *portico.Config) {
		if c.Version < 1 {
			wentBack.Store(true)
		}
	})
	logB, _ := newLogger()
	syncB := &cluster.Sync{Store: f, Feed: f, Config: b, CheckInterval: 10 * time.Millisecond, Logger: logB,
		Node: "b", Members: nodes, RestoreGrace: 100 * time.Millisecond}
	run(t, syncB.Run)
	time.Sleep(300 * time.Millisecond) // three graces (ten would let b take over from a silent a), thirty checks
	if got := f.restored(); len(got) != 0 {
		t.Fatalf("node b (version 1) restored %v while node a holds version 3", got)
	}
	if c := b.Load(); c.Version != 1 || wentBack.Load() {
		t.Fatalf("node b at version %d (went back: %v), want it to keep version 1", c.Version, wentBack.Load())
	}

	a := config(3, "p1", "p2", "p3")
	logA, _ := newLogger()
	syncA := &cluster.Sync{Store: f, Feed: f, Config: a, CheckInterval: 10 * time.Millisecond, Logger: logA,
		Node: "a", Members: nodes, RestoreGrace: 100 * time.Millisecond}
	run(t, syncA.Run)
	eventually(t, "node a's restore", func() bool { return len(f.restored()) == 1 })
	if got := f.restored(); got[0] != 3 {
		t.Fatalf("restored version %d, want 3", got[0])
	}
	waitVersion(t, b, 3)
	if got := plans(b.Load()); got != "v3 [p1 p2 p3]" || wentBack.Load() {
		t.Fatalf("node b has %s after the restore (went back: %v), want v3 [p1 p2 p3]", got, wentBack.Load())
	}
	if st := syncA.Stats(); st.Restores != 1 {
		t.Errorf("node a's stats = %+v, want 1 restore", st)
	}

	// Both at version 3 now; the store loses its data again, twice, and
	// the second time the member list is empty for a while, as right after
	// a Redis restart.
	nodes.set(portico.Node{Name: "a", Status: "up", ConfigVersion: 3}, portico.Node{Name: "b", Status: "up", ConfigVersion: 3})
	for round := 2; round <= 3; round++ {
		time.Sleep(50 * time.Millisecond) // several checks that see the store holding a config
		if round == 3 {
			nodes.set()
		}
		f.set(func(f *fakeStore) { f.log, f.trimmed = nil, 0 })
		emptied := time.Now()
		if round == 3 {
			time.Sleep(70 * time.Millisecond)
			nodes.set(portico.Node{Name: "a", Status: "up", ConfigVersion: 3}, portico.Node{Name: "b", Status: "up", ConfigVersion: 3})
		}
		eventually(t, "the next restore", func() bool { return len(f.restored()) == round })
		if took := time.Since(emptied); took < 100*time.Millisecond {
			t.Errorf("restore %d came %v after the store emptied, before the grace of 100 ms", round, took)
		}
		if got := f.restored(); got[round-1] != 3 {
			t.Errorf("restore %d of version %d, want 3", round, got[round-1])
		}
	}
}

// racyFeed is a fakeStore whose Head, once armed, has two more change
// sets published and applied before it returns the version it read: writes
// that land between the periodic check's read and its lock.
type racyFeed struct {
	*fakeStore
	mu    sync.Mutex
	armed bool
	cv    *portico.ConfigVar
}

func (r *racyFeed) Head(ctx context.Context) (int64, string, error) {
	v, id, err := r.fakeStore.Head(ctx)
	r.mu.Lock()
	armed := r.armed
	r.armed = false
	r.mu.Unlock()
	if armed {
		r.fakeStore.publish("late1")
		r.fakeStore.publish("late2")
		for r.cv.Load().Version < v+2 {
			time.Sleep(time.Millisecond)
		}
	}
	return v, id, err
}

// TestSyncCheckSeesNewerChangesAsNewer: change sets applied between the
// periodic check's read of the store's version and its lock make the node
// look ahead of the store; that must not cost a full reload (seconds at a
// million keys), only a fresh look at the version.
func TestSyncCheckSeesNewerChangesAsNewer(t *testing.T) {
	f := newFakeStore()
	cv := &portico.ConfigVar{}
	cv.Set(portico.NewConfig(), false)
	rf := &racyFeed{fakeStore: f, cv: cv}
	s := &cluster.Sync{Store: f, Feed: rf, Config: cv, CheckInterval: 20 * time.Millisecond}
	run(t, s.Run)
	eventually(t, "subscription", func() bool { return f.activeSubs() == 1 })
	f.publish("a")
	waitVersion(t, cv, 1)
	time.Sleep(50 * time.Millisecond)
	before := s.Stats().FullReloads
	rf.mu.Lock()
	rf.armed = true
	rf.mu.Unlock()
	waitVersion(t, cv, 3)
	time.Sleep(100 * time.Millisecond)
	if st := s.Stats(); st.FullReloads != before {
		t.Errorf("stats = %+v: %d full reload(s) although the node was never ahead of the store", st, st.FullReloads-before)
	}
}

// TestSyncReloadsWhenStoreDiverges: the store goes back to version 3 and,
// within one check interval, another node writes versions 4 and 5 again
// with other changes. This node, at 5 with its own 4 and 5, sees the
// store's head at 5 is another change set and reloads; without head IDs
// it kept its config forever and applied 6 on top of it.
func TestSyncReloadsWhenStoreDiverges(t *testing.T) {
	f := newFakeStore()
	s, cv, _, _ := startSync(t, f, 20*time.Millisecond, true)
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		f.publish(p)
	}
	waitVersion(t, cv, 5)
	f.set(func(f *fakeStore) { f.log = f.log[:3] }) // the store went back
	f.publish("x")                                  // writes of a node that took the store's version 3
	f.publish("y")
	eventually(t, "the node to take the store's config", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return plans(cv.Load()) == plans(f.configLocked())
	})
	f.publish("z")
	waitVersion(t, cv, 6)
	if got := plans(cv.Load()); got != "v6 [a b c x y z]" {
		t.Errorf("node config %s, want v6 [a b c x y z]", got)
	}
	if st := s.Stats(); st.Rewinds != 1 {
		t.Errorf("stats %+v, want 1 rewind", st)
	}
}

// TestSyncLogsOneFeedOutage: while subscribing keeps failing but the
// version checks succeed, the feed's outage is logged once, not again
// after every successful check.
func TestSyncLogsOneFeedOutage(t *testing.T) {
	f := newFakeStore()
	f.set(func(f *fakeStore) { f.watchErrs = 1 << 30 })
	cv := &portico.ConfigVar{}
	cv.Set(portico.NewConfig(), false)
	log, lb := newLogger()
	s := &cluster.Sync{Store: f, Feed: f, Config: cv, CheckInterval: 50 * time.Millisecond, Logger: log}
	run(t, s.Run)
	eventually(t, "several subscription attempts", func() bool { return f.get(func(f *fakeStore) int { return f.watchCalls }) >= 4 })
	if n := lb.count("unreachable"); n != 1 {
		t.Errorf("one feed outage logged %d times", n)
	}
}

// TestSyncDivergedPastNodeVersion: the store goes back to version 3 and
// another node writes 4, 5 and 6 before this node's check sees the store
// at its own version 5. The rewritten 5 carries another ID than the
// node's, and 6 names that other change set as its base: the node reloads
// instead of applying 6 on top of changes the store no longer has.
func TestSyncDivergedPastNodeVersion(t *testing.T) {
	f := newFakeStore()
	_, cv, _, _ := startSync(t, f, time.Hour, true) // no periodic check: the feed alone must tell
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		f.publish(p)
	}
	waitVersion(t, cv, 5)
	f.set(func(f *fakeStore) {
		f.log = f.log[:3]
		for _, p := range []string{"x", "y", "z"} {
			f.publishLocked([]portico.Change{portico.Put(&portico.Plan{ID: p, Name: p})})
		}
	})
	eventually(t, "the node to take the store's config", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return plans(cv.Load()) == plans(f.configLocked())
	})
}

// TestSyncDivergedAfterFullLoad: a node that loaded its config in full
// (every node at start) learns the store's head with it, so a store that
// goes back one version and is rewritten to the node's version with other
// changes is noticed by the periodic check.
func TestSyncDivergedAfterFullLoad(t *testing.T) {
	f := newFakeStore()
	for _, p := range []string{"a", "b", "c"} {
		f.publish(p)
	}
	_, cv, _, _ := startSync(t, f, 20*time.Millisecond, false) // nil Config: loaded in full
	waitVersion(t, cv, 3)
	f.set(func(f *fakeStore) {
		f.log = f.log[:2]
		f.log = append(f.log, portico.ChangeSet{Version: 3, ID: "rewritten", Prev: f.log[1].ID,
			Changes: []portico.Change{portico.Put(&portico.Plan{ID: "x", Name: "x"})}})
	})
	eventually(t, "the node to take the store's config", func() bool {
		return plans(cv.Load()) == "v3 [a b x]"
	})
}
