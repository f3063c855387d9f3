package portico

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// This file holds how an API authenticates its callers (AuthMethods, the
// API's Auth) and the policies it applies to their requests (Policies).
// Package proxy applies both; its doc.go gives the order.

// More auth types (see AuthAPIKey and AuthNone): basic takes an
// application's ID and one of its API keys as HTTP Basic credentials; jwt
// a bearer token signed by one of the API's JWTIssuers; oauth2 a bearer
// token from the gateway's own token endpoint (client credentials).
const (
	AuthBasic  AuthType = "basic"
	AuthJWT    AuthType = "jwt"
	AuthOAuth2 AuthType = "oauth2"
)

// AuthTypes lists the auth types an API may name, in the order the admin
// API offers them.
var AuthTypes = []AuthType{AuthAPIKey, AuthBasic, AuthJWT, AuthOAuth2, AuthNone}

// AuthMethods are the ways an API's callers may prove which application
// they are: any one that succeeds identifies the application, and the rest
// of the request path (subscription, plan limits, analytics) is the same
// for every method. ["none"] (alone) opens the API to everyone, without
// limits. In JSON it is a list; a single string, as stored before lists,
// reads as a list of one.
type AuthMethods []AuthType

// Open reports whether m lets every caller in: ["none"]. An empty list is
// not open: it stands for the default, ["api_key"] (see Effective).
func (m AuthMethods) Open() bool {
	return len(m) == 1 && m[0] == AuthNone
}

// Effective returns m, or ["api_key"] when m is empty.
func (m AuthMethods) Effective() AuthMethods {
	if len(m) == 0 {
		return defaultAuth
	}
	return m
}

var defaultAuth = AuthMethods{AuthAPIKey}

// Has reports whether m, as Effective gives it, lists t.
func (m AuthMethods) Has(t AuthType) bool {
	for _, x := range m.Effective() {
		if x == t {
			return true
		}
	}
	return false
}

// UnmarshalJSON reads a list of auth types or one as a string.
func (m *AuthMethods) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s AuthType
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = AuthMethods{s}
		return nil
	}
	var l []AuthType
	if err := json.Unmarshal(b, &l); err != nil {
		// A type error, so that decoders name the field.
		kind := jsonKind(b)
		if kind == "array" {
			kind = "an array of other things than strings"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[AuthMethods]()}
	}
	*m = l
	return nil
}

// jsonKind names the kind of JSON value b starts with, as
// json.UnmarshalTypeError.Value does.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// Validate checks m: known types, none twice, "none" only alone. Its
// errors name the field ("auth[1]").
func (m AuthMethods) Validate() error {
	if len(m) == 0 {
		return FieldErrorf(EInvalid, "auth", "auth lists no method; give [\"none\"] for an open API")
	}
	for i, t := range m {
		f := fmt.Sprintf("auth[%d]", i)
		known := false
		for _, k := range AuthTypes {
			known = known || t == k
		}
		switch {
		case !known:
			return FieldErrorf(EInvalid, f, "%s is %.50q; use one of api_key, basic, jwt, oauth2 or none", f, t)
		case t == AuthNone && len(m) > 1:
			return FieldErrorf(EInvalid, f, "\"none\" opens the API to everyone and cannot be combined with another method")
		}
		for _, x := range m[:i] {
			if x == t {
				return FieldErrorf(EInvalid, f, "%q is listed twice", t)
			}
		}
	}
	return nil
}

// Policies are what the gateway does to an API's requests and responses
// beyond auth and limits; each is optional. Resources override the
// body and header policies for the requests whose path matches.
type Policies struct {
	IPRules          *IPRules           `json:"ip_rules,omitempty"`
	CORS             *CORS              `json:"cors,omitempty"`
	ThreatProtection *ThreatProtection  `json:"threat_protection,omitempty"`
	Headers          *HeaderRules       `json:"headers,omitempty"`
	Conversion       *Conversion        `json:"conversion,omitempty"`
	Resources        []ResourcePolicies `json:"resources,omitempty"`
	// ValidateRequests checks each request against the API's OpenAPI
	// document (parameters, headers, JSON bodies) before it reaches the
	// backend, and answers 400 listing the first problems. It needs the
	// API to have an OpenAPI Document.
	ValidateRequests bool `json:"validate_requests,omitempty"`
}

// ResourcePolicies replace, for the requests whose path inside the API
// matches Pattern (the syntax of ResourceLimit.Pattern), the API's threat
// protection, header rules and conversion: a policy set here wins over
// the API's, one left out is the API's. The first matching entry counts.
type ResourcePolicies struct {
	Pattern          string            `json:"pattern"`
	ThreatProtection *ThreatProtection `json:"threat_protection,omitempty"`
	Headers          *HeaderRules      `json:"headers,omitempty"`
	Conversion       *Conversion       `json:"conversion,omitempty"`
}

