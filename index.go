package portico

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// index holds the lookups by reference that a Config's tables do not give
// directly. Its tables are persistent like the Config's: With derives the
// index of the new Config from the old one in time proportional to the
// changes, and a Config that was built another way (a store's Load)
// builds its index in full on first use.
type index struct {
	usersByName Table[User]                // by lower-case username
	keysByApp   Table[Table[Key]]          // application ID → its keys
	subsByApp   Table[Table[Subscription]] // application ID → its subscriptions
	subsByAPI   Table[Table[Subscription]] // API ID → subscriptions to it
	appsByOwner Table[Table[Application]]  // user ID → applications
	apiByCtx    Table[API]                 // by context path
	apisUnder   Table[Table[API]]          // context path → APIs whose context lies under it
	groupByName Table[Group]               // by lower-case name
	groupsOf    Table[Table[Group]]        // user ID → the groups it is a member of
	apisByName  Table[Table[API]]          // apiNameKey → the APIs of that name and version
	plansOf     Table[Table[Plan]]         // user ID → the plans it owns
}

// index returns c's index, building it on first use.
func (c *Config) index() *index {
	if ix := c.ix.Load(); ix != nil {
		return ix
	}
	ix := &index{}
	var wg sync.WaitGroup // the parts are independent: build them in parallel
	wg.Go(func() {
		users := make(map[string]*User, c.Users.Len())
		for u := range c.Users.Values() {
			users[lowerName(u)] = u
		}
		ix.usersByName = TableOf(users)
	})
	wg.Go(func() { ix.keysByApp = groupBy(c.Keys, func(k *Key) string { return k.ApplicationID }) })
	wg.Go(func() {
		ix.subsByApp = groupBy(c.Subscriptions, func(s *Subscription) string { return s.ApplicationID })
	})
	wg.Go(func() { ix.subsByAPI = groupBy(c.Subscriptions, func(s *Subscription) string { return s.APIID }) })
	wg.Go(func() { ix.appsByOwner = groupBy(c.Applications, func(a *Application) string { return a.Owner }) })
	wg.Go(func() { ix.apiByCtx, ix.apisUnder = contextIndex(c.APIs) })
	wg.Go(func() { ix.groupByName, ix.groupsOf = groupIndex(c.Groups) })
	wg.Go(func() { ix.apisByName = groupBy(c.APIs, apiNameKey) })
	wg.Go(func() { ix.plansOf = groupBy(c.Plans, ownerOfPlan) })
	wg.Wait()
	if c.ix.CompareAndSwap(nil, ix) {
		return ix
	}
	return c.ix.Load()
}

// groupBy returns the entries of t grouped into one Table per value of
// outer. It sorts instead of using maps (several times faster for a
// million entries), and carves the groups' entries, leaves and Tables out
// of slabs: a million small groups cost a handful of allocations, not
// millions. (Tables never change a node in place, so sharing a slab's
// backing array is safe.)
func groupBy[T any](t Table[T], outer func(*T) string) Table[Table[T]] {
	type item struct {
		h uint64 // of k
		k string
		e tentry[T]
	}
	items := make([]item, 0, t.Len())
	t.root.each(func(e *tentry[T]) bool {
		k := outer(e.val)
		items = append(items, item{hashKey(k), k, *e})
		return true
	})
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return strings.Compare(a.k, b.k)
	})
	slab := make([]tentry[T], len(items))
	for i := range items {
		slab[i] = items[i].e
	}
	var leaves []tnode[T]
	var tables []Table[T]
	var entries []tentry[Table[T]]
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && items[j].h == items[i].h && items[j].k == items[i].k {
			j++
		}
		g := slab[i:j:j]
		var root *tnode[T]
		if len(g) <= leafMax {
			if len(leaves) == cap(leaves) {
				leaves = make([]tnode[T], 0, 4096)
			}
			leaves = append(leaves, tnode[T]{entries: g})
			root = &leaves[len(leaves)-1]
		} else {
			root, _ = build(g, 0)
		}
		if len(tables) == cap(tables) {
			tables = make([]Table[T], 0, 4096)
		}
		tables = append(tables, Table[T]{root: root, n: len(g)})
		entries = append(entries, tentry[Table[T]]{items[i].h, items[i].k, &tables[len(tables)-1]})
		i = j
	}
	if len(entries) == 0 {
		return Table[Table[T]]{}
	}
	return tableOf(entries)
}

// contextIndex returns the APIs of t by context and, for every context
// path that has APIs below it, those APIs. An API whose context has k
// segments is in k-1 groups of the second table: contexts have few
// segments, so this costs a few entries per API and turns "which APIs lie
// under this path" into one lookup.
func contextIndex(t Table[API]) (byCtx Table[API], under Table[Table[API]]) {
	ctxs := make(map[string]*API, t.Len())
	groups := map[string]map[string]*API{}
	for id, a := range t.All() {
		if o := ctxs[a.Context]; o == nil || id < o.ID { // two APIs with one context: only in damaged data; pick one, always the same
			ctxs[a.Context] = a
		}
		ancestors(a.Context, func(p string) {
			g := groups[p]
			if g == nil {
				g = map[string]*API{}
				groups[p] = g
			}
			g[id] = a
		})
	}
	tables := make(map[string]*Table[API], len(groups))
	for p, g := range groups {
		in := TableOf(g)
		tables[p] = &in
	}
	return TableOf(ctxs), TableOf(tables)
}

