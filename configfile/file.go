package configfile

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// FormatVersion is the only format_version this package reads and
// writes.
const FormatVersion = 1

// File is a configuration as a file holds it: entities by name, never by
// ID. A nil section (Plans, Groups, APIs, Users, Applications) is one the
// file leaves out: Plan neither changes nor prunes that kind of entity.
// An empty one ([] in YAML) says there are none.
type File struct {
	FormatVersion int            `json:"format_version"`
	Plans         *[]SLAPlan     `json:"plans,omitempty"`
	Groups        *[]Group       `json:"groups,omitempty"`
	APIs          *[]API         `json:"apis,omitempty"`
	Users         *[]User        `json:"users,omitempty"`
	Applications  *[]Application `json:"applications,omitempty"`

	lines map[string]int // field path → line, of a decoded file
}

// Line returns the line of the file where the value of field (a path
// such as "apis[2].plans[0]", as errors name them) starts, or that of the
// nearest enclosing value Decode saw; 0 when unknown (a File not read by
// Decode).
func (f *File) Line(field string) int {
	for field != "" {
		if l, ok := f.lines[field]; ok {
			return l
		}
		i := max(strings.LastIndexByte(field, '.'), strings.LastIndexByte(field, '['))
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

// SLAPlan is a plan (portico.Plan), known by its owner and its name in
// any case: the plans of one owner have names of their own, and two
// owners may each have a plan "gold".
type SLAPlan struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Owner is the username of the plan's owner; left out, whoever
	// applies the file. A plan's owner is part of its name: a file gives
	// another owner's plan of the same name as another plan.
	Owner            string                       `json:"owner,omitempty"`
	Shared           bool                         `json:"shared,omitempty"`
	AutoApprove      bool                         `json:"auto_approve,omitempty"`
	RateLimit        *portico.RateLimit           `json:"rate_limit,omitempty"`
	Quota            *portico.Quota               `json:"quota,omitempty"`
	OnDatastoreError portico.DatastoreErrorPolicy `json:"on_datastore_error,omitempty"`
}

// API is an API (portico.API), known by its name and version. It names
// its plans and groups by name.
type API struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Context     string   `json:"context"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Owner is the username of the API's owner, as SLAPlan.Owner.
	Owner string `json:"owner,omitempty"`
	// State left out makes a new API a draft and keeps an existing API's.
	State              portico.Lifecycle   `json:"state,omitempty"`
	Visibility         portico.Visibility  `json:"visibility,omitempty"`
	Auth               portico.AuthMethods `json:"auth,omitempty"`
	JWTIssuers         []portico.JWTIssuer `json:"jwt_issuers,omitempty"`
	ForwardCredentials bool                `json:"forward_credentials,omitempty"`
	IdentityHeaders    bool                `json:"identity_headers,omitempty"`
	WebSocket          bool                `json:"websocket,omitempty"`
	KeepAlive          *bool               `json:"keepalive,omitempty"`
	Endpoint           portico.Endpoint    `json:"endpoint"`
	Timeouts           portico.Timeouts    `json:"timeouts,omitzero"`
	// Plans are the plans the API offers: by name alone those of the
	// API's owner, by name and owner any other's (see PlanRef).
	Plans     []PlanRef          `json:"plans,omitempty"`
	Groups    []string           `json:"groups,omitempty"` // group names
	Policies  *portico.Policies  `json:"policies,omitempty"`
	Resources []portico.Resource `json:"resources,omitempty"`
	Document  *Document          `json:"document,omitempty"`
}

// PlanRef names a plan where a file refers to one: by its name alone,
// in any case, when it is a plan of the owner the reference implies (of
// an API's owner in API.Plans; see Subscription.Plan), else by its name
// and its owner's username. In YAML a name alone is a string ("gold"), a
// name and an owner a mapping ({name: gold, owner: pat}). Another user's
// plan of the same name never changes what a name alone refers to: a
// publisher's plan "gold" cannot capture a file's "gold".
type PlanRef struct {
	Name string `json:"name"`
	// Owner is the username of the plan's owner, or "" for a plan of the
	// owner the reference implies.
	Owner string `json:"owner,omitempty"`
}

// String names the plan for people: "gold", or "gold (pat)" with an
// owner.
func (r PlanRef) String() string {
	if r.Owner == "" {
		return r.Name
	}
	return planName(r.Name, r.Owner)
}

// MarshalJSON writes a name alone as a string, else an object.
func (r PlanRef) MarshalJSON() ([]byte, error) {
	if r.Owner == "" {
		return marshalString(r.Name), nil
	}
	b := append([]byte(`{"name":`), marshalString(r.Name)...)
	b = append(append(b, `,"owner":`...), marshalString(r.Owner)...)
	return append(b, '}'), nil
}

// UnmarshalJSON reads a string (a name alone) or an object of name and
// owner, both required.
func (r *PlanRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*r = PlanRef{}
		return json.Unmarshal(b, &r.Name)
	}
	var v struct {
		Name  *string `json:"name"`
		Owner *string `json:"owner"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if len(b) == 0 || b[0] != '{' || dec.Decode(&v) != nil {
		return &Error{Code: portico.EInvalid, Message: "a plan is its name (gold), or its name and its owner's username ({name: gold, owner: pat}), nothing else"}
	}
	if v.Name == nil || v.Owner == nil || *v.Owner == "" {
		return &Error{Code: portico.EInvalid, Message: "a plan given as a mapping has a name and an owner (a username): {name: gold, owner: pat}; a plan of the implied owner is its name alone"}
	}
	*r = PlanRef{Name: *v.Name, Owner: *v.Owner}
	return nil
}

// Document is the description an API was imported from, inline.
type Document struct {
	Format portico.DocumentFormat `json:"format"`
	// Content is the document: for OpenAPI its JSON as YAML (a mapping),
	// for WSDL its text.
	Content Content `json:"content"`
}

// Content is a document's content: JSON (OpenAPI), kept in the form
// CanonicalJSON gives, or text (WSDL). The zero Content is empty text.
type Content struct {
	json bool
	b    []byte
}

// JSONContent returns the Content of the JSON document doc, in canonical
// form (see CanonicalJSON). doc must be a JSON object.
func JSONContent(doc []byte) (Content, error) {
	c, err := CanonicalJSON(doc)
	if err != nil {
		return Content{}, err
	}
	if len(c) == 0 || c[0] != '{' {
		return Content{}, &Error{Code: portico.EInvalid, Message: "a JSON document must be an object"}
	}
	return Content{json: true, b: c}, nil
}

// TextContent returns the Content of a text document.
func TextContent(doc []byte) Content { return Content{b: bytes.Clone(doc)} }

// IsJSON reports whether c holds a JSON document.
func (c Content) IsJSON() bool { return c.json }

// Bytes returns the document's bytes: canonical JSON, or the text. The
// caller must not change them.
func (c Content) Bytes() []byte { return c.b }

// MarshalJSON writes JSON content as itself and text as a string.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.json {
		return c.b, nil
	}
	return marshalString(string(c.b)), nil
}

