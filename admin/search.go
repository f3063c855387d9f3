package admin

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// maxSearch is the longest ?q= taken, in bytes.
const maxSearch = 200

// search is the ?q= of a list: a case-insensitive substring that an item
// matches when one of its searched fields contains it. The zero value
// matches everything.
type search struct {
	q     string // lowered
	ascii bool   // q has only ASCII bytes
	sep   bool   // q holds textSep: match the fields one by one, not a searchText
}

// textSep separates the fields of a searchText.
const textSep = "\x00"

// searchText returns the searched text of an entity with fields: each
// field lowered, joined by textSep. The lists keep one per entity with
// their order, so that a search costs one strings.Contains per entity
// (BenchmarkList); a text without textSep is in it exactly when it is in
// one of the lowered fields.
func searchText(fields ...string) string {
	lowered := make([]string, len(fields))
	for i, f := range fields {
		lowered[i] = strings.ToLower(f)
	}
	return strings.Join(lowered, textSep)
}

// text reports whether an entity whose searchText is text matches, or
// calls fields for the entity's match when the search text holds textSep.
func (s search) text(text string, fields func() bool) bool {
	switch {
	case s.q == "":
		return true
	case s.sep:
		return fields()
	}
	return strings.Contains(text, s.q)
}

// searchOf reads ?q= (at most maxSearch bytes, valid UTF-8).
func searchOf(r *http.Request) (search, error) {
	q := r.URL.Query().Get("q")
	if len(q) > maxSearch {
		return search{}, invalid("q", "q must be at most %d bytes", maxSearch)
	}
	if !utf8.ValidString(q) {
		return search{}, invalid("q", "q must be UTF-8 text")
	}
	q = strings.ToLower(q)
	return search{q: q, ascii: isASCII(q), sep: strings.Contains(q, textSep)}, nil
}

// match reports whether one of fields contains the search text.
func (s search) match(fields ...string) bool {
	if s.q == "" {
		return true
	}
	for _, f := range fields {
		if s.in(f) {
			return true
		}
	}
	return false
}

// in reports whether field contains the search text, in any case. An
// ASCII search text is looked for in place, without lowering a copy of
// the field, so that searching a list of 100,000 entries allocates
// nothing per entry (BenchmarkListSearch); other texts, and fields that
// only match once lowered (the Kelvin sign lowers to k), are compared
// lowered.
func (s search) in(field string) bool {
	if !s.ascii {
		return strings.Contains(strings.ToLower(field), s.q)
	}
	found, ascii := containsFoldASCII(field, s.q)
	if found || ascii {
		return found
	}
	return strings.Contains(strings.ToLower(field), s.q)
}

// containsFoldASCII reports whether f contains q, a non-empty lower-case
// ASCII text, in any case of f's ASCII letters, and whether f is ASCII.
// It is one pass over f.
func containsFoldASCII(f, q string) (found, ascii bool) {
	var or byte
	first, last := q[0], len(f)-len(q)
	for i := 0; i < len(f); i++ {
		b := f[i]
		or |= b
		if i > last || lowerASCII[b] != first {
			continue
		}
		k := 1
		for k < len(q) && lowerASCII[f[i+k]] == q[k] {
			k++
		}
		if k == len(q) {
			return true, false
		}
	}
	return false, or < utf8.RuneSelf
}

// lowerASCII maps each byte to its lower case, ASCII letters only.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func isASCII(s string) bool {
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
	}
	return or < utf8.RuneSelf
}

// Searched fields of each kind of entity.

func (s search) user(u *portico.User) bool { return s.match(u.Username, u.Email) }

func (s search) plan(p *portico.Plan) bool { return s.match(p.Name, p.Description) }

func (s search) api(a *portico.API) bool {
	return s.match(append([]string{a.Name, a.Context, a.Version, a.Description}, a.Tags...)...)
}

func (s search) application(a *portico.Application) bool { return s.match(a.Name, a.Description) }

// subscriptionMatches returns the IDs of the applications of apps and of
// the APIs of apis (those u may see) whose names match: the subscriptions
// that subscription matches are those of these applications and to these
// APIs.
func (s search) subscriptionMatches(cfg *portico.Config, apps *order[portico.Application], apis *order[portico.API], u *portico.User) (appIDs, apiIDs map[string]bool) {
	appIDs, apiIDs = map[string]bool{}, map[string]bool{}
	for _, a := range apps.items {
		if s.in(a.Name) {
			appIDs[a.ID] = true
		}
	}
	for _, a := range apis.items {
		if cfg.CanSeeAPI(u, a) && s.in(a.Name) {
			apiIDs[a.ID] = true
		}
	}
	return appIDs, apiIDs
}

// subscription matches the name of the subscription's application or of
// its API, the latter only when u may see the API (a name is no oracle
// for an API hidden from u).
func (s search) subscription(cfg *portico.Config, u *portico.User, sub *portico.Subscription) bool {
	if s.q == "" {
		return true
	}
	if a := cfg.Applications.Get(sub.ApplicationID); a != nil && s.in(a.Name) {
		return true
	}
	a := cfg.APIs.Get(sub.APIID)
	return a != nil && cfg.CanSeeAPI(u, a) && s.in(a.Name)
}
