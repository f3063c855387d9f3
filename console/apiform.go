package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// This file holds the parts of the API form that set how callers
// authenticate and which policies apply: how they are shown and how they
// are read back into the admin API's request. The admin API validates
// them; the console only parses the texts it shows.

// apiForm is the text of the API form's free-form fields, as the form
// shows them: from the stored API, or as the user typed them when the
// form comes back with an error, so that nothing typed is lost.
type apiForm struct {
	Targets string // one target per line: URL [weight]

	// Issuers is the JSON of the API's JWT issuers, never with a secret
	// (see issuersText); IssuersNote says a typed secret was left out.
	Issuers, IssuersNote string

	// The CORS policy: origins one per line, the other lists comma or
	// line separated, MaxAge in seconds (or a duration such as "10m").
	Origins, Methods, Headers, Exposed, MaxAge string
	Credentials                                bool

	// The IP rules, one CIDR or address per line.
	Allow, Deny string

	// Other is the JSON of the policies the form has no fields for
	// (otherPolicies).
	Other string
}

// authChoice is an auth method as the form offers it.
type authChoice struct {
	Type        portico.AuthType
	Label, Hint string
}

// authChoices are the auth methods of portico.AuthTypes, in its order,
// with what the form says of each.
var authChoices = func() []authChoice {
	about := map[portico.AuthType][2]string{
		portico.AuthAPIKey: {"API key", "an API key of the calling application, in the X-API-Key header"},
		portico.AuthBasic:  {"HTTP Basic", "the application ID as user name and one of its API keys as password"},
		portico.AuthJWT:    {"JWT", "bearer tokens signed by one of the JWT issuers below"},
		portico.AuthOAuth2: {"OAuth2", "bearer tokens from the gateway's own /oauth2/token (client credentials)"},
		portico.AuthNone:   {"None (open API)", "everyone may call, without subscription or limits; only alone"},
	}
	var cs []authChoice
	for _, t := range portico.AuthTypes {
		a, ok := about[t]
		if !ok {
			a = [2]string{string(t), ""}
		}
		cs = append(cs, authChoice{Type: t, Label: a[0], Hint: a[1]})
	}
	return cs
}()

// otherPolicies are the policies the form shows as one JSON text: all of
// portico.Policies but CORS and the IP rules, which have fields.
type otherPolicies struct {
	ThreatProtection *portico.ThreatProtection  `json:"threat_protection,omitempty"`
	Headers          *portico.HeaderRules       `json:"headers,omitempty"`
	Conversion       *portico.Conversion        `json:"conversion,omitempty"`
	Resources        []portico.ResourcePolicies `json:"resources,omitempty"`
}

// apiFormOf returns the form's texts for the API a as the admin API showed it.
func apiFormOf(a *portico.API) apiForm {
	f := apiForm{Targets: targetsText(a.Endpoint.Targets), Issuers: issuersText(a.JWTIssuers)}
	p := a.Policies
	if p == nil {
		return f
	}
	if c := p.CORS; c != nil {
		f.Origins = strings.Join(c.AllowedOrigins, "\n")
		f.Methods = strings.Join(c.AllowedMethods, ", ")
		f.Headers = strings.Join(c.AllowedHeaders, ", ")
		f.Exposed = strings.Join(c.ExposedHeaders, ", ")
		f.Credentials = c.AllowCredentials
		f.MaxAge = maxAgeText(c.MaxAge)
	}
	if r := p.IPRules; r != nil {
		f.Allow = strings.Join(r.Allow, "\n")
		f.Deny = strings.Join(r.Deny, "\n")
	}
	o := otherPolicies{ThreatProtection: p.ThreatProtection, Headers: p.Headers, Conversion: p.Conversion, Resources: p.Resources}
	if o.ThreatProtection != nil || o.Headers != nil || o.Conversion != nil || len(o.Resources) > 0 {
		f.Other = indentJSON(o)
	}
	return f
}

// issuersText shows issuers as the form's JSON, redacted whatever the
// admin API answered: a secret is never written into a page.
func issuersText(issuers []portico.JWTIssuer) string {
	if len(issuers) == 0 {
		return ""
	}
	shown := make([]portico.JWTIssuer, len(issuers))
	for i, j := range issuers {
		shown[i] = j.Redacted()
	}
	return indentJSON(shown)
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "" // not for these types: they marshal
	}
	return string(b)
}

// maxAgeText shows a CORS max age in whole seconds when it is whole, else
// as a duration; "" for none.
func maxAgeText(d portico.Duration) string {
	switch {
	case d == 0:
		return ""
	case time.Duration(d)%time.Second == 0:
		return strconv.FormatInt(int64(time.Duration(d)/time.Second), 10)
	}
	return time.Duration(d).String()
}

// splitList splits a list typed one entry per line or separated by commas
// (or spaces: no entry of these lists holds one), dropping empty entries.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	})
}

// strictJSON decodes text into v, refusing unknown fields and anything
// after the value.
func strictJSON(text string, v any) error {
	d := json.NewDecoder(strings.NewReader(text))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("text after the JSON value")
	}
	return nil
}

