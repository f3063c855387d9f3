package admin

import (
	"cmp"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/portico-gw/portico"
)

// An order is the values of one table in creation order (time, then ID:
// the order of every list, see portico.Sorted), each with its lowered
// searched text. A list page of a whole table walks it instead of the
// table: an unfiltered page costs O(offset+limit), a filtered one a pass
// that reads no timestamps and sorts nothing (BenchmarkList). Entities
// are immutable, so an order is valid as long as its table is the one
// listed.
type order[T any] struct {
	version int64 // of the Config whose table this is
	table   portico.Table[T]
	items   []*T
	text    []string // text[i] is searchText of items[i]; nil if the kind has none
}

// kind says how to order and search the entities of one table.
type kind[T any] struct {
	created func(*T) (int64, string)
	// text returns the lowered searched text of an entity (see
	// searchText); nil when lists of the kind search another way.
	text func(*T) string
}

// orders keeps the order of each table of the newest Config listed. A
// write changes a few entities: the next list derives the new order from
// the kept one by the tables' Diff, in time proportional to the changes
// (plus one copy of the slices), instead of sorting the table again.
type orders struct {
	plans atomic.Pointer[order[portico.Plan]]
	apis  atomic.Pointer[order[portico.API]]
	users atomic.Pointer[order[portico.User]]
	apps  atomic.Pointer[order[portico.Application]]
	subs  atomic.Pointer[order[portico.Subscription]]
}

// Kinds of the tables that have an order.
var (
	planKind = kind[portico.Plan]{created: planCreated, text: func(p *portico.Plan) string {
		return searchText(p.Name, p.Description)
	}}
	apiKind = kind[portico.API]{created: apiCreated, text: func(a *portico.API) string {
		return searchText(append([]string{a.Name, a.Context, a.Version, a.Description}, a.Tags...)...)
	}}
	userKind = kind[portico.User]{created: userCreated, text: func(u *portico.User) string {
		return searchText(u.Username, u.Email)
	}}
	appKind = kind[portico.Application]{created: appCreated, text: func(a *portico.Application) string {
		return searchText(a.Name, a.Description)
	}}
	subKind = kind[portico.Subscription]{created: subCreated}
)

// Orders of the tables of cfg.
func (s *Server) planOrder(cfg *portico.Config) *order[portico.Plan] {
	return orderOf(&s.orders.plans, cfg.Version, cfg.Plans, planKind)
}
func (s *Server) apiOrder(cfg *portico.Config) *order[portico.API] {
	return orderOf(&s.orders.apis, cfg.Version, cfg.APIs, apiKind)
}
func (s *Server) userOrder(cfg *portico.Config) *order[portico.User] {
	return orderOf(&s.orders.users, cfg.Version, cfg.Users, userKind)
}
func (s *Server) appOrder(cfg *portico.Config) *order[portico.Application] {
	return orderOf(&s.orders.apps, cfg.Version, cfg.Applications, appKind)
}
func (s *Server) subOrder(cfg *portico.Config) *order[portico.Subscription] {
	return orderOf(&s.orders.subs, cfg.Version, cfg.Subscriptions, subKind)
}

// orderOf returns the order of table t of the Config at version: the one
// kept in cache if it is t's, else one derived from it or built, which
// is kept unless cache holds one of a newer Config.
func orderOf[T any](cache *atomic.Pointer[order[T]], version int64, t portico.Table[T], k kind[T]) *order[T] {
	cur := cache.Load()
	if cur != nil && cur.table == t {
		return cur
	}
	o := cur.derive(version, t, k)
	if o == nil {
		o = buildOrder(version, t, k)
	}
	for cur == nil || cur.version <= version {
		if cache.CompareAndSwap(cur, o) {
			break
		}
		cur = cache.Load()
	}
	return o
}