// maxPolicyResources bounds Policies.Resources.
const maxPolicyResources = 100

// Validate checks p. Its errors name the field from the API's root, such
// as "policies.cors.allowed_origins[1]".
func (p *Policies) Validate() error {
	if p.IPRules != nil {
		if err := p.IPRules.Validate(); err != nil {
			return underField("policies.", err)
		}
	}
	if p.CORS != nil {
		if err := p.CORS.Validate(); err != nil {
			return underField("policies.", err)
		}
	}
	if err := validateBodyPolicies("policies.", p.ThreatProtection, p.Headers, p.Conversion); err != nil {
		return err
	}
	if len(p.Resources) > maxPolicyResources {
		return FieldErrorf(EInvalid, "policies.resources", "at most %d resource policies", maxPolicyResources)
	}
	for i := range p.Resources {
		r := &p.Resources[i]
		f := fmt.Sprintf("policies.resources[%d].", i)
		if err := ValidateResourcePattern(f+"pattern", r.Pattern); err != nil {
			return err
		}
		for _, o := range p.Resources[:i] {
			if o.Pattern == r.Pattern {
				return FieldErrorf(EInvalid, f+"pattern", "pattern %.100q is listed twice", r.Pattern)
			}
		}
		if r.ThreatProtection == nil && r.Headers == nil && r.Conversion == nil {
			return FieldErrorf(EInvalid, f+"pattern", "resource policy %.100q sets no policy", r.Pattern)
		}
		if err := validateBodyPolicies(f, r.ThreatProtection, r.Headers, r.Conversion); err != nil {
			return err
		}
	}
	return nil
}

func validateBodyPolicies(prefix string, tp *ThreatProtection, h *HeaderRules, c *Conversion) error {
	if tp != nil {
		if err := tp.Validate(); err != nil {
			return underField(prefix, err)
		}
	}
	if h != nil {
		if err := h.Validate(); err != nil {
			return underField(prefix, err)
		}
	}
	if c != nil {
		if err := c.Validate(); err != nil {
			return underField(prefix, err)
		}
	}
	return nil
}

// ValidateAuth checks the API's auth methods against what they need: jwt
// needs JWTIssuers, and JWTIssuers need jwt. Its errors name the field.
func (a *API) ValidateAuth() error {
	if err := a.Auth.Validate(); err != nil {
		return err
	}
	switch {
	case a.Auth.Has(AuthJWT) && len(a.JWTIssuers) == 0:
		return FieldErrorf(EInvalid, "jwt_issuers", "an API with jwt auth needs at least one issuer in jwt_issuers")
	case !a.Auth.Has(AuthJWT) && len(a.JWTIssuers) > 0:
		return FieldErrorf(EInvalid, "jwt_issuers", "jwt_issuers are only for an API with jwt auth")
	case a.Auth.Open() && (a.ForwardCredentials || a.IdentityHeaders):
		return FieldErrorf(EInvalid, "auth", "an open API (auth none) has no credentials to forward and no application to name")
	}
	for i := range a.JWTIssuers {
		if err := a.JWTIssuers[i].Validate(); err != nil {
			return renameField(err, "jwt.", fmt.Sprintf("jwt_issuers[%d].", i))
		}
		for _, o := range a.JWTIssuers[:i] {
			if o.Issuer == a.JWTIssuers[i].Issuer {
				return FieldErrorf(EInvalid, fmt.Sprintf("jwt_issuers[%d].issuer", i), "issuer %.100q is listed twice", o.Issuer)
			}
		}
	}
	return nil
}

// Redacted returns a copy of a whose JWT issuers hide their secrets (see
// JWTIssuer.Redacted), for every answer that shows an API.
func (a *API) Redacted() *API {
	if len(a.JWTIssuers) == 0 {
		return a
	}
	c := *a
	c.JWTIssuers = make([]JWTIssuer, len(a.JWTIssuers))
	for i, j := range a.JWTIssuers {
		c.JWTIssuers[i] = j.Redacted()
	}
	return &c
}

// underField returns err with prefix before the field it names.
func underField(prefix string, err error) error {
	var pe *Error
	if errors.As(err, &pe) && pe.Field != "" {
		c := *pe
		c.Field = prefix + pe.Field
		return &c
	}
	return err
}

// renameField returns err with the prefix from of its field replaced by to.
func renameField(err error, from, to string) error {
	var pe *Error
	if errors.As(err, &pe) && len(pe.Field) >= len(from) && pe.Field[:len(from)] == from {
		c := *pe
		c.Field = to + pe.Field[len(from):]
		return &c
	}
	return err
}
