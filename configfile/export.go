package configfile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// ExportOptions say what FromConfig puts in a File.
type ExportOptions struct {
	// Consumers adds the users and the applications, with their live
	// keys (by hash) and their subscriptions.
	Consumers bool
	// Now is the time keys are live at: revoked and expired keys are
	// left out.
	Now time.Time
	// Document returns the stored document of API a, which has one. Nil
	// leaves documents out.
	Document func(a *portico.API) ([]byte, error)
}

// FromConfig returns the File of cfg: its plans, groups and APIs, and with
// o.Consumers its users and applications. References are by name. No
// secret is in it: no password, no key's text, no HS256 secret of a JWT
// issuer (portico.JWTIssuer.Redacted); keys by their hashes. Of an
// application's subscriptions to an API it gives one: the live one, or
// else the one that ended last.
//
// Names must tell entities apart: two plans of one name, two APIs of one
// name and version, or two applications of one name and owner are an
// EConflict error naming them (rename one).
func FromConfig(cfg *portico.Config, o ExportOptions) (*File, error) {
	n := newNamer(cfg)
	if err := n.unique(); err != nil {
		return nil, err
	}
	f := &File{FormatVersion: FormatVersion}
	plans := make([]SLAPlan, 0, cfg.Plans.Len())
	for p := range cfg.Plans.Values() {
		plans = append(plans, n.planFile(p))
	}
	groups := make([]Group, 0, cfg.Groups.Len())
	for g := range cfg.Groups.Values() {
		groups = append(groups, n.groupFile(g))
	}
	apis := make([]API, 0, cfg.APIs.Len())
	for a := range cfg.APIs.Values() {
		fa, err := n.apiFile(a)
		if err != nil {
			return nil, err
		}
		if a.Document != nil && o.Document != nil {
			b, err := o.Document(a)
			if err != nil {
				return nil, err
			}
			d, err := documentOf(a.Document.Format, b)
			if err != nil {
				return nil, fmt.Errorf("configfile: the stored document of API %s (%s): %w", a.ID, a.Name, err)
			}
			fa.Document = d
		}
		apis = append(apis, fa)
	}
	f.Plans, f.Groups, f.APIs = &plans, &groups, &apis
	if o.Consumers {
		users := make([]User, 0, cfg.Users.Len())
		for u := range cfg.Users.Values() {
			users = append(users, userFile(u))
		}
		apps := make([]Application, 0, cfg.Applications.Len())
		for a := range cfg.Applications.Values() {
			fa := n.appFile(a)
			for k := range cfg.KeysOf(a.ID).Values() {
				if k.Live(o.Now) {
					fa.Keys = append(fa.Keys, keyFile(k))
				}
			}
			for _, s := range currentSubscriptions(cfg, a.ID) {
				fa.Subscriptions = append(fa.Subscriptions, n.subFile(s))
			}
			apps = append(apps, fa)
		}
		f.Users, f.Applications = &users, &apps
	}
	sortFile(f)
	return f, nil
}

// documentOf returns the Document of a stored document.
func documentOf(format portico.DocumentFormat, b []byte) (*Document, error) {
	if format == portico.FormatWSDL {
		return &Document{Format: format, Content: TextContent(b)}, nil
	}
	c, err := JSONContent(b)
	if err != nil {
		return nil, err
	}
	return &Document{Format: format, Content: c}, nil
}

// currentSubscriptions returns, of the subscriptions of application app,
// one per API: the live one, or else the one updated last (then created
// last, then of the greatest ID).
func currentSubscriptions(cfg *portico.Config, app string) []*portico.Subscription {
	byAPI := map[string]*portico.Subscription{}
	for s := range cfg.SubscriptionsOf(app).Values() {
		if cur := byAPI[s.APIID]; cur == nil || laterSub(s, cur) {
			byAPI[s.APIID] = s
		}
	}
	out := make([]*portico.Subscription, 0, len(byAPI))
	for _, s := range byAPI {
		out = append(out, s)
	}
	return out
}