// groupIndex returns the groups of t by lower-case name and, for every
// user that is a member of some, those groups.
func groupIndex(t Table[Group]) (byName Table[Group], of Table[Table[Group]]) {
	names := make(map[string]*Group, t.Len())
	members := map[string]map[string]*Group{}
	for id, g := range t.All() {
		if o := names[lowerGroup(g)]; o == nil || id < o.ID { // two groups with one name: only in damaged data; pick one, always the same
			names[lowerGroup(g)] = g
		}
		for _, u := range g.Members {
			m := members[u]
			if m == nil {
				m = map[string]*Group{}
				members[u] = m
			}
			m[id] = g
		}
	}
	tables := make(map[string]*Table[Group], len(members))
	for u, m := range members {
		in := TableOf(m)
		tables[u] = &in
	}
	return TableOf(names), TableOf(tables)
}

// ancestors calls fn with every context path that ctx lies under, shortest
// first: "/a" and "/a/b" for "/a/b/c".
func ancestors(ctx string, fn func(string)) {
	for i := 1; i < len(ctx); i++ {
		if ctx[i] == '/' {
			fn(ctx[:i])
		}
	}
}

// inner returns the Table under key in t, or an empty one.
func inner[T any](t Table[Table[T]], key string) Table[T] {
	if in := t.Get(key); in != nil {
		return *in
	}
	return Table[T]{}
}

// regroup moves entry id from old's group in t to cur's group (group
// names them); nil stands for none.
func regroup[T any](t Table[Table[T]], id string, old, cur *T, group func(*T) string) Table[Table[T]] {
	if old != nil {
		t = leave(t, group(old), id)
	}
	if cur != nil {
		t = join(t, group(cur), id, cur)
	}
	return t
}

// leave removes entry id from group key of t, and the group once empty.
func leave[T any](t Table[Table[T]], key, id string) Table[Table[T]] {
	in := inner(t, key).Without(id)
	if in.Len() == 0 {
		return t.Without(key)
	}
	return t.With(key, &in)
}

// join puts entry id, v into group key of t.
func join[T any](t Table[Table[T]], key, id string, v *T) Table[Table[T]] {
	in := inner(t, key).With(id, v)
	return t.With(key, &in)
}

// The groups of the index.
func appOfKey(k *Key) string           { return k.ApplicationID }
func appOfSub(s *Subscription) string  { return s.ApplicationID }
func apiOfSub(s *Subscription) string  { return s.APIID }
func ownerOfApp(a *Application) string { return a.Owner }
func ownerOfPlan(p *Plan) string       { return p.Owner }
func lowerName(u *User) string         { return strings.ToLower(u.Username) }
func lowerGroup(g *Group) string       { return strings.ToLower(g.Name) }

// The methods below update ix (owned by the caller; nil does nothing) for
// entity id, which changed from old to cur, either of which may be nil.

func (ix *index) user(old, cur *User) {
	if ix == nil {
		return
	}
	if old != nil && ix.usersByName.Get(lowerName(old)) == old {
		ix.usersByName = ix.usersByName.Without(lowerName(old))
	}
	if cur != nil {
		ix.usersByName = ix.usersByName.With(lowerName(cur), cur)
	}
}

func (ix *index) key(id string, old, cur *Key) {
	if ix != nil {
		ix.keysByApp = regroup(ix.keysByApp, id, old, cur, appOfKey)
	}
}

func (ix *index) subscription(id string, old, cur *Subscription) {
	if ix != nil {
		ix.subsByApp = regroup(ix.subsByApp, id, old, cur, appOfSub)
		ix.subsByAPI = regroup(ix.subsByAPI, id, old, cur, apiOfSub)
	}
}

func (ix *index) api(id string, old, cur *API) {
	if ix == nil {
		return
	}
	if old != nil {
		if ix.apiByCtx.Get(old.Context) == old {
			ix.apiByCtx = ix.apiByCtx.Without(old.Context)
		}
		ancestors(old.Context, func(p string) { ix.apisUnder = leave(ix.apisUnder, p, id) })
	}
	if cur != nil {
		ix.apiByCtx = ix.apiByCtx.With(cur.Context, cur)
		ancestors(cur.Context, func(p string) { ix.apisUnder = join(ix.apisUnder, p, id, cur) })
	}
	ix.apisByName = regroup(ix.apisByName, id, old, cur, apiNameKey)
}

func (ix *index) plan(id string, old, cur *Plan) {
	if ix != nil {
		ix.plansOf = regroup(ix.plansOf, id, old, cur, ownerOfPlan)
	}
}

func (ix *index) application(id string, old, cur *Application) {
	if ix != nil {
		ix.appsByOwner = regroup(ix.appsByOwner, id, old, cur, ownerOfApp)
	}
}

func (ix *index) group(id string, old, cur *Group) {
	if ix == nil {
		return
	}
	if old != nil {
		if ix.groupByName.Get(lowerGroup(old)) == old {
			ix.groupByName = ix.groupByName.Without(lowerGroup(old))
		}
		for _, u := range old.Members {
			ix.groupsOf = leave(ix.groupsOf, u, id)
		}
	}
	if cur != nil {
		ix.groupByName = ix.groupByName.With(lowerGroup(cur), cur)
		for _, u := range cur.Members {
			ix.groupsOf = join(ix.groupsOf, u, id, cur)
		}
	}
}
