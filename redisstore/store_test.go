package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
	"github.com/portico-gw/portico/redisstore"
)

// clusters numbers the cluster names of a test binary, so that every
// store of a shared redis-server starts empty.
var clusters atomic.Int64

// open opens a store of cluster on srv, closed when t ends.
func open(t testing.TB, srv *redistest.Server, cluster string, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), srv.URL(), cluster, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fresh opens a store of a new cluster on srv.
func fresh(t testing.TB, srv *redistest.Server, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	return open(t, srv, fmt.Sprintf("test%d", clusters.Add(1)), opts...)
}

func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	o := func(t *testing.T) portico.Store { return fresh(t, srv) }
	storetest.Run(t, o)
	storetest.RunReopen(t, o, func(t *testing.T, s portico.Store) portico.Store {
		rs := s.(*redisstore.Store)
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		return open(t, srv, rs.Cluster())
	})
	storetest.RunTokens(t,
		func(t *testing.T) portico.TokenStore { return fresh(t, srv) },
		func(t *testing.T, s portico.TokenStore) portico.TokenStore {
			rs := s.(*redisstore.Store)
			if err := rs.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, srv, rs.Cluster())
		})
	storetest.RunDocuments(t,
		func(t *testing.T) portico.DocumentStore { return fresh(t, srv) },
		func(t *testing.T, s portico.DocumentStore) portico.DocumentStore {
			rs := s.(*redisstore.Store)
			if err := rs.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, srv, rs.Cluster())
		})
	storetest.RunSettings(t,
		func(t *testing.T) portico.SettingStore { return fresh(t, srv) },
		func(t *testing.T, s portico.SettingStore) portico.SettingStore {
			rs := s.(*redisstore.Store)
			if err := rs.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, srv, rs.Cluster())
		})
}