// laterSub reports whether s stands for its application and API rather
// than cur: live before ended, then the later one.
func laterSub(s, cur *portico.Subscription) bool {
	if s.Status.Live() != cur.Status.Live() {
		return s.Status.Live()
	}
	return cmp.Or(s.UpdatedAt.Compare(cur.UpdatedAt), s.CreatedAt.Compare(cur.CreatedAt), strings.Compare(s.ID, cur.ID)) > 0
}

// namer gives the names entities are known by in a file, from IDs.
type namer struct {
	users  func(id string) *portico.User
	plans  func(id string) *portico.Plan
	groups func(id string) *portico.Group
	apis   func(id string) *portico.API
	apps   func(id string) *portico.Application
	cfg    *portico.Config
}

func newNamer(cfg *portico.Config) *namer {
	return &namer{
		users: cfg.Users.Get, plans: cfg.Plans.Get, groups: cfg.Groups.Get,
		apis: cfg.APIs.Get, apps: cfg.Applications.Get, cfg: cfg,
	}
}

// unique checks that the names of cfg's plans, APIs and applications
// tell them apart (see package portico's names.go), and that each plan
// and application has an owner a file can name: a store written before
// names were unique may hold two of one name, which an admin renames.
func (n *namer) unique() error {
	seen := map[string]string{}
	clash := func(what, key, id, name, how string) error {
		if other, ok := seen[key]; ok {
			return &Error{Code: portico.EConflict, Field: what, Message: fmt.Sprintf(
				"%s %s and %s are both %s (names are compared in any case): a file knows them by name; rename one (%s)", what, other, id, name,
				strings.ReplaceAll(how, "ID", id))}
		}
		seen[key] = id
		return nil
	}
	for _, p := range portico.Sorted(n.cfg.Plans, planCreated) {
		owner := n.username(p.Owner)
		if owner == "" {
			return &Error{Code: portico.EConflict, Field: "plans", Message: fmt.Sprintf(
				"plan %s (%s) has no owner a file can name: a file knows a plan by its owner and name; give it one (PUT /api/v1/plans/%s with \"owner\")", quoteValue(p.Name), p.ID, p.ID)}
		}
		if err := clash("plans", "p\x00"+p.Owner+"\x00"+strings.ToLower(p.Name), p.ID, "plan "+planName(p.Name, owner), "PUT /api/v1/plans/ID"); err != nil {
			return err
		}
	}
	for _, a := range portico.Sorted(n.cfg.APIs, apiCreated) {
		if err := clash("apis", "a\x00"+portico.APINameKey(a.Name, a.Version), a.ID, "API "+apiName(a.Name, a.Version), "PUT /api/v1/apis/ID"); err != nil {
			return err
		}
	}
	for _, a := range portico.Sorted(n.cfg.Applications, appCreated) {
		owner := n.username(a.Owner)
		if owner == "" {
			return &Error{Code: portico.EConflict, Field: "applications", Message: fmt.Sprintf(
				"application %s (%s) has no owner a file can name (user %s is gone); delete it or give it an owner (PUT /api/v1/applications/%s with \"owner\")", quoteValue(a.Name), a.ID, a.Owner, a.ID)}
		}
		if err := clash("applications", "c\x00"+a.Owner+"\x00"+strings.ToLower(a.Name), a.ID, "application "+appName(a.Name, owner), "PUT /api/v1/applications/ID"); err != nil {
			return err
		}
	}
	return nil
}

func (n *namer) username(id string) string {
	if u := n.users(id); u != nil {
		return u.Username
	}
	return ""
}

func (n *namer) planFile(p *portico.Plan) SLAPlan {
	return SLAPlan{
		Name: p.Name, Description: p.Description, Owner: n.username(p.Owner), Shared: p.Shared,
		AutoApprove: p.AutoApprove, RateLimit: p.RateLimit, Quota: p.Quota, OnDatastoreError: p.OnDatastoreError,
	}
}

func (n *namer) groupFile(g *portico.Group) Group {
	members := make([]string, 0, len(g.Members))
	for _, id := range g.Members {
		members = append(members, cmp.Or(n.username(id), id))
	}
	return Group{Name: g.Name, Description: g.Description, Members: &members}
}

