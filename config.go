package portico

import (
	"sort"
	"strings"
	"sync/atomic"
)

// Kind names a kind of configuration entity.
type Kind string

// Entity kinds.
const (
	KindPlan         Kind = "plan"
	KindAPI          Kind = "api"
	KindUser         Kind = "user"
	KindApplication  Kind = "application"
	KindKey          Kind = "key"
	KindSubscription Kind = "subscription"
	KindGroup        Kind = "group"
)

// Change puts or deletes one entity. Exactly one of the entity fields is
// set for a put; for a delete only Kind and ID count.
type Change struct {
	Kind         Kind          `json:"kind"`
	ID           string        `json:"id"`
	Delete       bool          `json:"delete,omitempty"`
	Plan         *Plan         `json:"plan,omitempty"`
	API          *API          `json:"api,omitempty"`
	User         *User         `json:"user,omitempty"`
	Application  *Application  `json:"application,omitempty"`
	Key          *Key          `json:"key,omitempty"`
	Subscription *Subscription `json:"subscription,omitempty"`
	Group        *Group        `json:"group,omitempty"`
}

// Put returns a Change that creates or replaces entity e, which must be one
// of *Plan, *API, *User, *Application, *Key, *Subscription or *Group.
func Put(e any) Change {
	switch v := e.(type) {
	case *Plan:
		return Change{Kind: KindPlan, ID: v.ID, Plan: v}
	case *API:
		return Change{Kind: KindAPI, ID: v.ID, API: v}
	case *User:
		return Change{Kind: KindUser, ID: v.ID, User: v}
	case *Application:
		return Change{Kind: KindApplication, ID: v.ID, Application: v}
	case *Key:
		return Change{Kind: KindKey, ID: v.ID, Key: v}
	case *Subscription:
		return Change{Kind: KindSubscription, ID: v.ID, Subscription: v}
	case *Group:
		return Change{Kind: KindGroup, ID: v.ID, Group: v}
	}
	panic("portico.Put: not an entity")
}

// Delete returns a Change that removes the entity of kind k with id.
func Delete(k Kind, id string) Change { return Change{Kind: k, ID: id, Delete: true} }

// Config is the whole configuration at one version. A Config is immutable
// once published: never change the entities its tables point to; With
// returns a changed copy instead. Its tables are persistent maps, so a copy
// with a few changes costs time and memory in proportion to the changes,
// not to the size of the configuration.
type Config struct {
	Version       int64
	Plans         Table[Plan]
	APIs          Table[API]
	Users         Table[User]
	Applications  Table[Application]
	Keys          Table[Key]
	Subscriptions Table[Subscription]
	Groups        Table[Group]

	// ix holds lookups by reference (KeysOf, UserByName, …): built on
	// first use, then derived change by change by With.
	ix atomic.Pointer[index]
}

// NewConfig returns an empty Config at version 0.
func NewConfig() *Config { return &Config{} }

// With returns a copy of c at version with changes applied. Entities are
// shared, and so is every part of the tables that did not change.
func (c *Config) With(version int64, changes ...Change) *Config {
	n := &Config{
		Version: version, Plans: c.Plans, APIs: c.APIs, Users: c.Users,
		Applications: c.Applications, Keys: c.Keys, Subscriptions: c.Subscriptions, Groups: c.Groups,
	}
	ix := c.ix.Load()
	if ix != nil {
		cp := *ix
		ix = &cp
	}
	for _, ch := range changes {
		switch ch.Kind {
		case KindPlan:
			old := n.Plans.Get(ch.ID)
			n.Plans = put(n.Plans, ch.ID, ch.Plan, ch.Delete)
			ix.plan(ch.ID, old, n.Plans.Get(ch.ID))
		case KindAPI:
			old := n.APIs.Get(ch.ID)
			n.APIs = put(n.APIs, ch.ID, ch.API, ch.Delete)
			ix.api(ch.ID, old, n.APIs.Get(ch.ID))
		case KindUser:
			old := n.Users.Get(ch.ID)
			n.Users = put(n.Users, ch.ID, ch.User, ch.Delete)
			ix.user(old, n.Users.Get(ch.ID))
		case KindApplication:
			old := n.Applications.Get(ch.ID)
			n.Applications = put(n.Applications, ch.ID, ch.Application, ch.Delete)
			ix.application(ch.ID, old, n.Applications.Get(ch.ID))
		case KindKey:
			old := n.Keys.Get(ch.ID)
			n.Keys = put(n.Keys, ch.ID, ch.Key, ch.Delete)
			ix.key(ch.ID, old, n.Keys.Get(ch.ID))
		case KindSubscription:
			old := n.Subscriptions.Get(ch.ID)
			n.Subscriptions = put(n.Subscriptions, ch.ID, ch.Subscription, ch.Delete)
			ix.subscription(ch.ID, old, n.Subscriptions.Get(ch.ID))
		case KindGroup:
			old := n.Groups.Get(ch.ID)
			n.Groups = put(n.Groups, ch.ID, ch.Group, ch.Delete)
			ix.group(ch.ID, old, n.Groups.Get(ch.ID))
		}
	}
	if ix != nil {
		n.ix.Store(ix)
	}
	return n
}

func put[T any](t Table[T], id string, v *T, del bool) Table[T] {
	if del {
		return t.Without(id)
	}
	return t.With(id, v)
}

// Len returns the number of entities of all kinds.
func (c *Config) Len() int {
	return c.Plans.Len() + c.APIs.Len() + c.Users.Len() + c.Applications.Len() + c.Keys.Len() + c.Subscriptions.Len() + c.Groups.Len()
}

// UserByName returns the user with username name, in any case, or nil.
func (c *Config) UserByName(name string) *User {
	return c.index().usersByName.Get(strings.ToLower(name))
}

// KeysOf returns the keys of application app.
func (c *Config) KeysOf(app string) Table[Key] { return inner(c.index().keysByApp, app) }

// SubscriptionsOf returns the subscriptions of application app.
func (c *Config) SubscriptionsOf(app string) Table[Subscription] {
	return inner(c.index().subsByApp, app)
}

// SubscriptionsTo returns the subscriptions to API api.
func (c *Config) SubscriptionsTo(api string) Table[Subscription] {
	return inner(c.index().subsByAPI, api)
}

// ApplicationsOf returns the applications owned by user owner.
func (c *Config) ApplicationsOf(owner string) Table[Application] {
	return inner(c.index().appsByOwner, owner)
}

// APIByContext returns the API with context path ctx, or nil.
func (c *Config) APIByContext(ctx string) *API { return c.index().apiByCtx.Get(ctx) }

// APIsUnder returns the APIs whose context lies under path ctx, segment by
// segment: "/a/b" and "/a/b/c" lie under "/a", "/ab" does not.
func (c *Config) APIsUnder(ctx string) Table[API] { return inner(c.index().apisUnder, ctx) }

// Sorted returns the values of t ordered by creation time, then ID: the
// stable order of admin API lists.
func Sorted[T any](t Table[T], created func(*T) (int64, string)) []*T {
	out := make([]*T, 0, t.Len())
	for v := range t.Values() {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		ti, ii := created(out[i])
		tj, ij := created(out[j])
		if ti != tj {
			return ti < tj
		}
		return ii < ij
	})
	return out
}
