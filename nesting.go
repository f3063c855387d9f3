package portico

import (
	"cmp"
	"strings"
)

// Nesting is how one API context relates to another, path segment by
// segment: "/a/b" lies under "/a", "/ab" does not.
type Nesting int

// Nestings.
const (
	Apart Nesting = iota // neither lies under the other
	Same                 // the same path
	Under                // the first lies under the second: "/a/b/c" under "/a/b"
	Over                 // the second lies under the first
)

// NestingOf returns how context ctx relates to context other.
func NestingOf(ctx, other string) Nesting {
	switch {
	case ctx == other:
		return Same
	case strings.HasPrefix(ctx, other) && ctx[len(other)] == '/':
		return Under
	case strings.HasPrefix(other, ctx) && other[len(ctx)] == '/':
		return Over
	}
	return Apart
}

// ContextClash is an API whose context clashes with the one being checked.
type ContextClash struct {
	API     *API    // the other API
	Nesting Nesting // how the checked context relates to the other's: Same, Under or Over
}

// ContextClash returns an API of c whose context clashes with a's, or nil.
// Two contexts clash when they are the same, whoever owns the APIs, and
// when one lies under the other while the APIs have different owners: the
// gateway routes each request to the API with the longest matching
// context, so an API under another owner's would receive part of that
// owner's traffic (keys, tokens, bodies), and one over it the rest of its
// paths. An owner may nest its own APIs; allowNested lets a nest with other
// owners' APIs too (front ends let only admins ask for it). An API that
// keeps its context and its owner (an edit of other fields) is not checked
// again, so nesting allowed once, or stored before this rule, stays.
//
// The check does not scan the APIs: it looks up each path a's context lies
// under (one lookup per segment) and walks the APIs that lie under a's
// context (APIsUnder, one lookup and that group). Of several clashes it
// returns the same context first, then the shortest context a lies under,
// then the earliest created API under a.
func (c *Config) ContextClash(a *API, allowNested bool) *ContextClash {
	if old := c.APIs.Get(a.ID); old != nil && old.Context == a.Context && old.Owner == a.Owner {
		return nil
	}
	if o := c.APIByContext(a.Context); o != nil && o.ID != a.ID {
		return &ContextClash{API: o, Nesting: Same}
	}
	if allowNested {
		return nil
	}
	var clash *ContextClash
	ancestors(a.Context, func(p string) {
		if o := c.APIByContext(p); clash == nil && o != nil && o.ID != a.ID && o.Owner != a.Owner {
			clash = &ContextClash{API: o, Nesting: Under}
		}
	})
	if clash != nil {
		return clash
	}
	for o := range c.APIsUnder(a.Context).Values() {
		if o.ID == a.ID || o.Owner == a.Owner {
			continue
		}
		if clash == nil || cmp.Or(o.CreatedAt.Compare(clash.API.CreatedAt), strings.Compare(o.ID, clash.API.ID)) < 0 {
			clash = &ContextClash{API: o, Nesting: Over}
		}
	}
	return clash
}
