package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/portico-gw/portico"
)

// memStore is an in-memory portico.Store. Everything it takes and gives is
// a deep copy, as with a real store. It can be down, and it can pretend
// that another node wrote first.
type memStore struct {
	mu  sync.Mutex
	cfg *portico.Config

	down      bool             // every call fails with EUnavailable
	fail      error            // when set, Apply fails with it
	conflicts int              // the next n Applys find another node wrote first
	foreign   []portico.Change // what that other node wrote, each time
	applies   int              // successful Applys
}

var _ portico.Store = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{cfg: portico.NewConfig()} }

// storeWith returns a memStore holding a copy of cfg.
func storeWith(cfg *portico.Config) *memStore { return &memStore{cfg: clone(cfg)} }

func (m *memStore) Load(ctx context.Context) (*portico.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, portico.Errorf(portico.EUnavailable, "memstore is down")
	}
	return clone(m.cfg), nil
}

func (m *memStore) Apply(ctx context.Context, base int64, changes []portico.Change) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return 0, portico.Errorf(portico.EUnavailable, "memstore is down")
	}
	if m.fail != nil {
		return 0, m.fail
	}
	if m.conflicts > 0 {
		m.conflicts--
		m.cfg = m.cfg.With(m.cfg.Version+1, clone(m.foreign)...)
	}
	if base != m.cfg.Version {
		return 0, portico.Errorf(portico.EConflict, "stored version is %d, not %d", m.cfg.Version, base)
	}
	m.cfg = m.cfg.With(m.cfg.Version+1, clone(changes)...)
	m.applies++
	return m.cfg.Version, nil
}

// set changes the store's state under its lock.
func (m *memStore) set(fn func(m *memStore)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(m)
}

// snapshot returns a copy of the stored Config.
func (m *memStore) snapshot() *portico.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return clone(m.cfg)
}

// clone deep-copies v through JSON.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// memNotes is an in-memory portico.NotificationStore.
type memNotes struct {
	mu    sync.Mutex
	items []*portico.Notification
}

var _ portico.NotificationStore = (*memNotes)(nil)

func (n *memNotes) AddNotification(ctx context.Context, x *portico.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.items = append(n.items, clone(x))
	return nil
}

func (n *memNotes) Notifications(ctx context.Context, f portico.NotificationFilter) ([]*portico.Notification, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	var out []*portico.Notification
	for _, x := range slices.Backward(n.items) {
		if f.User != "" && x.Publisher != f.User && x.Subscriber != f.User {
			continue
		}
		if !f.Before.IsZero() && !x.Time.Before(f.Before) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, clone(x))
	}
	return out, nil
}

// nodes is a fixed portico.Membership.
type nodes []portico.Node

func (n nodes) Nodes(ctx context.Context) ([]portico.Node, error) { return slices.Clone(n), nil }
