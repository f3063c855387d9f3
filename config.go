package portico

import (
	"maps"
	"sort"
	"strings"
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
}

// Put returns a Change that creates or replaces entity e, which must be one
// of *Plan, *API, *User, *Application, *Key or *Subscription.
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
	}
	panic("portico.Put: not an entity")
}

// Delete returns a Change that removes the entity of kind k with id.
func Delete(k Kind, id string) Change { return Change{Kind: k, ID: id, Delete: true} }

// Config is the whole configuration at one version. A Config is immutable
// once published: never change its maps or the entities they point to;
// With returns a changed copy instead.
type Config struct {
	Version       int64
	Plans         map[string]*Plan
	APIs          map[string]*API
	Users         map[string]*User
	Applications  map[string]*Application
	Keys          map[string]*Key
	Subscriptions map[string]*Subscription
}

// NewConfig returns an empty Config at version 0.
func NewConfig() *Config {
	return &Config{
		Plans:         map[string]*Plan{},
		APIs:          map[string]*API{},
		Users:         map[string]*User{},
		Applications:  map[string]*Application{},
		Keys:          map[string]*Key{},
		Subscriptions: map[string]*Subscription{},
	}
}

// With returns a copy of c at version with changes applied. Only the maps of
// the kinds that changed are copied; entities are shared.
func (c *Config) With(version int64, changes ...Change) *Config {
	n := *c
	n.Version = version
	copied := map[Kind]bool{}
	for _, ch := range changes {
		if !copied[ch.Kind] {
			copied[ch.Kind] = true
			switch ch.Kind {
			case KindPlan:
				n.Plans = maps.Clone(n.Plans)
			case KindAPI:
				n.APIs = maps.Clone(n.APIs)
			case KindUser:
				n.Users = maps.Clone(n.Users)
			case KindApplication:
				n.Applications = maps.Clone(n.Applications)
			case KindKey:
				n.Keys = maps.Clone(n.Keys)
			case KindSubscription:
				n.Subscriptions = maps.Clone(n.Subscriptions)
			}
		}
		n.apply(ch)
	}
	return &n
}

// apply applies ch to c's maps in place; c must own them.
func (c *Config) apply(ch Change) {
	switch ch.Kind {
	case KindPlan:
		setOrDelete(c.Plans, ch.ID, ch.Plan, ch.Delete)
	case KindAPI:
		setOrDelete(c.APIs, ch.ID, ch.API, ch.Delete)
	case KindUser:
		setOrDelete(c.Users, ch.ID, ch.User, ch.Delete)
	case KindApplication:
		setOrDelete(c.Applications, ch.ID, ch.Application, ch.Delete)
	case KindKey:
		setOrDelete(c.Keys, ch.ID, ch.Key, ch.Delete)
	case KindSubscription:
		setOrDelete(c.Subscriptions, ch.ID, ch.Subscription, ch.Delete)
	}
}

func setOrDelete[T any](m map[string]*T, id string, v *T, del bool) {
	if del || v == nil {
		delete(m, id)
		return
	}
	m[id] = v
}

// UserByName returns the user with username name, or nil.
func (c *Config) UserByName(name string) *User {
	for _, u := range c.Users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

// APIByContext returns the API with context path ctx, or nil.
func (c *Config) APIByContext(ctx string) *API {
	for _, a := range c.APIs {
		if a.Context == ctx {
			return a
		}
	}
	return nil
}

// Sorted returns the values of m ordered by creation time, then ID: the
// stable order of admin API lists.
func Sorted[T any](m map[string]*T, created func(*T) (int64, string)) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
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
