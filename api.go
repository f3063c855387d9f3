package portico

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Visibility says who may discover an API in the catalog.
type Visibility string

// Visibilities.
const (
	Public   Visibility = "public"
	Intranet Visibility = "intranet"
	Partner  Visibility = "partner"
)

// Lifecycle is an API's state. Only published and deprecated APIs serve
// traffic. The order is draft → published → deprecated → retired.
type Lifecycle string

// Lifecycle states.
const (
	Draft      Lifecycle = "draft"
	Published  Lifecycle = "published"
	Deprecated Lifecycle = "deprecated"
	Retired    Lifecycle = "retired"
)

// Serves reports whether an API in state l accepts traffic.
func (l Lifecycle) Serves() bool { return l == Published || l == Deprecated }

// AuthType is how the gateway authenticates callers of an API.
type AuthType string

// Auth types: api_key requires a key of an application with an approved
// subscription; none opens the API to everyone, without limits. More are
// in auth.go.
const (
	AuthAPIKey AuthType = "api_key"
	AuthNone   AuthType = "none"
)

// EndpointType says whether an API has one target or balances over several.
type EndpointType string

// Endpoint types.
const (
	Single       EndpointType = "single"
	LoadBalancer EndpointType = "load_balancer"
)

// Algorithm is a load-balancing algorithm.
type Algorithm string

// Algorithms.
const (
	RoundRobin         Algorithm = "round_robin"
	WeightedRoundRobin Algorithm = "weighted_round_robin"
)

// API is a backend web service published through the gateway.
type API struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Context     string `json:"context"`
	Description string `json:"description,omitempty"`
	// Tags are short words the catalog shows and searches (see
	// CheckTags).
	Tags       []string    `json:"tags,omitempty"`
	Visibility Visibility  `json:"visibility"`
	State      Lifecycle   `json:"state"`
	Auth       AuthMethods `json:"auth"`
	// JWTIssuers are the issuers whose tokens an API with jwt auth trusts.
	JWTIssuers []JWTIssuer `json:"jwt_issuers,omitempty"`
	// ForwardCredentials forwards the caller's API key, Basic credentials
	// or bearer token to the backend; by default the gateway removes them.
	ForwardCredentials bool `json:"forward_credentials,omitempty"`
	// IdentityHeaders sends the backend X-Portico-Application and
	// X-Portico-Subscriber: the IDs of the calling application and of its
	// owner.
	IdentityHeaders bool      `json:"identity_headers,omitempty"`
	Policies        *Policies `json:"policies,omitempty"`
	Endpoint        Endpoint  `json:"endpoint"`
	Plans           []string  `json:"plans"`
	// Groups are the IDs of the groups whose members see a partner API
	// (see Config.CanSeeAPI).
	Groups   []string `json:"groups,omitempty"`
	Timeouts Timeouts `json:"timeouts"`
	// WebSocket lets clients upgrade requests to WebSocket connections.
	// False strips every Upgrade header: a backend answering 101 cannot
	// open a raw tunnel that bypasses the gateway's checks.
	WebSocket bool `json:"websocket,omitempty"`
	// KeepAlive false closes each connection to the backend after its
	// response instead of reusing it, for a backend that may send
	// responses nobody asked for: no HTTP/1.1 client can tell such a
	// response, arriving after the next request was written, from the
	// answer to that request. Nil means true (see ReusesConnections).
	KeepAlive *bool `json:"keepalive,omitempty"`
	// Resources are the operations the API declares (see CheckResources):
	// from its document when imported.
	Resources []Resource `json:"resources,omitempty"`
	// Document is the description the API was imported from, nil for an
	// API written by hand (see DocumentRef).
	Document  *DocumentRef `json:"document,omitempty"`
	Owner     string       `json:"owner"` // user ID of the publisher
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// ReusesConnections reports whether the gateway keeps connections to
// the API's backend alive between requests (KeepAlive nil or true).
func (a *API) ReusesConnections() bool { return a.KeepAlive == nil || *a.KeepAlive }

// IsSOAP reports whether a is a SOAP API: imported from a WSDL document
// (Document.Format FormatWSDL). The gateway answers its own errors to a
// SOAP API's clients as SOAP faults, records the operation a request
// calls by its action, and refuses calls naming no operation when every
// one of the API's resources has an action (package proxy's doc.go).
func (a *API) IsSOAP() bool { return a.Document != nil && a.Document.Format == FormatWSDL }

// OffersPlan reports whether planID is among the API's plans.
func (a *API) OffersPlan(planID string) bool {
	for _, p := range a.Plans {
		if p == planID {
			return true
		}
	}
	return false
}

// Endpoint is where an API's traffic goes.
type Endpoint struct {
	Type      EndpointType `json:"type"`
	Algorithm Algorithm    `json:"algorithm,omitempty"`
	Targets   []Target     `json:"targets"`
}

// Target is one backend URL. Weight (default 1) counts only for
// weighted_round_robin.
type Target struct {
	URL    string `json:"url"`
	Weight int    `json:"weight,omitempty"`
}

// Timeouts bound the gateway's calls to an API's backend. Zero means the
// gateway default (connect 5s, response 30s).
type Timeouts struct {
	Connect  Duration `json:"connect,omitempty"`
	Response Duration `json:"response,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a string such
// as "1.5s" (a bare number is taken as milliseconds).
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms int64
	if err := json.Unmarshal(b, &ms); err == nil {
		*d = Duration(time.Duration(ms) * time.Millisecond)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\" or milliseconds")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration must be a string like \"5s\": %w", err)
	}
	*d = Duration(v)
	return nil
}

// Tag limits: at most MaxTags tags of at most MaxTagLength characters.
const (
	MaxTags      = 20
	MaxTagLength = 40
)

// CheckTags checks an API's tags: at most MaxTags, each 1 to
// MaxTagLength characters of letters, digits, spaces and "-_.+#/",
// without spaces at either end, none twice in any case. A bad tag is an
// EInvalid error naming "tags[i]".
func CheckTags(tags []string) error {
	if len(tags) > MaxTags {
		return FieldErrorf(EInvalid, "tags", "at most %d tags", MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		field := fmt.Sprintf("tags[%d]", i)
		n := utf8.RuneCountInString(t)
		switch {
		case n == 0 || n > MaxTagLength:
			return FieldErrorf(EInvalid, field, "a tag is 1 to %d characters", MaxTagLength)
		case strings.TrimSpace(t) != t:
			return FieldErrorf(EInvalid, field, "a tag has no space at either end")
		case strings.IndexFunc(t, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune("-_.+#/", r)
		}) >= 0:
			return FieldErrorf(EInvalid, field, "a tag is letters, digits, spaces and -_.+#/ only")
		case seen[strings.ToLower(t)]:
			return FieldErrorf(EInvalid, field, "the tag %q is given twice", t)
		}
		seen[strings.ToLower(t)] = true
	}
	return nil
}
