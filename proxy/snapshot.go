package proxy

import (
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/portico-gw/portico"
)

// snapshot is the immutable routing view of one Config version. Update
// derives it from the previous snapshot by the changes between the two
// Configs, so its cost follows the size of the change, not of the Config.
type snapshot struct {
	cfg     *portico.Config
	routes  map[string]*route          // by context path
	maxSegs int                        // at least the most path segments of any context path
	keys    portico.Table[portico.Key] // live keys by raw SHA-256 (32-byte string)
	subs    portico.Table[appSubs]     // by application ID
	plans   map[string]*planSpecs      // by plan ID
}

// route is one API that serves traffic.
type route struct {
	api   *portico.API
	up    *upstream
	owner string // publisher user ID
}

// appSubs are the subscriptions of one application, ordered by API ID and,
// for each API, the one that counts first (see index). No map: most
// applications have a few subscriptions, and a million of them would each
// cost a map.
type appSubs struct {
	all []*subEntry
}

// subEntry is one subscription. Its limit specs are computed on first use
// under each compiled plan and kept until the plan changes.
type subEntry struct {
	sub    *portico.Subscription
	limits atomic.Pointer[subLimits]
}

// subLimits are a subscription's limit specs under one compiled plan:
// specs for requests that match no resource override, and resSpecs[i] for
// those matching the plan's i-th resource override.
type subLimits struct {
	ps       *planSpecs
	specs    []portico.LimitSpec
	resSpecs [][]portico.LimitSpec
}

// limitSpecs returns the specs under ps for a request with method, path
// (the path inside the API) and headers h, and the index of the plan's
// resource override that matched, or -1. The request's SOAP action is
// read into a only when an override with an action matches its pattern.
func (e *subEntry) limitSpecs(ps *planSpecs, method, path string, h http.Header, a *reqAction) ([]portico.LimitSpec, int) {
	l := e.limits.Load()
	if l == nil || l.ps != ps {
		l = &subLimits{ps: ps}
		l.specs, l.resSpecs = ps.forSubscription(e.sub.ApplicationID, e.sub.APIID)
		e.limits.Store(l)
	}
	for i := range ps.resources {
		if ps.resources[i].match(method, path, h, a) {
			return l.resSpecs[i], i
		}
	}
	return l.specs, -1
}

// sub returns the subscription of application app to API api, or nil.
func (s *snapshot) sub(app, api string) *subEntry {
	as := s.subs.Get(app)
	if as == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(as.all, api, func(e *subEntry, api string) int { return strings.Compare(e.sub.APIID, api) })
	if !ok {
		return nil
	}
	return as.all[i]
}

// fullRebuild is the number of changed keys and subscriptions above which
// update builds the snapshot from scratch: bulk building is cheaper per
// entry than patching.
const fullRebuild = 20_000

// update returns the snapshot of cfg derived from prev (nil for the first
// one). newUpstream makes the upstream of an API that is new or changed,
// given the one it had (nil for a new API);
// ups holds the upstreams by API ID and is updated in place; the upstreams
// it drops are returned, to be closed once the new snapshot is in use.
func update(prev *snapshot, cfg *portico.Config, ups map[string]*upstream, newUpstream func(a *portico.API, prev *upstream) *upstream) (*snapshot, []*upstream) {
	old := portico.NewConfig()
	s := &snapshot{cfg: cfg, routes: map[string]*route{}, plans: map[string]*planSpecs{}}
	if prev != nil {
		old = prev.cfg
		*s = *prev
		s.cfg = cfg
	}
	dropped := s.updateRoutes(old.APIs, cfg.APIs, ups, newUpstream)
	s.updatePlans(old.Plans, cfg.Plans)

	if prev == nil { // the first snapshot: build both tables at once
		var wg sync.WaitGroup
		wg.Go(func() { s.keys = buildKeys(cfg.Keys) })
		wg.Go(func() { s.subs = buildSubs(cfg.Subscriptions) })
		wg.Wait()
		return s, dropped
	}
	s.updateKeys(old.Keys, cfg.Keys)
	s.updateSubs(old.Subscriptions, cfg.Subscriptions)
	return s, dropped
}

// updateKeys patches s.keys by the key changes from old to cur, or
// rebuilds it when there are more than fullRebuild.
func (s *snapshot) updateKeys(old, cur portico.Table[portico.Key]) {
	var keys []keyChange
	complete := cur.Diff(old, func(_ string, o, c *portico.Key) bool {
		keys = append(keys, keyChange{o, c})
		return len(keys) <= fullRebuild
	})
	if !complete {
		s.keys = buildKeys(cur)
		return
	}
	for _, ch := range keys {
		if h, ok := keyHash(ch.old); ok && s.keys.Get(h) == ch.old {
			s.keys = s.keys.Without(h)
		}
		if h, ok := keyHash(ch.cur); ok {
			s.keys = s.keys.With(h, ch.cur)
		}
	}
}

// updateSubs patches s.subs by the subscription changes from old to cur,
// or rebuilds it when there are more than fullRebuild.
func (s *snapshot) updateSubs(old, cur portico.Table[portico.Subscription]) {
	apps := map[string]bool{}
	changed := map[string]*portico.Subscription{} // by ID; nil when deleted
	complete := cur.Diff(old, func(id string, o, c *portico.Subscription) bool {
		if o != nil {
			apps[o.ApplicationID] = true
		}
		if c != nil {
			apps[c.ApplicationID] = true
		}
		changed[id] = c
		return len(changed) <= fullRebuild
	})
	if !complete {
		s.subs = buildSubs(cur)
		return
	}
	for app := range apps {
		s.subs = s.subs.With(app, patchApp(s.subs.Get(app), app, changed))
	}
}

