package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/portico-gw/portico"
)

// planSpecs is a plan compiled for the request path.
type planSpecs struct {
	plan      *portico.Plan
	resources []resourceLimit // the plan's RateLimit.Resources, in order
}

// resourceLimit is a resource override of a plan compiled for the
// request path.
type resourceLimit struct {
	pat    *resourcePattern
	action string // "": any request matching pat
	id     string // names the override's counter, see limitID
	label  string // the analytics record's resource: the pattern, and the action
}

func compilePlan(p *portico.Plan) *planSpecs {
	ps := &planSpecs{plan: p}
	if p.RateLimit != nil {
		for _, r := range p.RateLimit.Resources {
			rp := compilePattern(r.Pattern)
			label := r.Pattern
			if r.SOAPAction != "" {
				label += " " + r.SOAPAction
			}
			ps.resources = append(ps.resources, resourceLimit{pat: rp, action: r.SOAPAction, id: limitID(rp, r.SOAPAction), label: label})
		}
	}
	return ps
}

// match reports whether the override takes a request with method, path
// (inside the API) and headers h, whose SOAP action is read into a when
// the override names one.
func (rl *resourceLimit) match(method, path string, h http.Header, a *reqAction) bool {
	if !rl.pat.match(method, path) {
		return false
	}
	if rl.action == "" {
		return true
	}
	a.of(h)
	return a.ok && a.action == rl.action
}

// limitID names the counter of an override of pattern rp and SOAP action
// action: the pattern's id (patternID) without an action, so that
// overrides stored before actions existed keep their counters; with one,
// 16 hex digits of the SHA-256 of the pattern's normalized form, a NUL
// and the action, so that each operation has a counter of its own.
func limitID(rp *resourcePattern, action string) string {
	if action == "" {
		return rp.id
	}
	h := sha256.Sum256([]byte(rp.normal() + "\x00" + action))
	return hex.EncodeToString(h[:8])
}

// forSubscription returns the limit specs of a subscription of application
// appID to API apiID under the plan: the plan-wide specs and one set per
// resource override. Counter keys are "<application id>/<API id>/rate",
// "/res-<pattern id>" (see resourcePattern.id) and "/quota" (see
// portico.CounterSubject): usage follows the application and the API, not
// the subscription, so that cancelling and subscribing again, or moving to
// another plan, does not reset a rate window or a quota.
func (ps *planSpecs) forSubscription(appID, apiID string) (specs []portico.LimitSpec, resSpecs [][]portico.LimitSpec) {
	subID := portico.CounterSubject(appID, apiID)
	p := ps.plan
	var quota []portico.LimitSpec
	if q, ok := p.QuotaSpec(appID, apiID); ok {
		quota = []portico.LimitSpec{q}
	}
	withQuota := func(s portico.LimitSpec) []portico.LimitSpec {
		return append([]portico.LimitSpec{s}, quota...)
	}
	if rate, ok := p.RateSpec(appID, apiID); ok {
		specs = withQuota(rate)
		for i, r := range p.RateLimit.Resources {
			resSpecs = append(resSpecs, withQuota(portico.LimitSpec{
				Key: subID + "/res-" + ps.resources[i].id, Limit: r.Limit, Per: r.Per, Window: window(r.Window), OnError: p.OnDatastoreError,
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

// resourcePattern matches requests inside an API: an optional method and a
// path pattern where "*" matches one segment and a trailing "/**" any rest.
type resourcePattern struct {
	method string   // "" matches any method
	segs   []string // pattern segments after the leading "/"
	rest   bool     // pattern ended in "/**"
	id     string   // names the override's counter, see patternID
	text   string   // the pattern as written
}

// patternID returns a stable name for a resource override's counter: 16
// hex digits of the SHA-256 of its method and normalized path pattern.
// An override keeps its counter when the plan's overrides are reordered,
// added or removed; the hash keeps keys short and free of the pattern's
// characters (a pattern ending in "/quota" must not look like the quota's
// key).
func patternID(rp *resourcePattern) string {
	h := sha256.Sum256([]byte(rp.normal()))
	return hex.EncodeToString(h[:8])
}

// normal returns the pattern's normalized form: its method (upper case)
// and path, each once spaced.
func (rp *resourcePattern) normal() string {
	s := rp.method + " /" + strings.Join(rp.segs, "/")
	if rp.rest {
		s += "/**"
	}
	return s
}

func compilePattern(s string) *resourcePattern {
	rp := &resourcePattern{text: s}
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
	rp.id = patternID(rp)
	return rp
}

// match reports whether a request with method and path (inside the API,
// starting with "/" or empty) matches the pattern, as the backend will
// see the request: methods compare in any case and HEAD counts as GET
// (Go's server passes "get" on as sent, and backends may serve it, or a
// HEAD, as a GET; counting such requests under the GET pattern never lets
// one escape its limit, and costs an extension method in lower case one
// unit at most); literal segments compare in any case and without their
// ";" parameters (servlet containers drop them, and some backends route
// paths in any case). The path is the decoded one that is forwarded
// (Gateway.ServeHTTP refuses encodings backends could read otherwise).
func (rp *resourcePattern) match(method, path string) bool {
	if rp.method != "" && !strings.EqualFold(rp.method, method) &&
		!(rp.method == http.MethodGet && strings.EqualFold(method, http.MethodHead)) {
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
		if i := strings.IndexByte(part, ';'); i >= 0 {
			part = part[:i]
		}
		if seg != "*" && !strings.EqualFold(seg, part) {
			return false
		}
	}
	return rp.rest || path == ""
}
