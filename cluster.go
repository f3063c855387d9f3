package portico

import "context"

// ChangeSet is what one Store.Apply wrote: the version it produced and its
// changes, in order.
type ChangeSet struct {
	Version int64 `json:"version"`
	// ID tells this change set from another that got the same version
	// (after the store went back); "" when the store gives none.
	ID string `json:"id,omitempty"`
	// Prev is the ID of the change set this one was applied on (its
	// version − 1); "" when the store gives none.
	Prev    string   `json:"prev,omitempty"`
	Changes []Change `json:"changes"`
}

// ChangeFeed announces the change sets applied to a shared data store, so
// that every node applies each one to its in-memory Config. Redis-backed
// stores implement it; the embedded store needs none.
type ChangeFeed interface {
	// Watch calls subscribed once the subscription is established, then
	// fn for each change set that any node applies, in publication order,
	// until ctx ends or the connection breaks, and returns the error (nil
	// only when ctx ended). Change sets published while no subscription
	// was established are not delivered: the caller catches up with
	// ChangesSince after subscribed is called.
	Watch(ctx context.Context, subscribed func(), fn func(ChangeSet)) error

	// ChangesSince returns the change sets after version, oldest first.
	// complete is false when the store's log no longer holds all of them;
	// the caller then reloads the whole Config with Store.Load.
	ChangesSince(ctx context.Context, version int64) (sets []ChangeSet, complete bool, err error)

	// Version returns the store's current config version.
	Version(ctx context.Context) (int64, error)
}

// Registry keeps the membership of a cluster in a shared data store.
type Registry interface {
	Membership

	// Heartbeat records that n is alive, with its current facts. A node
	// that has not heartbeaten for the store's expiry (a few seconds) is
	// listed as down and then dropped.
	Heartbeat(ctx context.Context, n Node) error

	// Leave removes the node named name at once (clean shutdown).
	Leave(ctx context.Context, name string) error
}
