package proxy

import (
	"strings"

	"github.com/portico-gw/portico"
)

// planSpecs is a plan compiled for the request path.
type planSpecs struct {
	plan      *portico.Plan
	resources []*resourcePattern
}

func compilePlan(p *portico.Plan) *planSpecs {
	ps := &planSpecs{plan: p}
	if p.RateLimit != nil {
		for _, r := range p.RateLimit.Resources {
			ps.resources = append(ps.resources, compilePattern(r.Pattern))
		}
	}
	return ps
}

// forSubscription returns the limit specs of one subscription under the
// plan: the plan-wide specs and one set per resource override. Counter keys
// are "<subscription id>/rate", "/res<i>" and "/quota".
func (ps *planSpecs) forSubscription(subID string) (specs []portico.LimitSpec, resSpecs [][]portico.LimitSpec) {
	p := ps.plan
	var quota []portico.LimitSpec
	if q := p.Quota; q != nil {
		threshold := q.Threshold
		if q.Mode == portico.Soft && threshold == 0 {
			threshold = portico.DefaultThreshold
		}
		quota = []portico.LimitSpec{{
			Key: subID + "/quota", Limit: q.Limit, Per: q.Per, Window: portico.Fixed,
			Soft: q.Mode == portico.Soft, Threshold: threshold, OnError: p.OnDatastoreError,
		}}
	}
	withQuota := func(s portico.LimitSpec) []portico.LimitSpec {
		return append([]portico.LimitSpec{s}, quota...)
	}
	if rl := p.RateLimit; rl != nil {
		specs = withQuota(portico.LimitSpec{Key: subID + "/rate", Limit: rl.Limit, Per: rl.Per, Window: window(rl.Window), OnError: p.OnDatastoreError})
		for i, r := range rl.Resources {
			resSpecs = append(resSpecs, withQuota(portico.LimitSpec{
				Key: subID + "/res" + itoa(i), Limit: r.Limit, Per: r.Per, Window: window(r.Window), OnError: p.OnDatastoreError,
			}))
		}
	} else {
		specs = quota
	}
	return specs, resSpecs
}

func window(w portico.Window) portico.Window {
	if w == "" {
		return portico.Fixed
	}
	return w
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// resourcePattern matches requests inside an API: an optional method and a
// path pattern where "*" matches one segment and a trailing "/**" any rest.
type resourcePattern struct {
	method string   // "" matches any method
	segs   []string // pattern segments after the leading "/"
	rest   bool     // pattern ended in "/**"
}

func compilePattern(s string) *resourcePattern {
	rp := &resourcePattern{}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i > 0 {
		rp.method = strings.ToUpper(s[:i])
		s = strings.TrimSpace(s[i+1:])
	}
	s = strings.TrimPrefix(s, "/")
	if s == "**" || strings.HasSuffix(s, "/**") {
		rp.rest = true
		s = strings.TrimSuffix(strings.TrimSuffix(s, "**"), "/")
	}
	if s != "" {
		rp.segs = strings.Split(s, "/")
	}
	return rp
}

// match reports whether a request with method and path (inside the API,
// starting with "/" or empty) matches the pattern.
func (rp *resourcePattern) match(method, path string) bool {
	if rp.method != "" && rp.method != method {
		return false
	}
	path = strings.TrimPrefix(path, "/")
	for _, seg := range rp.segs {
		if path == "" && seg != "" {
			return false
		}
		var part string
		if i := strings.IndexByte(path, '/'); i >= 0 {
			part, path = path[:i], path[i+1:]
		} else {
			part, path = path, ""
		}
		if seg != "*" && seg != part {
			return false
		}
	}
	return rp.rest || path == ""
}
