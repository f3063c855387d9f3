package portico

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Period is the length of a rate-limit window or a quota period.
type Period string

// Periods. Rate limits use second, minute and hour; quotas use day, week and
// month. Day, week (starting Monday) and month are calendar periods in UTC.
const (
	Second Period = "second"
	Minute Period = "minute"
	Hour   Period = "hour"
	Day    Period = "day"
	Week   Period = "week"
	Month  Period = "month"
)

// Duration returns the fixed length of p, or 0 for calendar periods whose
// length varies (week and day are fixed, month is not).
func (p Period) Duration() time.Duration {
	switch p {
	case Second:
		return time.Second
	case Minute:
		return time.Minute
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	case Week:
		return 7 * 24 * time.Hour
	}
	return 0
}

// Window is how a rate limit counts.
type Window string

// Windows. A fixed window counts requests in aligned periods (each minute
// from :00 to :59). A rolling window counts requests in the period that
// ends now and never admits more than the limit in any interval of that
// length.
const (
	Fixed   Window = "fixed"
	Rolling Window = "rolling"
)

// QuotaMode says what happens when a quota is used up.
type QuotaMode string

// Quota modes: hard rejects requests once the quota is used up; soft lets
// them through and raises a notification when usage crosses the threshold.
const (
	Hard QuotaMode = "hard"
	Soft QuotaMode = "soft"
)

// DatastoreErrorPolicy says how limits behave while the data store is
// unreachable (cluster mode).
type DatastoreErrorPolicy string

// Policies for limits during a data store outage.
const (
	DatastoreLocal  DatastoreErrorPolicy = "local"  // each node enforces limit / live nodes
	DatastoreOpen   DatastoreErrorPolicy = "open"   // admit everything
	DatastoreClosed DatastoreErrorPolicy = "closed" // reject everything
)