// apiFile returns a as a file gives it, without its document, its
// JWT issuers redacted.
func (n *namer) apiFile(a *portico.API) (API, error) {
	r := a.Redacted()
	f := API{
		Name: a.Name, Version: a.Version, Context: a.Context, Description: a.Description, Tags: a.Tags,
		Owner: n.username(a.Owner), State: a.State, Visibility: a.Visibility, Auth: a.Auth,
		JWTIssuers: r.JWTIssuers, ForwardCredentials: a.ForwardCredentials, IdentityHeaders: a.IdentityHeaders,
		WebSocket: a.WebSocket, KeepAlive: a.KeepAlive, Endpoint: a.Endpoint, Timeouts: a.Timeouts,
		Policies: a.Policies, Resources: a.Resources,
	}
	for _, id := range a.Plans {
		p := n.plans(id)
		if p == nil {
			return API{}, &Error{Code: portico.EConflict, Field: "apis", Message: fmt.Sprintf("API %s offers plan %s, which does not exist", apiName(a.Name, a.Version), id)}
		}
		f.Plans = append(f.Plans, n.planRef(p, a.Owner))
	}
	for _, id := range a.Groups {
		g := n.groups(id)
		if g == nil {
			return API{}, &Error{Code: portico.EConflict, Field: "apis", Message: fmt.Sprintf("API %s lists group %s, which does not exist", apiName(a.Name, a.Version), id)}
		}
		f.Groups = append(f.Groups, g.Name)
	}
	return f, nil
}

func userFile(u *portico.User) User {
	return User{
		Username: u.Username, Email: u.Email, Roles: slices.Clone(u.Roles), WebhookURL: u.WebhookURL,
		Disabled: u.Disabled, Internal: u.Internal, PendingApproval: u.PendingApproval,
	}
}

func (n *namer) appFile(a *portico.Application) Application {
	return Application{Name: a.Name, Owner: n.username(a.Owner), Description: a.Description}
}

func keyFile(k *portico.Key) Key {
	return Key{Prefix: k.Prefix, Hash: k.Hash, ExpiresAt: k.ExpiresAt}
}

func (n *namer) subFile(s *portico.Subscription) Subscription {
	f := Subscription{Status: s.Status}
	a := n.apis(s.APIID)
	if a != nil {
		f.API, f.APIVersion = a.Name, a.Version
	}
	if p := n.plans(s.PlanID); p != nil {
		f.Plan = PlanRef{Name: p.Name, Owner: n.username(p.Owner)}
		if a != nil && n.offeredNamed(a, p.Name) == p {
			f.Plan.Owner = "" // the API's own plan of that name
		} else if a != nil && p.Owner == a.Owner && n.offeredNamed(a, p.Name) == nil {
			f.Plan.Owner = "" // the API owner's plan of that name
		}
	}
	return f
}

// planRef returns the reference to plan p from an entity owned by owner:
// its name alone when it is owner's, else with its owner's username.
func (n *namer) planRef(p *portico.Plan, owner string) PlanRef {
	if p.Owner == owner {
		return PlanRef{Name: p.Name}
	}
	return PlanRef{Name: p.Name, Owner: n.username(p.Owner)}
}

// offeredNamed returns the plan named name, in any case, among those API
// a offers: nil when none is, ambiguousPlan when several are.
func (n *namer) offeredNamed(a *portico.API, name string) *portico.Plan {
	var found *portico.Plan
	for _, id := range a.Plans {
		if p := n.plans(id); p != nil && portico.SameName(p.Name, name) {
			if found != nil {
				return ambiguousPlan
			}
			found = p
		}
	}
	return found
}

// ambiguousPlan stands for two plans of one name offered by one API.
var ambiguousPlan = &portico.Plan{}

// Names of entities in messages and differences.

func apiName(name, version string) string { return name + " " + version }

func appName(name, owner string) string { return name + " (" + owner + ")" }

func planName(name, owner string) string { return name + " (" + owner + ")" }