// buildOrder sorts t. The keys are read once into a slice, so that the
// sort compares them without reaching into the entities.
func buildOrder[T any](version int64, t portico.Table[T], k kind[T]) *order[T] {
	type keyed struct {
		t  int64
		id string
		v  *T
	}
	all := make([]keyed, 0, t.Len())
	for v := range t.Values() {
		ts, id := k.created(v)
		all = append(all, keyed{ts, id, v})
	}
	slices.SortFunc(all, func(a, b keyed) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	o := &order[T]{version: version, table: t, items: make([]*T, len(all))}
	for i := range all {
		o.items[i] = all[i].v
	}
	if k.text != nil {
		o.text = make([]string, len(all))
		for i, v := range o.items {
			o.text[i] = k.text(v)
		}
	}
	return o
}

// derive returns the order of t made from o by the changes between o's
// table and t, or nil when o is nil or there are too many of them to be
// worth it.
func (o *order[T]) derive(version int64, t portico.Table[T], k kind[T]) *order[T] {
	if o == nil {
		return nil
	}
	limit := len(o.items)/32 + 16 // beyond, sorting anew costs less than finding each change
	var (
		gone  []int // positions in o of the values removed or replaced
		added []*T  // values added or replacing others
		lost  bool  // a removed value was not found in o
	)
	done := t.Diff(o.table, func(_ string, old, cur *T) bool {
		if old != nil {
			i, ok := o.find(old, k.created)
			if !ok {
				lost = true
				return false
			}
			gone = append(gone, i)
		}
		if cur != nil {
			added = append(added, cur)
		}
		return len(gone)+len(added) <= limit
	})
	if !done || lost {
		return nil
	}
	slices.Sort(gone)
	slices.SortFunc(added, func(a, b *T) int { return compareCreated(k.created, a, b) })
	n := &order[T]{version: version, table: t, items: make([]*T, 0, len(o.items)-len(gone)+len(added))}
	if o.text != nil {
		n.text = make([]string, 0, cap(n.items))
	}
	// Merge the kept values of o with added, both in order.
	keep := func(from, to int) { // o's values [from, to) that are not gone
		n.items = append(n.items, o.items[from:to]...)
		if o.text != nil {
			n.text = append(n.text, o.text[from:to]...)
		}
	}
	at := 0                  // next position of o to take
	next := func(upto int) { // take o's values up to position upto
		for len(gone) > 0 && gone[0] < upto {
			keep(at, gone[0])
			at, gone = gone[0]+1, gone[1:]
		}
		keep(at, upto)
		at = upto
	}
	for _, v := range added {
		i := sort.Search(len(o.items), func(i int) bool { return compareCreated(k.created, o.items[i], v) > 0 })
		next(max(i, at))
		n.items = append(n.items, v)
		if o.text != nil {
			n.text = append(n.text, k.text(v))
		}
	}
	next(len(o.items))
	return n
}

// find returns the position of v in o.
func (o *order[T]) find(v *T, created func(*T) (int64, string)) (int, bool) {
	i := sort.Search(len(o.items), func(i int) bool { return compareCreated(created, o.items[i], v) >= 0 })
	return i, i < len(o.items) && o.items[i] == v
}

func compareCreated[T any](created func(*T) (int64, string), a, b *T) int {
	ta, ia := created(a)
	tb, ib := created(b)
	if c := cmp.Compare(ta, tb); c != 0 {
		return c
	}
	return strings.Compare(ia, ib)
}

// window returns the values of o that keep selects (all of them when keep
// is nil) from p.offset on, at most p.limit of them, and how many it
// selects in all. keep is given each value with its searched text.
func (o *order[T]) window(p page, keep func(v *T, text string) bool) ([]*T, int) {
	if keep == nil {
		n := len(o.items)
		return o.items[min(p.offset, n):min(p.offset+p.limit, n)], n
	}
	var (
		out   []*T
		total int
	)
	for i, v := range o.items {
		var text string
		if o.text != nil {
			text = o.text[i]
		}
		if !keep(v, text) {
			continue
		}
		if total >= p.offset && len(out) < p.limit {
			out = append(out, v)
		}
		total++
	}
	return out, total
}

// readOrdered is readPage over an order: the window of the values of o
// that keep selects (all of them when keep is nil), mapped through view.
func readOrdered[T, V any](w http.ResponseWriter, r *http.Request, o *order[T], keep func(*T, string) bool, view func(*T) V) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	window, total := o.window(p, keep)
	items := make([]V, len(window))
	for i, x := range window {
		items[i] = view(x)
	}
	writeJSON(w, http.StatusOK, list[V]{Items: items, Total: total, Limit: p.limit, Offset: p.offset})
	return nil
}
