package proxy

import (
	"encoding/hex"
	"strings"

	"github.com/portico-gw/portico"
)

// snapshot is the immutable routing view of one Config version.
type snapshot struct {
	version int64
	routes  map[string]*route // by context path
	maxSegs int               // the most path segments of any context path
	keys    map[[32]byte]*keyEntry
	subs    map[subKey]*subEntry
}

// route is one API that serves traffic.
type route struct {
	api   *portico.API
	up    *upstream
	owner string // publisher user ID
}

// keyEntry is one live API key.
type keyEntry struct {
	key *portico.Key
	app *portico.Application
}

type subKey struct{ app, api string }

// subEntry is one subscription with its limit specs precomputed: specs
// for requests that match no resource override, and resSpecs[i] for those
// matching the plan's i-th resource override.
type subEntry struct {
	sub      *portico.Subscription
	plan     *portico.Plan
	ps       *planSpecs
	specs    []portico.LimitSpec
	resSpecs [][]portico.LimitSpec
}

// limitSpecs returns the specs for a request with method and path (the
// path inside the API) and the index of the plan's resource override that
// matched, or -1.
func (e *subEntry) limitSpecs(method, path string) ([]portico.LimitSpec, int) {
	if e.ps != nil {
		for i, rp := range e.ps.resources {
			if rp.match(method, path) {
				return e.resSpecs[i], i
			}
		}
	}
	return e.specs, -1
}

// buildSnapshot returns the snapshot of cfg, reusing upstreams from prev
// whose API is unchanged; newUpstream makes the others.
func buildSnapshot(cfg *portico.Config, prev map[string]*upstream, newUpstream func(*portico.API) *upstream) (*snapshot, map[string]*upstream) {
	s := &snapshot{
		version: cfg.Version,
		routes:  make(map[string]*route),
		keys:    make(map[[32]byte]*keyEntry, len(cfg.Keys)),
		subs:    make(map[subKey]*subEntry),
	}
	ups := make(map[string]*upstream)
	for _, a := range cfg.APIs {
		if !a.State.Serves() {
			continue
		}
		up := prev[a.ID]
		if up == nil || up.api != a {
			up = newUpstream(a)
		}
		ups[a.ID] = up
		s.routes[a.Context] = &route{api: a, up: up, owner: a.Owner}
		if n := strings.Count(a.Context, "/"); n > s.maxSegs {
			s.maxSegs = n
		}
	}
	for _, k := range cfg.Keys {
		if k.RevokedAt != nil {
			continue
		}
		app := cfg.Applications[k.ApplicationID]
		var h [32]byte
		if app == nil || len(k.Hash) != 64 {
			continue
		}
		if _, err := hex.Decode(h[:], []byte(k.Hash)); err != nil {
			continue
		}
		s.keys[h] = &keyEntry{key: k, app: app}
	}
	plans := map[string]*planSpecs{}
	for _, sub := range cfg.Subscriptions {
		k := subKey{sub.ApplicationID, sub.APIID}
		if old := s.subs[k]; old != nil && sub.Status == portico.Evicted {
			continue // an application may subscribe again after an eviction
		}
		e := &subEntry{sub: sub, plan: cfg.Plans[sub.PlanID]}
		if e.plan != nil && sub.Status == portico.Approved {
			ps := plans[e.plan.ID]
			if ps == nil {
				ps = compilePlan(e.plan)
				plans[e.plan.ID] = ps
			}
			e.ps = ps
			e.specs, e.resSpecs = ps.forSubscription(sub.ID)
		}
		if old := s.subs[k]; old == nil || old.sub.Status == portico.Evicted {
			s.subs[k] = e
		}
	}
	return s, ups
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