type keyChange struct{ old, cur *portico.Key }

// keyHash returns the table key of k, and false when k does not admit
// requests (nil, revoked, or a malformed hash).
func keyHash(k *portico.Key) (string, bool) {
	if k == nil || k.RevokedAt != nil || len(k.Hash) != 64 {
		return "", false
	}
	var h [32]byte
	if _, err := hex.Decode(h[:], []byte(k.Hash)); err != nil {
		return "", false
	}
	return string(h[:]), true
}

func buildKeys(keys portico.Table[portico.Key]) portico.Table[portico.Key] {
	hashes := make([]string, 0, keys.Len())
	live := make([]*portico.Key, 0, keys.Len())
	for k := range keys.Values() {
		if h, ok := keyHash(k); ok {
			hashes, live = append(hashes, h), append(live, k)
		}
	}
	return portico.TableFrom(hashes, live)
}

func buildSubs(subs portico.Table[portico.Subscription]) portico.Table[appSubs] {
	byApp := map[string]*appSubs{}
	for sub := range subs.Values() {
		as := byApp[sub.ApplicationID]
		if as == nil {
			as = &appSubs{}
			byApp[sub.ApplicationID] = as
		}
		as.all = append(as.all, &subEntry{sub: sub})
	}
	for _, as := range byApp {
		as.index()
	}
	return portico.TableOf(byApp)
}

// patchApp returns the subscriptions of application app after the changes
// (new values by subscription ID, nil for deleted), keeping the entries
// of unchanged subscriptions; nil when none are left.
func patchApp(as *appSubs, app string, changed map[string]*portico.Subscription) *appSubs {
	n := &appSubs{}
	if as != nil {
		for _, e := range as.all {
			if _, ok := changed[e.sub.ID]; !ok {
				n.all = append(n.all, e)
			}
		}
	}
	for _, sub := range changed {
		if sub != nil && sub.ApplicationID == app {
			n.all = append(n.all, &subEntry{sub: sub})
		}
	}
	if len(n.all) == 0 {
		return nil
	}
	n.index()
	return n
}

// index orders the subscriptions by API ID and puts first, for each API,
// the one that counts (see statusRank), and among equals the newest.
func (as *appSubs) index() {
	slices.SortFunc(as.all, func(a, b *subEntry) int {
		if c := strings.Compare(a.sub.APIID, b.sub.APIID); c != 0 {
			return c
		}
		if better(a.sub, b.sub) {
			return -1
		}
		if better(b.sub, a.sub) {
			return 1
		}
		return 0
	})
}

func better(a, b *portico.Subscription) bool {
	if ra, rb := statusRank(a.Status), statusRank(b.Status); ra != rb {
		return ra < rb
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// statusRank orders the states of an application's subscriptions to one
// API, the one that counts first: an approved subscription wins over a
// pending one, and both over one that ended (an older subscription
// reinstated by its publisher wins over a newer one its subscriber
// cancelled).
func statusRank(s portico.SubscriptionStatus) int {
	switch s {
	case portico.Approved:
		return 0
	case portico.Pending:
		return 1
	case portico.Evicted:
		return 2
	}
	return 3
}

// updateRoutes patches s.routes (copied first) by the API changes from old
// to cur and returns the upstreams no longer used.
func (s *snapshot) updateRoutes(old, cur portico.Table[portico.API], ups map[string]*upstream, newUpstream func(*portico.API, *upstream) *upstream) []*upstream {
	var changes [][2]*portico.API
	cur.Diff(old, func(_ string, o, c *portico.API) bool {
		changes = append(changes, [2]*portico.API{o, c})
		return true
	})
	if len(changes) == 0 {
		return nil
	}
	s.routes = maps.Clone(s.routes)
	var dropped []*upstream
	prevOf := map[string]*upstream{} // the dropped upstreams by API ID

	for _, ch := range changes { // removals first: two APIs may swap paths
		if o := ch[0]; o != nil {
			if rt := s.routes[o.Context]; rt != nil && rt.api == o {
				delete(s.routes, o.Context)
			}
			if up := ups[o.ID]; up != nil {
				dropped = append(dropped, up)
				delete(ups, o.ID)
				prevOf[o.ID] = up
			}
		}
	}
	for _, ch := range changes {
		a := ch[1]
		if a == nil || !a.State.Serves() {
			continue
		}
		up := newUpstream(a, prevOf[a.ID])
		ups[a.ID] = up
		s.routes[a.Context] = &route{api: a, up: up, owner: a.Owner}
		s.maxSegs = max(s.maxSegs, strings.Count(a.Context, "/"))
	}
	return dropped
}

// updatePlans recompiles the plans that changed from old to cur.
func (s *snapshot) updatePlans(old, cur portico.Table[portico.Plan]) {
	copied := false
	cur.Diff(old, func(id string, _, c *portico.Plan) bool {
		if !copied {
			s.plans, copied = maps.Clone(s.plans), true
		}
		if c == nil {
			delete(s.plans, id)
		} else {
			s.plans[id] = compilePlan(c)
		}
		return true
	})
}

// lookup returns the route whose context path is the longest prefix of
// path at a segment boundary, or nil.
func (s *snapshot) lookup(path string) *route {
	if len(s.routes) == 0 {
		return nil
	}
	// Cut path to at most maxSegs segments, then try ever shorter prefixes.
	end := len(path)
	segs := 0
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			segs++
			if segs == s.maxSegs {
				end = i
				break
			}
		}
	}
	p := path[:end]
	for {
		if r, ok := s.routes[p]; ok {
			return r
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return nil
		}
		p = p[:i]
	}
}