func TestKeysUnderPrefix(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := open(t, srv, "blue")
	if _, err := s.Apply(ctx, 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, portico.Node{Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNotification(ctx, &portico.Notification{ID: "x", Time: storetest.At(0), Publisher: "u1"}); err != nil {
		t.Fatal(err)
	}
	storetest.PutToken(t, s, storetest.NewToken("t", time.Now(), time.Hour))
	keys, err := srv.Client(t).Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 10 {
		t.Errorf("keys = %v, want the version, the log, 6 kinds, membership, notifications, a token", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "portico:{blue}:") {
			t.Errorf("key %q is outside the cluster's prefix", k)
		}
	}
}

func TestClustersAreSeparate(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	x, y := open(t, srv, "x"), open(t, srv, "y")
	if _, err := x.Apply(ctx, 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}
	if err := x.Heartbeat(ctx, portico.Node{Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := x.AddNotification(ctx, &portico.Notification{ID: "x", Time: storetest.At(0)}); err != nil {
		t.Fatal(err)
	}
	storetest.Equal(t, storetest.Load(t, y), portico.NewConfig())
	if nodes, err := y.Nodes(ctx); err != nil || len(nodes) != 0 {
		t.Errorf("y.Nodes = %v, %v; want none", nodes, err)
	}
	if ns, err := y.Notifications(ctx, portico.NotificationFilter{}); err != nil || len(ns) != 0 {
		t.Errorf("y.Notifications = %v, %v; want none", ns, err)
	}
	if v, err := y.Apply(ctx, 0, nil); err != nil || v != 1 {
		t.Errorf("y.Apply(0) = %d, %v; want 1 (its own version)", v, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	for _, tc := range []struct {
		url, cluster string
		code         portico.ErrorCode
	}{
		{"http://" + srv.Addr, "c", portico.EInvalid},
		{srv.URL(), "a{b}", portico.EInvalid},
		{"redis://127.0.0.1:1/0", "c", portico.EUnavailable},
	} {
		s, err := redisstore.Open(ctx, tc.url, tc.cluster)
		if portico.ErrorCodeOf(err) != tc.code {
			t.Errorf("Open(%q, %q) = %v, want %s", tc.url, tc.cluster, err, tc.code)
		}
		if s != nil {
			s.Close()
		}
	}
	_, err := redisstore.Open(ctx, "redis://ann:s3cret@127.0.0.1:1/notanumber", "c")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open with a bad URL = %v; want an error without the password", err)
	}
	s, err := redisstore.Open(ctx, srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Cluster() != "default" {
		t.Errorf("Cluster() = %q, want default", s.Cluster())
	}
}

// TestUnavailable checks that writes and reads fail with EUnavailable, not
// silently, while Redis is down, and work again once it is back.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	if _, err := s.Apply(ctx, 0, storetest.Entities()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for name, f := range map[string]func() error{
		"Apply": func() error {
			_, err := s.Apply(ctx, 1, []portico.Change{portico.Delete(portico.KindKey, "key1")})
			return err
		},
		"Load":            func() error { _, err := s.Load(ctx); return err },
		"Version":         func() error { _, err := s.Version(ctx); return err },
		"ChangesSince":    func() error { _, _, err := s.ChangesSince(ctx, 0); return err },
		"Heartbeat":       func() error { return s.Heartbeat(ctx, portico.Node{Name: "n"}) },
		"Nodes":           func() error { _, err := s.Nodes(ctx); return err },
		"Leave":           func() error { return s.Leave(ctx, "n") },
		"AddNotification": func() error { return s.AddNotification(ctx, &portico.Notification{ID: "n", Time: time.Now()}) },
		"Notifications":   func() error { _, err := s.Notifications(ctx, portico.NotificationFilter{}); return err },
		"PutToken":        func() error { return s.PutToken(ctx, storetest.NewToken("t", time.Now(), time.Hour)) },
		"Token":           func() error { _, err := s.Token(ctx, portico.HashKey("ptk_t")); return err },
		"DeleteToken":     func() error { return s.DeleteToken(ctx, portico.HashKey("ptk_t")) },
	} {
		t0 := time.Now()
		err := f()
		t.Logf("%s failed in %v", name, time.Since(t0).Round(time.Millisecond))
		if portico.ErrorCodeOf(err) != portico.EUnavailable || portico.ErrorMessageOf(err) != "the data store is unreachable" {
			t.Errorf("%s while Redis is down = %v, want EUnavailable", name, err)
		}
	}

	// Without persistence the restarted Redis is empty: the store starts
	// over at version 0 (nodes detect this with ChangesSince and reload).
	srv.Start()
	start := time.Now()
	for {
		_, err := s.Version(ctx)
		if err == nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("still failing 5 s after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("reconnected %v after Redis came back", time.Since(start).Round(time.Millisecond))
	if _, complete, err := s.ChangesSince(ctx, 1); err != nil || complete {
		t.Errorf("ChangesSince(1) on an emptied Redis = %v, %v; want incomplete", complete, err)
	}
	if v, err := s.Apply(ctx, 0, storetest.Entities()); err != nil || v != 1 {
		t.Fatalf("Apply after restart = %d, %v; want 1, nil", v, err)
	}
}

// TestApplyScriptReloaded checks that Apply works after Redis forgot its
// scripts (SCRIPT FLUSH, as after a restart).
func TestApplyScriptReloaded(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	if _, err := s.Apply(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client(t).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Apply(ctx, 1, nil); err != nil || v != 2 {
		t.Fatalf("Apply after SCRIPT FLUSH = %d, %v; want 2, nil", v, err)
	}
}

// TestLoadWhileChanging loads a config of 20,000 keys (4 HSCAN calls)
// while a writer keeps changing it, and checks that every Load equals the
// config at the version it reports: the scan plus the log's replay give
// a consistent version.
func TestLoadWhileChanging(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv)
	cfg := portico.NewConfig()
	var seed []portico.Change
	for i := range 20_000 {
		seed = append(seed, portico.Put(&portico.Key{ID: fmt.Sprint("k", i), ApplicationID: "a"}))
	}
	v, err := s.Apply(ctx, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.With(v, seed...)
	var mu sync.Mutex
	byVersion := map[int64]*portico.Config{v: cfg}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			ch := portico.Put(&portico.Key{ID: fmt.Sprint("k", i*7%20_000), ApplicationID: fmt.Sprint("b", i)})
			if i%3 == 0 {
				ch = portico.Delete(portico.KindKey, fmt.Sprint("k", i*11%20_000))
			}
			nv, err := s.Apply(ctx, cfg.Version, []portico.Change{ch})
			if err != nil {
				t.Error(err)
				return
			}
			cfg = cfg.With(nv, ch)
			mu.Lock()
			byVersion[nv] = cfg
			mu.Unlock()
		}
	}()
	loads := 0
	for running := true; running; loads++ {
		select {
		case <-done:
			running = false
		default:
		}
		got := storetest.Load(t, s)
		var want *portico.Config
		for wait := 0; want == nil && wait < 100; wait++ { // the writer records a version just after Apply returns
			mu.Lock()
			want = byVersion[got.Version]
			mu.Unlock()
			if want == nil {
				time.Sleep(time.Millisecond)
			}
		}
		if want == nil {
			t.Fatalf("Load returned version %d, which the writer never reached", got.Version)
		}
		storetest.Equal(t, got, want)
	}
	t.Logf("%d consistent loads while 2,000 changes were applied", loads)
}

// cutProxy forwards TCP connections to a Redis; when armed, it forwards
// the next EVALSHA to Redis (which runs the script) and then cuts that
// connection before the reply reaches the client: a reply lost in the
// network.
type cutProxy struct {
	l     net.Listener
	to    string
	armed atomic.Bool
	cuts  atomic.Int64
}

func startCutProxy(t *testing.T, to string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &cutProxy{l: l, to: to}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *cutProxy) handle(c net.Conn) {
	defer c.Close()
	r, err := net.Dial("tcp", p.to)
	if err != nil {
		return
	}
	defer r.Close()
	var cut atomic.Bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 && !cut.Load() {
				c.Write(buf[:n])
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if bytes.Contains(bytes.ToLower(buf[:n]), []byte("evalsha")) && p.armed.CompareAndSwap(true, false) {
				cut.Store(true)
				r.Write(buf[:n])
				time.Sleep(100 * time.Millisecond) // Redis runs the script
				p.cuts.Add(1)
				return
			}
			r.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// openThroughCut opens a store of cluster "c" on a new Redis through a
// cutProxy, in replicated mode (as through Sentinel) if asked.
func openThroughCut(t *testing.T, replicated bool) (*redisstore.Store, *cutProxy, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	p := startCutProxy(t, srv.Addr)
	s, err := redisstore.Open(context.Background(), "redis://"+p.l.Addr().String()+"/0", "c")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if replicated {
		redisstore.SetReplicated(s)
	}
	return s, p, srv
}

// applyFirst applies the plan "first" on an empty store and returns the
// version.
func applyFirst(t *testing.T, s *redisstore.Store) int64 {
	t.Helper()
	v, err := s.Apply(context.Background(), 0, []portico.Change{portico.Put(&portico.Plan{ID: "first", Name: "first"})})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// applyReplyLost applies the plan "mine" on version v with the proxy armed
// to cut the connection after the script ran, and fails the test unless
// exactly one connection was cut and Apply answered v+1.
func applyReplyLost(t *testing.T, s *redisstore.Store, p *cutProxy, v int64) {
	t.Helper()
	p.armed.Store(true)
	v2, err := s.Apply(context.Background(), v, []portico.Change{portico.Put(&portico.Plan{ID: "mine", Name: "mine"})})
	if p.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.cuts.Load())
	}
	if err != nil || v2 != v+1 {
		t.Fatalf("Apply whose first reply was lost = %d, %v; want %d, nil", v2, err, v+1)
	}
}

// TestApplyReplyLost: the connection breaks after Redis ran Apply's
// script; go-redis sends it again on a new connection. The second run
// recognises its change set and Apply succeeds once — no conflict for its
// own change, which made the admin API create an entity twice.
func TestApplyReplyLost(t *testing.T) {
	s, p, _ := openThroughCut(t, false)
	ctx := context.Background()
	v := applyFirst(t, s)
	applyReplyLost(t, s, p, v)
	c, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != v+1 || c.Plans.Get("mine") == nil || c.Plans.Len() != 2 {
		t.Errorf("store after the retried Apply: version %d, %d plans", c.Version, c.Plans.Len())
	}
	if _, err := s.Apply(ctx, v, []portico.Change{portico.Put(&portico.Plan{ID: "other", Name: "other"})}); portico.ErrorCodeOf(err) != portico.EConflict {
		t.Errorf("another change set at the same base: %v, want a conflict", err)
	}
}

// TestApplyReplyLostPinned: through Sentinel, Apply runs its script and
// its WAIT on one pinned connection, which go-redis cannot retry on; a
// reply lost there is retried by Apply itself, on a new connection with
// the same change set ID, and recognised.
func TestApplyReplyLostPinned(t *testing.T) {
	s, p, _ := openThroughCut(t, true)
	v := applyFirst(t, s)
	applyReplyLost(t, s, p, v)
	c, err := s.Load(context.Background())
	if err != nil || c.Version != v+1 || c.Plans.Len() != 2 {
		t.Errorf("store after the retried Apply: %v, %v", c, err)
	}
}

// TestApplyOwnChangeAfterOthers: Apply's reply is lost and another
// writer applies the next version before the retry; the retry finds its
// change set in the log behind the other one and answers success (with
// its own version) instead of a conflict for a change it made.
func TestApplyOwnChangeAfterOthers(t *testing.T) {
	s, p, srv := openThroughCut(t, true) // Apply's own retry, 100 ms after the failure
	ctx := context.Background()
	other := open(t, srv, "c")
	v := applyFirst(t, s)
	wrote := make(chan error, 1)
	go func() {
		for i := 0; p.cuts.Load() == 0 && i < 5000; i++ {
			time.Sleep(time.Millisecond)
		}
		_, err := other.Apply(ctx, v+1, []portico.Change{portico.Put(&portico.Plan{ID: "theirs", Name: "theirs"})})
		wrote <- err
	}()
	p.armed.Store(true)
	mine, err := s.Apply(ctx, v, []portico.Change{portico.Put(&portico.Plan{ID: "mine", Name: "mine"})})
	if werr := <-wrote; werr != nil {
		t.Fatalf("the other writer: %v", werr)
	}
	if err != nil || mine != v+1 {
		t.Errorf("Apply whose reply was lost, then followed by another writer = %d, %v; want %d, nil", mine, err, v+1)
	}
	c, err := s.Load(ctx)
	if err != nil || c.Version != v+2 || c.Plans.Len() != 3 {
		t.Errorf("store: %v, %v; want version %d with 3 plans", c, err, v+2)
	}
}

// TestApplyOutOfMemory: a Redis at maxmemory (noeviction) refuses Apply's
// script at its first write, before PUBLISH: nothing is announced that
// the store does not hold.
func TestApplyOutOfMemory(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := fresh(t, srv)
	if _, err := s.Apply(ctx, 0, []portico.Change{portico.Put(&portico.Plan{ID: "p0", Name: "p"})}); err != nil {
		t.Fatal(err)
	}
	got := make(chan portico.ChangeSet, 10)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subscribed := make(chan struct{})
	go s.Watch(wctx, func() { close(subscribed) }, func(cs portico.ChangeSet) { got <- cs })
	<-subscribed
	rc := srv.Client(t)
	if err := rc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	_, aerr := s.Apply(ctx, 1, []portico.Change{portico.Put(&portico.Plan{ID: "p1", Name: "p"})})
	if err := rc.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if aerr == nil {
		t.Fatal("Apply succeeded at maxmemory")
	}
	// A change set published now would arrive before this one.
	if _, err := s.Apply(ctx, 1, []portico.Change{portico.Put(&portico.Plan{ID: "p2", Name: "p"})}); err != nil {
		t.Fatal(err)
	}
	select {
	case cs := <-got:
		if cs.Version != 2 || cs.Changes[0].ID != "p2" {
			t.Errorf("first change set published after the refused Apply: version %d, %s; want the next Apply's", cs.Version, cs.Changes[0].ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change set published within 5 s")
	}
}

// TestApplyPublishRefused: a Redis 7 ACL user may write the cluster's keys
// but not publish on its channel. Apply fails and writes nothing: the
// refused PUBLISH comes before any write.
func TestApplyPublishRefused(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client(t).Do(ctx, "ACL", "SETUSER", "portico", "on", ">pw", "~portico:*", "resetchannels", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	s, err := redisstore.Open(ctx, fmt.Sprintf("redis://portico:pw@%s/0", srv.Addr), "c")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, aerr := s.Apply(ctx, 0, []portico.Change{portico.Put(&portico.Plan{ID: "p", Name: "p"})})
	if aerr == nil || !strings.Contains(aerr.Error(), "publish") {
		t.Errorf("Apply without channel permission: %v, want an error about publishing", aerr)
	}
	c, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 0 || c.Len() != 0 {
		t.Errorf("the refused Apply wrote version %d with %d entities", c.Version, c.Len())
	}
}

// TestHead: Head reads the version with the ID of the change set that made
// it, as published; a restored store has no head.
func TestHead(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := fresh(t, srv)
	if v, id, err := s.Head(ctx); v != 0 || id != "" || err != nil {
		t.Errorf("empty store: Head = %d %q %v", v, id, err)
	}
	var got []portico.ChangeSet
	var mu sync.Mutex
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subscribed := make(chan struct{})
	go s.Watch(wctx, func() { close(subscribed) }, func(cs portico.ChangeSet) {
		mu.Lock()
		got = append(got, cs)
		mu.Unlock()
	})
	<-subscribed
	for i := range 2 {
		if _, err := s.Apply(ctx, int64(i), []portico.Change{portico.Put(&portico.Plan{ID: fmt.Sprint("p", i), Name: "p"})}); err != nil {
			t.Fatal(err)
		}
	}
	v, id, err := s.Head(ctx)
	if v != 2 || len(id) != 16 || err != nil {
		t.Fatalf("Head = %d %q %v", v, id, err)
	}
	sets, _, err := s.ChangesSince(ctx, 0)
	if err != nil || len(sets) != 2 || sets[1].ID != id || sets[0].ID == id || sets[0].ID == "" {
		t.Errorf("change log %+v %v; head %q", sets, err, id)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 2 || got[1].ID != id {
		t.Errorf("published %+v; head %q", got, id)
	}
	mu.Unlock()

	cfg, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Client(t).FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Restore(ctx, cfg); !ok || err != nil {
		t.Fatalf("Restore = %v %v", ok, err)
	}
	if v, id, err := s.Head(ctx); v != 2 || id != "" || err != nil {
		t.Errorf("restored store: Head = %d %q %v, want 2 and no ID", v, id, err)
	}
}
