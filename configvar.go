package portico

import (
	"sync"
	"sync/atomic"
)

// ConfigVar holds a node's current Config and tells watchers when a newer
// one is set. Readers on the request path call Load, which never blocks.
// The zero value holds nil until the first Set.
type ConfigVar struct {
	cur      atomic.Pointer[Config]
	mu       sync.Mutex // serializes Set and the watchers it runs
	watchers []func(*Config)
}

// Load returns the current Config, or nil before the first Set.
func (v *ConfigVar) Load() *Config { return v.cur.Load() }

// Set makes c current if it is newer than the current Config (or if there
// is none, or force is true) and then runs every watcher with c, in the
// order they were added, before returning. It reports whether c was set.
func (v *ConfigVar) Set(c *Config, force bool) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old := v.cur.Load(); old != nil && !force && c.Version <= old.Version {
		return false
	}
	// A Config loaded in full gets its index here, before anyone uses it,
	// so that the Configs derived from it by With keep it up to date
	// instead of each building it again.
	c.index()
	v.cur.Store(c)
	for _, w := range v.watchers {
		w(c)
	}
	return true
}

// Watch adds fn to the watchers. If a Config is already set, fn is first
// run with it.
func (v *ConfigVar) Watch(fn func(*Config)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.watchers = append(v.watchers, fn)
	if c := v.cur.Load(); c != nil {
		fn(c)
	}
}
