package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

var errDown = errors.New("fake: data store down")

// fakeStore is an in-memory portico.Store and portico.ChangeFeed whose
// pub/sub can drop messages, break, refuse to subscribe, trim its log and
// lose its data.
type fakeStore struct {
	mu        sync.Mutex
	log       []portico.ChangeSet // log[i] has version i+1
	trimmed   int64               // ChangesSince(v) with v < trimmed is incomplete
	subs      map[int]*fakeSub
	nextSub   int
	drop      int  // publishes not to deliver
	watchErrs int  // Watch calls to fail at once
	down      bool // every call fails

	ids                                             int // change set IDs given
	watchCalls, sinceCalls, loadCalls, versionCalls int
}

type fakeSub struct {
	ch     chan portico.ChangeSet
	broken chan struct{}
}

var (
	_ portico.Store      = (*fakeStore)(nil)
	_ portico.ChangeFeed = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore { return &fakeStore{subs: map[int]*fakeSub{}} }

func (f *fakeStore) Watch(ctx context.Context, subscribed func(), fn func(portico.ChangeSet)) error {
	f.mu.Lock()
	f.watchCalls++
	if f.down || f.watchErrs > 0 {
		if f.watchErrs > 0 {
			f.watchErrs--
		}
		f.mu.Unlock()
		return errDown
	}
	id := f.nextSub
	f.nextSub++
	sub := &fakeSub{ch: make(chan portico.ChangeSet, 100), broken: make(chan struct{})}
	f.subs[id] = sub
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}()
	subscribed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.broken:
			return errors.New("fake: connection broken")
		case cs := <-sub.ch:
			fn(cs)
		}
	}
}

func (f *fakeStore) ChangesSince(ctx context.Context, version int64) ([]portico.ChangeSet, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sinceCalls++
	if f.down {
		return nil, false, errDown
	}
	if version < f.trimmed {
		return nil, false, nil
	}
	if version >= int64(len(f.log)) {
		return nil, true, nil
	}
	return slices.Clone(f.log[version:]), true, nil
}

func (f *fakeStore) Version(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versionCalls++
	if f.down {
		return 0, errDown
	}
	return int64(len(f.log)), nil
}

// Head implements cluster.Header.
func (f *fakeStore) Head(ctx context.Context) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versionCalls++
	if f.down {
		return 0, "", errDown
	}
	if len(f.log) == 0 {
		return 0, "", nil
	}
	return int64(len(f.log)), f.log[len(f.log)-1].ID, nil
}

func (f *fakeStore) Load(ctx context.Context) (*portico.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loadCalls++
	if f.down {
		return nil, errDown
	}
	return f.configLocked(), nil
}

func (f *fakeStore) configLocked() *portico.Config {
	c := portico.NewConfig()
	for _, cs := range f.log {
		c = c.With(cs.Version, cs.Changes...)
	}
	return c
}

func (f *fakeStore) Apply(ctx context.Context, base int64, changes []portico.Change) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if base != int64(len(f.log)) {
		return 0, portico.Errorf(portico.EConflict, "version is %d", len(f.log))
	}
	return f.publishLocked(changes).Version, nil
}

// publish appends a change set putting the named plans and delivers it,
// unless drop says otherwise.
func (f *fakeStore) publish(plans ...string) portico.ChangeSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	var changes []portico.Change
	for _, p := range plans {
		changes = append(changes, portico.Put(&portico.Plan{ID: p, Name: p}))
	}
	return f.publishLocked(changes)
}

func (f *fakeStore) publishLocked(changes []portico.Change) portico.ChangeSet {
	f.ids++
	cs := portico.ChangeSet{Version: int64(len(f.log)) + 1, ID: fmt.Sprint("cs", f.ids), Changes: changes}
	if len(f.log) > 0 {
		cs.Prev = f.log[len(f.log)-1].ID
	}
	f.log = append(f.log, cs)
	if f.drop > 0 {
		f.drop--
		return cs
	}
	f.deliverLocked(cs)
	return cs
}

// deliver sends cs to every subscriber, whatever the log holds.
func (f *fakeStore) deliver(cs portico.ChangeSet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliverLocked(cs)
}

func (f *fakeStore) deliverLocked(cs portico.ChangeSet) {
	for _, s := range f.subs {
		s.ch <- cs
	}
}

// breakSubs breaks every subscription.
func (f *fakeStore) breakSubs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, s := range f.subs {
		close(s.broken)
		delete(f.subs, id)
	}
}

func (f *fakeStore) set(fn func(f *fakeStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeStore) get(fn func(f *fakeStore) int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn(f)
}

func (f *fakeStore) activeSubs() int { return f.get(func(f *fakeStore) int { return len(f.subs) }) }

// fakeRegistry is an in-memory portico.Registry.
type fakeRegistry struct {
	mu       sync.Mutex
	nodes    map[string]portico.Node
	attempts int // Heartbeat calls, failed ones included
	down     bool
	left     []string
	leaveErr error // ctx.Err() seen by Leave
}

var _ portico.Registry = (*fakeRegistry)(nil)

func newFakeRegistry() *fakeRegistry { return &fakeRegistry{nodes: map[string]portico.Node{}} }

func (r *fakeRegistry) Heartbeat(ctx context.Context, n portico.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.down {
		return errDown
	}
	n.LastSeen = time.Now()
	r.nodes[n.Name] = n
	return nil
}

func (r *fakeRegistry) Nodes(ctx context.Context) ([]portico.Node, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return nil, errDown
	}
	return slices.Collect(maps.Values(r.nodes)), nil
}

func (r *fakeRegistry) Leave(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.left = append(r.left, name)
	r.leaveErr = ctx.Err()
	delete(r.nodes, name)
	return nil
}

func (r *fakeRegistry) put(n portico.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[n.Name] = n
}

func (r *fakeRegistry) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *fakeRegistry) attemptsSoFar() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// eventually polls cond until it holds or 5 s have passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	var lb logBuffer
	return slog.New(slog.NewTextHandler(&lb, &slog.HandlerOptions{Level: slog.LevelDebug})), &lb
}

// run starts fn in a goroutine and returns a stop function that cancels
// its context and fails the test unless fn returns within a second.
func run(t *testing.T, fn func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(time.Second):
				t.Errorf("Run did not return within 1s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func plans(c *portico.Config) string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("v%d %v", c.Version, slices.Sorted(maps.Keys(c.Plans.Map())))
}