// formError is a refusal of the form's own parsing, shown at field.
func formError(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// readAuthForm reads the auth and policy fields of the API form r into a
// and f (a's JWTIssuers and Policies are replaced), and returns the first
// text that does not parse, or nil.
func readAuthForm(r *http.Request, a *portico.API, f *apiForm) *apiError {
	form := r.PostFormValue
	// The methods ticked, in the order the API lists them (the boxes are
	// in portico.AuthTypes' order), then those newly ticked. A form with
	// none ticked sends an empty list, which the admin API refuses: nil
	// would stand for its default, api_key.
	ticked := r.PostForm["auth"]
	auth := portico.AuthMethods{}
	for _, t := range a.Auth {
		if slices.Contains(ticked, string(t)) {
			auth = append(auth, t)
		}
	}
	for _, m := range ticked {
		if !slices.Contains(auth, portico.AuthType(m)) {
			auth = append(auth, portico.AuthType(m))
		}
	}
	a.Auth = auth
	a.ForwardCredentials = form("forward_credentials") != ""
	a.IdentityHeaders = form("identity_headers") != ""

	var bad *apiError
	fail := func(e *apiError) {
		if bad == nil {
			bad = e
		}
	}
	f.Issuers = form("jwt_issuers")
	a.JWTIssuers = nil
	if strings.TrimSpace(f.Issuers) != "" {
		if err := strictJSON(f.Issuers, &a.JWTIssuers); err != nil {
			fail(formError("jwt_issuers", "The JWT issuers are not a JSON list of issuers: %s.", jsonProblem(err)))
		}
	}

	var p portico.Policies
	f.Origins, f.Methods, f.Headers, f.Exposed = form("cors_origins"), form("cors_methods"), form("cors_headers"), form("cors_exposed")
	f.MaxAge, f.Credentials = strings.TrimSpace(form("cors_max_age")), form("cors_credentials") != ""
	cors, err := f.cors()
	if err != nil {
		fail(err)
	}
	p.CORS = cors
	f.Allow, f.Deny = form("ip_allow"), form("ip_deny")
	if allow, deny := splitList(f.Allow), splitList(f.Deny); len(allow) > 0 || len(deny) > 0 {
		p.IPRules = &portico.IPRules{Allow: allow, Deny: deny}
	}
	f.Other = form("policies_other")
	if strings.TrimSpace(f.Other) != "" {
		var o otherPolicies
		if err := strictJSON(f.Other, &o); err != nil {
			fail(formError("policies_other", "Other policies is not a JSON object of threat_protection, headers, conversion and resources: %s.", jsonProblem(err)))
		}
		p.ThreatProtection, p.Headers, p.Conversion, p.Resources = o.ThreatProtection, o.Headers, o.Conversion, o.Resources
	}
	a.Policies = nil
	if p.CORS != nil || p.IPRules != nil || p.ThreatProtection != nil || p.Headers != nil || p.Conversion != nil || len(p.Resources) > 0 {
		a.Policies = &p
	}
	return bad
}

// cors returns the CORS policy of the form's CORS fields, nil when they
// are all empty.
func (f *apiForm) cors() (*portico.CORS, *apiError) {
	c := &portico.CORS{AllowedOrigins: splitList(f.Origins), AllowedMethods: splitList(f.Methods),
		AllowedHeaders: splitList(f.Headers), ExposedHeaders: splitList(f.Exposed), AllowCredentials: f.Credentials}
	if len(c.AllowedOrigins) == 0 && len(c.AllowedMethods) == 0 && len(c.AllowedHeaders) == 0 &&
		len(c.ExposedHeaders) == 0 && !c.AllowCredentials && f.MaxAge == "" {
		return nil, nil
	}
	d, err := parseMaxAge(f.MaxAge)
	if err != nil {
		return c, formError("policies.cors.max_age", "The max age is a whole number of seconds or a duration such as 10m.")
	}
	c.MaxAge = d
	return c, nil
}

// parseMaxAge reads a CORS max age: "" for none, a whole number of
// seconds, or a duration such as "10m".
func parseMaxAge(s string) (portico.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		n = max(min(n, 1<<32), -1<<32) // no overflow; the admin API names the bound
		return portico.Duration(time.Duration(n) * time.Second), nil
	}
	d, err := time.ParseDuration(s)
	return portico.Duration(d), err
}

// jsonProblem says what is wrong with a JSON text, without quoting it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("a syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s cannot be a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("a JSON %s where %s belongs", te.Value, shortType(te.Type.String()))
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	if msg == "EOF" || msg == "unexpected EOF" {
		return "the text ends too soon"
	}
	return strings.TrimPrefix(msg, "json: ")
}

func shortType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.Contains(t, "."):
		return "an object"
	}
	return "a " + t
}

// redactTyped makes the issuers the user typed safe to show again: when
// they parse, they are shown redacted, with a note when that hid a secret
// the user typed (which must then be typed again); text that does not
// parse is shown as typed, for the user to correct.
func (f *apiForm) redactTyped() {
	var typed []portico.JWTIssuer
	if strings.TrimSpace(f.Issuers) == "" || strictJSON(f.Issuers, &typed) != nil {
		return
	}
	var hid []string
	for _, j := range typed {
		if j.Key != "" && j.Redacted().Key == "" {
			hid = append(hid, strconv.Quote(j.Issuer))
		}
	}
	f.Issuers = issuersText(typed)
	if len(hid) > 0 {
		f.IssuersNote = "The page does not show secrets: type the key of " + strings.Join(hid, ", ") +
			" again. Left empty, a saved API keeps the key it has."
	}
}
