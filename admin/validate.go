package admin

import (
	"fmt"
	"net/mail"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// Length limits of text fields.
const (
	maxName        = 200
	maxVersion     = 100
	maxDescription = 4000
	maxPath        = 1000
	maxURL         = 2000
	maxTargets     = 100
	maxResources   = 100
	maxWeight      = 1000
	maxTimeout     = 10 * time.Minute
	minPassword    = 8
	maxPassword    = 72 // bcrypt reads no more
)

func invalid(field, format string, args ...any) error {
	return portico.FieldErrorf(portico.EInvalid, field, format, args...)
}

// text checks a free-text field: required when req, at most max runes,
// UTF-8 without control characters (a description may hold tabs and line
// breaks) nor the bidirectional overrides that make a name read other
// than it is (U+202A to U+202E, U+2066 to U+2069): names reach logs,
// notifications, webhooks and analytics as they are.
func text(field, v string, req bool, max int) error {
	if req && strings.TrimSpace(v) == "" {
		return invalid(field, "%s is required", field)
	}
	if utf8.RuneCountInString(v) > max {
		return invalid(field, "%s must be at most %d characters", field, max)
	}
	if !utf8.ValidString(v) {
		return invalid(field, "%s must be UTF-8 text", field)
	}
	lines := field == "description"
	for _, r := range v {
		switch {
		case lines && (r == '\t' || r == '\n' || r == '\r'):
		case unicode.IsControl(r), portico.IsBidiControl(r):
			return invalid(field, "%s must not hold control characters (%U)", field, r)
		}
	}
	return nil
}

// oneOf checks that v is one of allowed.
func oneOf[T ~string](field string, v T, allowed ...T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if v == "" {
		return invalid(field, "%s is required: one of %s", field, strings.Join(names, ", "))
	}
	return invalid(field, "%s must be one of %s, not %q", field, strings.Join(names, ", "), v)
}

// validatePlan checks p and fills in defaults.
func validatePlan(p *portico.Plan) error {
	if err := text("name", p.Name, true, maxName); err != nil {
		return err
	}
	if err := text("description", p.Description, false, maxDescription); err != nil {
		return err
	}
	if p.RateLimit == nil && p.Quota == nil {
		return invalid("rate_limit", "a plan needs a rate_limit, a quota or both")
	}
	if rl := p.RateLimit; rl != nil {
		if err := checkRate("rate_limit", rl.Limit, rl.Per, &rl.Window); err != nil {
			return err
		}
		if len(rl.Resources) > maxResources {
			return invalid("rate_limit.resources", "at most %d resource limits", maxResources)
		}
		seen := map[string]bool{}
		for i := range rl.Resources {
			res := &rl.Resources[i]
			f := fmt.Sprintf("rate_limit.resources[%d]", i)
			if err := portico.ValidateResourcePattern(f+".pattern", res.Pattern); err != nil {
				return err
			}
			if len(res.SOAPAction) > portico.MaxSOAPActionBytes || !utf8.ValidString(res.SOAPAction) ||
				strings.ContainsFunc(res.SOAPAction, func(r rune) bool { return unicode.IsControl(r) || portico.IsBidiControl(r) }) {
				return invalid(f+".soap_action", "%s.soap_action is at most %d bytes of UTF-8 without control characters", f, portico.MaxSOAPActionBytes)
			}
			// A pattern may come back with another action: each is an
			// operation of its own.
			key := res.Pattern + "\x00" + res.SOAPAction
			if seen[key] {
				if res.SOAPAction != "" {
					return invalid(f+".soap_action", "pattern %q with soap_action %q appears twice", res.Pattern, res.SOAPAction)
				}
				return invalid(f+".pattern", "pattern %q appears twice", res.Pattern)
			}
			seen[key] = true
			if err := checkRate(f, res.Limit, res.Per, &res.Window); err != nil {
				return err
			}
		}
	}
	if q := p.Quota; q != nil {
		if q.Limit <= 0 {
			return invalid("quota.limit", "quota.limit must be greater than 0")
		}
		if err := oneOf("quota.per", q.Per, portico.Day, portico.Week, portico.Month); err != nil {
			return err
		}
		if q.Mode == "" {
			q.Mode = portico.Hard
		}
		if err := oneOf("quota.mode", q.Mode, portico.Hard, portico.Soft); err != nil {
			return err
		}
		if q.Threshold == 0 && q.Mode == portico.Soft {
			q.Threshold = 80
		}
		if q.Threshold != 0 && (q.Threshold < 1 || q.Threshold > 100) {
			return invalid("quota.threshold", "quota.threshold must be a percentage from 1 to 100")
		}
	}
	if p.OnDatastoreError == "" {
		p.OnDatastoreError = portico.DatastoreLocal
	}
	return oneOf("on_datastore_error", p.OnDatastoreError,
		portico.DatastoreLocal, portico.DatastoreOpen, portico.DatastoreClosed)
}

// checkRate checks the limit, per and window of a rate limit at prefix,
// defaulting the window to fixed.
func checkRate(prefix string, limit int64, per portico.Period, window *portico.Window) error {
	if limit <= 0 {
		return invalid(prefix+".limit", "%s.limit must be greater than 0", prefix)
	}
	if err := oneOf(prefix+".per", per, portico.Second, portico.Minute, portico.Hour); err != nil {
		return err
	}
	if *window == "" {
		*window = portico.Fixed
	}
	return oneOf(prefix+".window", *window, portico.Fixed, portico.Rolling)
}

// validateAPI checks a and fills in defaults; references to plans and
// the uniqueness of the context are checked against the Config later.
func validateAPI(a *portico.API) error {
	if err := text("name", a.Name, true, maxName); err != nil {
		return err
	}
	if err := text("version", a.Version, true, maxVersion); err != nil {
		return err
	}
	if err := text("description", a.Description, false, maxDescription); err != nil {
		return err
	}
	if err := portico.CheckTags(a.Tags); err != nil {
		return err
	}
	if err := checkContext(a.Context); err != nil {
		return err
	}
	if a.Visibility == "" {
		a.Visibility = portico.Public
	}
	if err := oneOf("visibility", a.Visibility, portico.Public, portico.Intranet, portico.Partner); err != nil {
		return err
	}
	if a.Auth == nil {
		a.Auth = portico.AuthMethods{portico.AuthAPIKey}
	}
	if err := a.ValidateAuth(); err != nil {
		return err
	}
	if a.Policies != nil {
		if err := a.Policies.Validate(); err != nil {
			return err
		}
		if a.Policies.ValidateRequests && (a.Document == nil || a.Document.Format != portico.FormatOpenAPI) {
			return invalid("policies.validate_requests", "request validation needs an OpenAPI document: import one (POST /api/v1/apis/import)")
		}
	}
	if err := portico.CheckResources(a.Resources); err != nil {
		return err
	}
	if a.Document != nil {
		if err := a.Document.Validate(); err != nil {
			return err
		}
	}
	if err := checkEndpoint(&a.Endpoint); err != nil {
		return err
	}
	if a.Plans == nil {
		a.Plans = []string{}
	}
	for i, id := range a.Plans {
		f := fmt.Sprintf("plans[%d]", i)
		if id == "" {
			return invalid(f, "%s is empty; plans lists plan ids", f)
		}
		if slices.Index(a.Plans, id) != i {
			return invalid(f, "plan %q is listed twice", id)
		}
	}
	for i, id := range a.Groups {
		f := fmt.Sprintf("groups[%d]", i)
		if id == "" {
			return invalid(f, "%s is empty; groups lists group ids", f)
		}
		if slices.Index(a.Groups, id) != i {
			return invalid(f, "group %q is listed twice", id)
		}
	}
	for _, t := range []struct {
		field string
		d     portico.Duration
	}{{"timeouts.connect", a.Timeouts.Connect}, {"timeouts.response", a.Timeouts.Response}} {
		if t.d < 0 || time.Duration(t.d) > maxTimeout {
			return invalid(t.field, "%s must be from 0 (the default) to %v", t.field, maxTimeout)
		}
	}
	return nil
}

// checkContext checks an API's context path.
func checkContext(c string) error {
	const f = "context"
	switch {
	case c == "":
		return invalid(f, "context is required, such as \"/weather/v1\"")
	case len(c) > maxPath:
		return invalid(f, "context must be at most %d bytes", maxPath)
	case c[0] != '/':
		return invalid(f, "context must start with \"/\"")
	case c == "/":
		return invalid(f, "context must name a path below \"/\", such as \"/weather/v1\"")
	case strings.HasSuffix(c, "/"):
		return invalid(f, "context must not end with \"/\"")
	case strings.ContainsFunc(c, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return invalid(f, "context must not contain spaces or control characters")
	}
	// The gateway routes by the decoded path: a context holding "%" could
	// never match as written (and would read as another path to the
	// nesting check), nor one holding ";" or "\\", which it refuses or
	// reads as parameters.
	for _, bad := range []string{"?", "#", "//", "..", "%", ";", "\\"} {
		if strings.Contains(c, bad) {
			return invalid(f, "context must not contain %q (write the path decoded, as the gateway matches it)", bad)
		}
	}
	if path.Clean(c) != c {
		return invalid(f, "context must be a clean path, without \".\" segments")
	}
	// In any case: a client that mistypes /OAuth2/token must not hand its
	// secret to an API there.
	if lc := strings.ToLower(c); lc == oauth2Context || strings.HasPrefix(lc, oauth2Context+"/") {
		return invalid(f, "context %q is reserved: the gateway serves its OAuth2 endpoints (%s/token, %s/jwks.json) under %s", c, oauth2Context, oauth2Context, oauth2Context)
	}
	return nil
}

// oauth2Context is the path under which the gateway serves its own OAuth2
// token and key endpoints; no API may take it or a path under it.
const oauth2Context = portico.OAuth2Path

// checkEndpoint checks an endpoint and fills in its defaults.
func checkEndpoint(e *portico.Endpoint) error {
	switch e.Type {
	case portico.Single:
		if e.Algorithm != "" {
			return invalid("endpoint.algorithm", "only a load_balancer endpoint has an algorithm")
		}
		if len(e.Targets) != 1 {
			return invalid("endpoint.targets", "a single endpoint needs exactly one target, not %d", len(e.Targets))
		}
	case portico.LoadBalancer:
		if len(e.Targets) == 0 {
			return invalid("endpoint.targets", "a load_balancer endpoint needs at least one target")
		}
		if len(e.Targets) > maxTargets {
			return invalid("endpoint.targets", "at most %d targets", maxTargets)
		}
		if e.Algorithm == "" {
			e.Algorithm = portico.RoundRobin
		}
		if err := oneOf("endpoint.algorithm", e.Algorithm, portico.RoundRobin, portico.WeightedRoundRobin); err != nil {
			return err
		}
	default:
		return oneOf("endpoint.type", e.Type, portico.Single, portico.LoadBalancer)
	}
	for i := range e.Targets {
		t := &e.Targets[i]
		f := fmt.Sprintf("endpoint.targets[%d]", i)
		if err := checkTargetURL(f+".url", t.URL); err != nil {
			return err
		}
		if t.Weight == 0 {
			t.Weight = 1
		}
		if t.Weight < 1 || t.Weight > maxWeight {
			return invalid(f+".weight", "%s.weight must be from 1 to %d", f, maxWeight)
		}
	}
	return nil
}

// checkTargetURL checks a backend URL: absolute http or https with a host,
// no credentials, query or fragment.
func checkTargetURL(field, s string) error {
	u, err := parseHTTPURL(field, s)
	if err != nil {
		return err
	}
	if u.User != nil {
		return invalid(field, "%s must not contain credentials", field)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return invalid(field, "%s must not have a query or a fragment", field)
	}
	return nil
}

// parseHTTPURL parses an absolute http or https URL with a host.
func parseHTTPURL(field, s string) (*url.URL, error) {
	if s == "" {
		return nil, invalid(field, "%s is required", field)
	}
	if len(s) > maxURL {
		return nil, invalid(field, "%s must be at most %d bytes", field, maxURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, invalid(field, "%s is not a valid URL", field)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return nil, invalid(field, "%s must be an absolute http or https URL", field)
	}
	if u.Hostname() == "" {
		return nil, invalid(field, "%s must have a host", field)
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, invalid(field, "%s has a colon after its host but no port: give the port, or leave both out", field)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, invalid(field, "%s has port %s: a port is 1 to 65535", field, p)
		}
	}
	return u, nil
}

// checkUsername allows 1 to 64 letters, digits and ". _ - @"; no colon,
// which HTTP Basic could not carry.
func checkUsername(name string) error {
	if name == "" {
		return invalid("username", "username is required")
	}
	if len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r))
	}) {
		return invalid("username", "username must be 1 to 64 letters, digits, \".\", \"_\", \"-\" or \"@\"")
	}
	return nil
}

// checkPassword checks a new password's length.
func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < minPassword {
		return invalid("password", "password must be at least %d characters", minPassword)
	}
	if len(pw) > maxPassword {
		return invalid("password", "password must be at most %d bytes", maxPassword)
	}
	return nil
}

// checkRoles checks and deduplicates roles.
func checkRoles(roles []portico.Role) ([]portico.Role, error) {
	if len(roles) == 0 {
		return nil, invalid("roles", "roles must name at least one of admin, publisher, subscriber")
	}
	out := make([]portico.Role, 0, len(roles))
	for i, r := range roles {
		if err := oneOf(fmt.Sprintf("roles[%d]", i), r, portico.RoleAdmin, portico.RolePublisher, portico.RoleSubscriber); err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return invalid("email", "email must be a plain address such as ann@example.com")
	}
	return nil
}

func checkWebhook(s string) error {
	if s == "" {
		return nil
	}
	u, err := parseHTTPURL("webhook_url", s)
	if err != nil {
		return err
	}
	if u.Fragment != "" {
		return invalid("webhook_url", "webhook_url must not have a fragment")
	}
	return nil
}
