package portico

import (
	"context"
	"time"
)

// Store persists the configuration: plans, APIs, users, applications, keys
// and subscriptions. The admin API is its only writer; every node reads it
// at start. Implementations are safe for concurrent use.
type Store interface {
	// Load reads the whole configuration and its version.
	Load(ctx context.Context) (*Config, error)

	// Apply writes changes atomically, in order, if the stored version is
	// still base, and returns the new version, base+1. When the stored
	// version differs it writes nothing and returns an EConflict error; an
	// unreachable store gives EUnavailable.
	Apply(ctx context.Context, base int64, changes []Change) (int64, error)
}

// NotificationStore keeps notifications for people.
type NotificationStore interface {
	// AddNotification stores n; n.ID and n.Time must be set.
	AddNotification(ctx context.Context, n *Notification) error

	// Notifications lists notifications matching f, newest first.
	Notifications(ctx context.Context, f NotificationFilter) ([]*Notification, error)
}

// NotificationFilter selects notifications. The zero value selects all.
type NotificationFilter struct {
	User   string    // when set, only those whose Publisher or Subscriber is this user ID
	Before time.Time // when set, only those older than this
	Limit  int       // at most this many; 0 means 100
}

// CounterState is the persisted state of one quota counter.
type CounterState struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"` // start of the counter's current period
	Count int64     `json:"count"`
}

// CounterStore persists quota counters so that a restart does not reset
// the quotas of a single node.
type CounterStore interface {
	LoadCounters(ctx context.Context) ([]CounterState, error)
	// SaveCounters replaces the stored state of the given counters.
	SaveCounters(ctx context.Context, cs []CounterState) error
}

// SettingStore keeps cluster-wide run-time settings, each a text (JSON)
// under a name such as "signup": every node that shares the store reads
// the same value. Implementations are safe for concurrent use.
type SettingStore interface {
	// Setting returns the value of setting name, "" when none was set.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting sets setting name to value.
	SetSetting(ctx context.Context, name, value string) error
}
