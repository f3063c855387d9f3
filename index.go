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
			users[strings.ToLower(u.Username)] = u
		}
		ix.usersByName = TableOf(users)
	})
	wg.Go(func() { ix.keysByApp = groupBy(c.Keys, func(k *Key) string { return k.ApplicationID }) })
	wg.Go(func() {
		ix.subsByApp = groupBy(c.Subscriptions, func(s *Subscription) string { return s.ApplicationID })
	})
	wg.Go(func() { ix.subsByAPI = groupBy(c.Subscriptions, func(s *Subscription) string { return s.APIID }) })
	wg.Go(func() { ix.appsByOwner = groupBy(c.Applications, func(a *Application) string { return a.Owner }) })
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

// inner returns the Table under key in t, or an empty one.
func inner[T any](t Table[Table[T]], key string) Table[T] {
	if in := t.Get(key); in != nil {
		return *in
	}
	return Table[T]{}
}

// move removes old's entry (id under outer key from) from t and adds cur's
// (under key to); nil stands for none.
func move[T any](t Table[Table[T]], id string, from string, old *T, to string, cur *T) Table[Table[T]] {
	if old != nil {
		in := inner(t, from).Without(id)
		if in.Len() == 0 {
			t = t.Without(from)
		} else {
			t = t.With(from, &in)
		}
	}
	if cur != nil {
		in := inner(t, to).With(id, cur)
		t = t.With(to, &in)
	}
	return t
}

// The methods below update ix (owned by the caller; nil does nothing) for
// one entity that changed from old to cur, either of which may be nil.

func (ix *index) user(old, cur *User) {
	if ix == nil {
		return
	}
	if old != nil {
		name := strings.ToLower(old.Username)
		if ix.usersByName.Get(name) == old {
			ix.usersByName = ix.usersByName.Without(name)
		}
	}
	if cur != nil {
		ix.usersByName = ix.usersByName.With(strings.ToLower(cur.Username), cur)
	}
}

func (ix *index) key(old, cur *Key) {
	if ix == nil {
		return
	}
	var id, from, to string
	if old != nil {
		id, from = old.ID, old.ApplicationID
	}
	if cur != nil {
		id, to = cur.ID, cur.ApplicationID
	}
	ix.keysByApp = move(ix.keysByApp, id, from, old, to, cur)
}

func (ix *index) subscription(old, cur *Subscription) {
	if ix == nil {
		return
	}
	var id, fromApp, toApp, fromAPI, toAPI string
	if old != nil {
		id, fromApp, fromAPI = old.ID, old.ApplicationID, old.APIID
	}
	if cur != nil {
		id, toApp, toAPI = cur.ID, cur.ApplicationID, cur.APIID
	}
	ix.subsByApp = move(ix.subsByApp, id, fromApp, old, toApp, cur)
	ix.subsByAPI = move(ix.subsByAPI, id, fromAPI, old, toAPI, cur)
}

func (ix *index) application(old, cur *Application) {
	if ix == nil {
		return
	}
	var id, from, to string
	if old != nil {
		id, from = old.ID, old.Owner
	}
	if cur != nil {
		id, to = cur.ID, cur.Owner
	}
	ix.appsByOwner = move(ix.appsByOwner, id, from, old, to, cur)
}