// Plan is an SLA plan: the limits a subscription gets.
type Plan struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	Description      string               `json:"description,omitempty"`
	RateLimit        *RateLimit           `json:"rate_limit,omitempty"`
	Quota            *Quota               `json:"quota,omitempty"`
	AutoApprove      bool                 `json:"auto_approve"`
	OnDatastoreError DatastoreErrorPolicy `json:"on_datastore_error,omitempty"`
	Owner            string               `json:"owner,omitempty"` // user ID of the creator

	// Shared lets owners of other APIs offer the plan (see
	// Config.CheckAPIPlans). Plans stored before the field existed read
	// as not shared.
	Shared    bool      `json:"shared"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OfferableBy reports whether an API owned by user ID owner may offer p:
// p is owner's own, or shared.
func (p *Plan) OfferableBy(owner string) bool {
	return p.Shared || (p.Owner != "" && p.Owner == owner)
}

// RateLimit allows Limit requests per Per. Resources override the limit for
// requests whose path inside the API matches a pattern (and, for an
// override with a SOAPAction, whose SOAP action is that one); each override
// has a counter of its own, and the first matching override, in the order
// given, replaces the plan-wide limit for that request: an override by
// pattern alone placed before one with the same pattern and an action
// takes that action's requests too.
type RateLimit struct {
	Limit     int64           `json:"limit"`
	Per       Period          `json:"per"`
	Window    Window          `json:"window"`
	Resources []ResourceLimit `json:"resources,omitempty"`
}

// ResourceLimit is a per-resource rate limit inside an API. Pattern is a
// path relative to the API's context path, optionally preceded by an HTTP
// method and a space ("POST /orders"); "*" matches one path segment and a
// trailing "/**" matches any rest of the path.
type ResourceLimit struct {
	Pattern string `json:"pattern"`
	// SOAPAction, when set, limits one operation of a SOAP API: the
	// override counts only the requests matching Pattern whose SOAP
	// action, as a client names it (the SOAPAction header of SOAP 1.1,
	// the action parameter of SOAP 1.2's content type), is exactly this
	// one: a Resource's SOAPAction, such as "urn:GetBooking", under its
	// pattern "POST /". A request that names no action (any request that
	// is not SOAP) never matches it. At most MaxSOAPActionBytes of UTF-8
	// without control characters.
	SOAPAction string `json:"soap_action,omitempty"`
	Limit      int64  `json:"limit"`
	Per        Period `json:"per"`
	Window     Window `json:"window"`
}

// MaxSOAPActionBytes bounds a SOAP action, of a Resource or a
// ResourceLimit.
const MaxSOAPActionBytes = 2048

// Quota allows Limit requests per calendar Per (day, week or month, UTC).
// A soft quota raises a notification when usage crosses Threshold percent
// (default 80) and never rejects.
type Quota struct {
	Limit     int64     `json:"limit"`
	Per       Period    `json:"per"`
	Mode      QuotaMode `json:"mode"`
	Threshold int       `json:"threshold,omitempty"`
}

// CheckAPIPlans checks the plans of new or changed API a against c: each
// exists (else EInvalid, field "plans[i]"), and each that a did not offer
// before is OfferableBy a's owner, unless byAdmin (else EForbidden, field
// "plans[i]"): a plan's owner decides the limits of every API offering
// it, so a publisher offers only its own plans and those their owners
// shared. Plans an API already offers stay, even once their owner stops
// sharing them or the API changes hands. An api_key API that serves traffic
// needs a plan (EInvalid, field "plans").
func (c *Config) CheckAPIPlans(a *API, byAdmin bool) error {
	old := c.APIs.Get(a.ID)
	for i, id := range a.Plans {
		f := fmt.Sprintf("plans[%d]", i)
		p := c.Plans.Get(id)
		if p == nil {
			return FieldErrorf(EInvalid, f, "no plan with id %q", id)
		}
		if !byAdmin && !p.OfferableBy(a.Owner) && (old == nil || !old.OffersPlan(id)) {
			return FieldErrorf(EForbidden, f, "plan %q belongs to another user and is not shared; "+
				"offer your own plans, or ask its owner to share it", p.Name)
		}
	}
	if a.State.Serves() && !a.Auth.Open() && len(a.Plans) == 0 {
		return FieldErrorf(EInvalid, "plans", "a %s API with auth must offer at least one plan", a.State)
	}
	return nil
}

// maxResourcePatternBytes bounds a resource pattern.
const maxResourcePatternBytes = 1000

// ValidateResourcePattern checks a resource pattern: "/path" or "METHOD /path", where
// "*" is one segment and "**" may end the path. Its errors name field.
func ValidateResourcePattern(field, pat string) error {
	const how = `: use a path such as "/orders/*" or "/files/**", optionally after an HTTP method and a space ("POST /orders")`
	if pat == "" {
		return FieldErrorf(EInvalid, field, "%s is required", field)
	}
	if len(pat) > maxResourcePatternBytes {
		return FieldErrorf(EInvalid, field, "%s must be at most %d bytes", field, maxResourcePatternBytes)
	}
	p := pat
	if method, rest, ok := strings.Cut(pat, " "); ok {
		if method == "" || strings.TrimFunc(method, func(r rune) bool { return r >= 'A' && r <= 'Z' }) != "" {
			return FieldErrorf(EInvalid, field, "%s has a bad method %q%s", field, method, how)
		}
		p = rest
	}
	if !strings.HasPrefix(p, "/") {
		return FieldErrorf(EInvalid, field, "%s must start with \"/\"%s", field, how)
	}
	if strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '?' || r == '#' }) {
		return FieldErrorf(EInvalid, field, "%s must not contain spaces, \"?\" or \"#\" in the path%s", field, how)
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		if strings.Contains(seg, "**") && (seg != "**" || i != len(segs)-1) {
			return FieldErrorf(EInvalid, field, "%s may use \"**\" only as the whole last segment%s", field, how)
		}
	}
	return nil
}