// UnmarshalJSON reads what MarshalJSON writes: an object is JSON
// content, a string text.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Content{b: []byte(s)}
		return nil
	}
	j, err := JSONContent(b)
	if err != nil {
		return err
	}
	*c = j
	return nil
}

// Group is a group of users (portico.Group), known by its name in any
// case.
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Members are the usernames of the group's members. Left out (nil),
	// an existing group keeps its members, as a PUT of the admin API
	// does; [] takes them all out.
	Members *[]string `json:"members,omitempty"`
}

// User is a user (portico.User), known by its username in any case. Its
// password is never in a file: a user the file creates has none until an
// admin sets one.
type User struct {
	Username   string         `json:"username"`
	Email      string         `json:"email,omitempty"`
	Roles      []portico.Role `json:"roles"`
	WebhookURL string         `json:"webhook_url,omitempty"`
	Disabled   bool           `json:"disabled,omitempty"`
	Internal   bool           `json:"internal,omitempty"`
	// PendingApproval marks a user who signed up and waits for an
	// admin's approval (portico.User.PendingApproval): it is disabled.
	// A sign-up alone sets it; a file keeps it, gives it to the user it
	// creates, or clears it by enabling the user (disabled: false).
	PendingApproval bool `json:"pending_approval,omitempty"`
}

// Application is an application (portico.Application), known by its
// owner's username and its name, with its keys and subscriptions.
type Application struct {
	Name          string         `json:"name"`
	Owner         string         `json:"owner"`
	Description   string         `json:"description,omitempty"`
	Keys          []Key          `json:"keys,omitempty"`
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
}

// Key is a live API key of an application, known by its hash: the hex
// SHA-256 of its text (portico.HashKey), never the text itself.
type Key struct {
	Prefix string `json:"prefix"`
	Hash   string `json:"hash"`
	// ExpiresAt is when a rotated key ends. A key the file creates, or
	// gives an end, must end after the apply; a stored key's end cannot
	// be moved.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Subscription is an application's subscription to an API, known by the
// API's name and version: an application has one per API in a file.
type Subscription struct {
	API        string `json:"api"`
	APIVersion string `json:"api_version"`
	// Plan is the subscription's plan (see PlanRef): by name alone one of
	// the plans the API offers, or else one of the API owner's; by name
	// and owner any plan. It may be left out only for a cancelled or
	// evicted subscription whose plan is gone.
	Plan PlanRef `json:"plan,omitzero"`
	// Status left out is approved.
	Status portico.SubscriptionStatus `json:"status,omitempty"`
}

// marshalString returns s as a JSON string, without escaping <, > and &.
func marshalString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
