package configfile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// Options say how Plan makes the store match a File.
type Options struct {
	// Prune deletes the entities of the sections the file has that the
	// file lacks (keys: revokes them), with what depends on them as the
	// admin API deletes it (an API's subscriptions, an application's keys
	// and subscriptions, a user's applications). Without Prune, nothing
	// is deleted.
	Prune bool
	// Select, when not empty, confines the apply to the selected APIs:
	// those carrying one of these tags (in any case). The file's other
	// sections (plans, groups, users, applications) are left out, and so
	// are its APIs that carry none of the tags in the file nor in the
	// store (see Changeset.LeftOut). An API the file selects that the
	// store holds unselected, or the store selects and the file gives
	// without the tags, is refused: a selection never changes, takes
	// over or deletes an API outside it. Prune deletes only selected
	// APIs (with their subscriptions), nothing of other kinds.
	Select []string
	// Owner is the user ID of the owner of the plans and APIs the file
	// creates without naming an owner: whoever applies it.
	Owner string
	// Now is the time of the apply: of new entities and changes.
	Now time.Time
	// NewID returns the ID of an entity the plan creates, of kind and
	// known by key (stable for one entity of a file). Nil: portico.NewID.
	NewID func(kind portico.Kind, key string) string
	// Validate checks an entity the plan creates or changes and fills in
	// its defaults before it is compared: *portico.Plan, *portico.API,
	// *portico.Group, *portico.User, *portico.Application, with old the
	// stored entity or nil. The admin API passes its rules. Its errors
	// name the entity's field; Plan places them in the file. Nil checks
	// nothing.
	Validate func(entity, old any) error
	// Document returns the stored document of API a, which has one, to
	// compare with the file's when their SHA-256s differ. Nil: documents
	// are compared by SHA-256 only.
	Document func(a *portico.API) ([]byte, error)
}

// Changeset is what an apply of a File changes, as one change of the
// store: Plan's result.
type Changeset struct {
	// Changes are the changes to write, deletes first, in one
	// portico.Store.Apply. New entities have new IDs; changed ones keep
	// theirs.
	Changes []portico.Change
	// Sources say where each change comes from in the file (Changes[i]
	// from Sources[i]).
	Sources []Source
	// Differences are the changes for people, by entity and field; empty
	// when the store matches the file.
	Differences []Difference
	// Documents are the documents to store before Changes are written.
	Documents []DocumentWrite
	// Dropped are the documents no API refers to once Changes are written.
	Dropped []DocumentWrite
	// LeftOut names, under Options.Select, what of the file the apply
	// leaves untouched: the sections other than apis the file has
	// ("plans", "groups", "users", "applications"), then the APIs
	// carrying no selected tag ("api billing 2").
	LeftOut []string

	file *File
}

// Source is where a change comes from: the path of an entity in the file
// ("apis[3]"; "" for an entity the file lacks, pruned or changed because
// of another) and the entity's name for people ("api weather 1.0").
type Source struct {
	Field  string
	Entity string
}

// DocumentWrite is a document of an API: stored under API and SHA256
// (see portico.DocumentStore). Bytes are nil for a dropped document.
type DocumentWrite struct {
	API    string
	SHA256 string
	Format portico.DocumentFormat
	Bytes  []byte
	Field  string // the document's path in the file
}

// Error returns err, which is about the entity of Changes[i], placed in
// the file: its field under the entity's path, its line, its message
// naming the entity.
func (p *Changeset) Error(i int, err error) error {
	return p.file.place(p.Sources[i].Field, p.Sources[i].Entity, err)
}

// Lines returns the differences as lines for people (see
// Difference.Lines).
func (p *Changeset) Lines() []string {
	var out []string
	for _, d := range p.Differences {
		out = append(out, d.Lines()...)
	}
	return out
}

// place returns err, about the entity at path named entity, as an *Error
// placed in the file, with err's code (portico.ErrorCodeOf).
func (f *File) place(path, entity string, err error) error {
	var fe *Error
	if errors.As(err, &fe) && fe.Line > 0 {
		return err // placed already
	}
	var pe *portico.Error
	if !errors.As(err, &pe) || pe.Code == portico.EInternal {
		return err
	}
	field := path
	if pe.Field != "" && path != "" {
		field = path + "." + pe.Field
	}
	msg := pe.Message
	if entity != "" {
		msg = entity + ": " + msg
	}
	return &Error{Code: pe.Code, Line: f.Line(field), Field: field, Message: msg}
}

// planner holds the work of one Plan.
type planner struct {
	f   *File
	cfg *portico.Config
	o   Options
	n   *namer // names from IDs, as the store will hold them
	old *namer // names from IDs, as the store holds them

	// Entities as they will be, by how the file knows them; nil values
	// are those the apply deletes.
	users  map[string]*portico.User  // by lower-case username
	groups map[string]*portico.Group // by lower-case name
	plans  map[string]*portico.Plan  // by planKey
	apis   map[string]*portico.API   // by portico.APINameKey
	byID   map[string]any            // every entity put, by ID

	puts, dels   []change
	deleted      map[string]bool // IDs deleted
	diffs        []Difference
	docs, drops  []DocumentWrite
	storeKeys    map[string]*portico.Key // by hash, built when needed
	selectedTags map[string]bool         // nil: no Select
	leftOut      []string
}

type change struct {
	c   portico.Change
	src Source
}

// Plan returns what makes cfg match f under o: the changes, in the
// order they are to be written, and the differences. It fails, with an
// *Error placed in the file, on a name that refers to nothing, a name
// the store gives two entities, an entity o.Validate refuses, and what
// an apply can never do (bring back a revoked key).
//
// Entities are matched by name: plans by name, APIs by name and version,
// groups and users by name in any case, applications by owner and name,
// keys by hash, subscriptions by application and API. What the file
// gives replaces what the store holds; fields a file never holds (IDs,
// creation times, passwords, an HS256 secret the file leaves out, which
// o.Validate keeps) are kept. An entity whose file form is unchanged is
// not written: a second Plan of the same file against the result of the
// first changes nothing.
func Plan(f *File, cfg *portico.Config, o Options) (*Changeset, error) {
	if o.NewID == nil {
		o.NewID = func(portico.Kind, string) string { return portico.NewID() }
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	p := &planner{
		f: f, cfg: cfg, o: o, n: newNamer(cfg), old: newNamer(cfg),
		users: map[string]*portico.User{}, groups: map[string]*portico.Group{},
		plans: map[string]*portico.Plan{}, apis: map[string]*portico.API{},
		byID: map[string]any{}, deleted: map[string]bool{},
	}
	if len(o.Select) > 0 {
		p.selectedTags = map[string]bool{}
		for _, t := range o.Select {
			p.selectedTags[strings.ToLower(t)] = true
		}
	}
	p.n.users = func(id string) *portico.User { return lookupID(p, id, cfg.Users.Get) }
	p.n.plans = func(id string) *portico.Plan { return lookupID(p, id, cfg.Plans.Get) }
	p.n.groups = func(id string) *portico.Group { return lookupID(p, id, cfg.Groups.Get) }
	p.n.apis = func(id string) *portico.API { return lookupID(p, id, cfg.APIs.Get) }
	p.n.apps = func(id string) *portico.Application { return lookupID(p, id, cfg.Applications.Get) }
	steps := []func() error{p.planUsers, p.planGroups, p.planPlans, p.planAPIs, p.planApplications}
	if p.selectedTags != nil {
		// The selection is APIs: the other sections are left out.
		steps = []func() error{p.planAPIs}
		for _, sec := range []struct {
			name string
			in   bool
		}{{"plans", f.Plans != nil}, {"groups", f.Groups != nil}, {"users", f.Users != nil}, {"applications", f.Applications != nil}} {
			if sec.in {
				p.leftOut = append(p.leftOut, sec.name)
			}
		}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return p.result(), nil
}

// lookupID returns the entity id as the store will hold it.
func lookupID[T any](p *planner, id string, stored func(string) *T) *T {
	if p.deleted[id] {
		return nil
	}
	if e, ok := p.byID[id].(*T); ok {
		return e
	}
	return stored(id)
}

func (p *planner) pruning() bool { return p.o.Prune && len(p.selectedTags) == 0 }

func (p *planner) selected(tags []string) bool {
	if p.selectedTags == nil {
		return true
	}
	for _, t := range tags {
		if p.selectedTags[strings.ToLower(t)] {
			return true
		}
	}
	return false
}

func (p *planner) fail(path, entity string, err error) error { return p.f.place(path, entity, err) }

func (p *planner) failf(field, format string, args ...any) error {
	return errorf(p.f.Line(field), field, format, args...)
}

// validate runs o.Validate.
func (p *planner) validate(path, entity string, e, old any) error {
	if p.o.Validate == nil {
		return nil
	}
	if err := p.o.Validate(e, old); err != nil {
		return p.fail(path, entity, err)
	}
	return nil
}

// put records the change that writes e, new or changed from old, with
// the differences between their file forms oldF and curF; it writes
// nothing when they do not differ. extra are differences the file forms
// do not show (a secret, a document).
func (p *planner) put(kind portico.Kind, name string, src Source, e, old any, oldF, curF any, extra ...FieldChange) {
	c := portico.Put(e)
	p.byID[c.ID] = e
	if isNil(old) {
		p.puts = append(p.puts, change{c, src})
		p.diffs = append(p.diffs, Difference{Action: Create, Kind: kind, Name: name})
		return
	}
	fields := append(fieldChanges(oldF, curF), extra...)
	if len(fields) == 0 {
		p.byID[c.ID] = old // unchanged: the stored entity stays
		return
	}
	setUpdated(e, p.o.Now)
	p.puts = append(p.puts, change{c, src})
	p.diffs = append(p.diffs, Difference{Action: Update, Kind: kind, Name: name, Fields: fields})
}

func isNil(v any) bool {
	switch e := v.(type) {
	case nil:
		return true
	case *portico.User:
		return e == nil
	case *portico.Group:
		return e == nil
	case *portico.Plan:
		return e == nil
	case *portico.API:
		return e == nil
	case *portico.Application:
		return e == nil
	case *portico.Key:
		return e == nil
	case *portico.Subscription:
		return e == nil
	}
	return false
}

func setUpdated(e any, now time.Time) {
	switch v := e.(type) {
	case *portico.User:
		v.UpdatedAt = now
	case *portico.Group:
		v.UpdatedAt = now
	case *portico.Plan:
		v.UpdatedAt = now
	case *portico.API:
		v.UpdatedAt = now
	case *portico.Application:
		v.UpdatedAt = now
	case *portico.Subscription:
		v.UpdatedAt = now
	}
}

// del records the deletion of the entity of kind and id, once.
func (p *planner) del(kind portico.Kind, id, name string) {
	if p.deleted[id] {
		return
	}
	p.deleted[id] = true
	p.dels = append(p.dels, change{portico.Delete(kind, id), Source{Entity: string(kind) + " " + name}})
	p.diffs = append(p.diffs, Difference{Action: Delete, Kind: kind, Name: name})
}

// ownerID resolves a file's owner username; "" keeps cur, or for a new
// entity gives o.Owner.
func (p *planner) ownerID(field, username, cur string) (string, error) {
	if username == "" {
		return cmp.Or(cur, p.o.Owner), nil
	}
	u := p.user(username)
	if u == nil {
		return "", p.failf(field, "no user %s", quoteValue(username))
	}
	return u.ID, nil
}

// user returns the user known by username once the apply is done.
func (p *planner) user(username string) *portico.User {
	k := strings.ToLower(username)
	if u, ok := p.users[k]; ok {
		return u
	}
	if u := p.cfg.UserByName(username); u != nil && !p.deleted[u.ID] {
		return u
	}
	return nil
}

func (p *planner) planUsers() error {
	if p.f.Users == nil {
		return nil
	}
	inFile := map[string]bool{}
	for i, fu := range *p.f.Users {
		path := fmt.Sprintf("users[%d]", i)
		old := p.cfg.UserByName(fu.Username)
		var u portico.User
		if old != nil {
			u = *old
		} else {
			u = portico.User{ID: p.o.NewID(portico.KindUser, strings.ToLower(fu.Username)), CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
		}
		u.Username, u.Email, u.Roles, u.WebhookURL = fu.Username, fu.Email, slices.Clone(fu.Roles), fu.WebhookURL
		u.Disabled, u.Internal, u.PendingApproval = fu.Disabled, fu.Internal, fu.PendingApproval
		name := "user " + fu.Username
		if err := p.validate(path, name, &u, old); err != nil {
			return err
		}
		inFile[u.ID] = true
		p.users[strings.ToLower(fu.Username)] = &u
		p.put(portico.KindUser, fu.Username, Source{path, name}, &u, old, userFileOrNil(old), userFile(&u))
	}
	if !p.pruning() {
		return nil
	}
	for _, u := range portico.Sorted(p.cfg.Users, userCreated) {
		if !inFile[u.ID] {
			p.deleteUser(u)
		}
	}
	return nil
}

func userFileOrNil(u *portico.User) any {
	if u == nil {
		return nil
	}
	return userFile(u)
}

// deleteUser deletes u with its applications (their keys and
// subscriptions), as the admin API does; groups lose it as a member in
// planGroups.
func (p *planner) deleteUser(u *portico.User) {
	p.del(portico.KindUser, u.ID, u.Username)
	p.users[strings.ToLower(u.Username)] = nil
	for _, a := range portico.Sorted(p.cfg.ApplicationsOf(u.ID), appCreated) {
		p.deleteApp(a)
	}
}

func (p *planner) deleteApp(a *portico.Application) {
	name := p.storedAppName(a)
	for _, k := range portico.Sorted(p.cfg.KeysOf(a.ID), keyCreated) {
		p.del(portico.KindKey, k.ID, keyName(k.Prefix, name))
	}
	for _, s := range portico.Sorted(p.cfg.SubscriptionsOf(a.ID), subCreated) {
		p.del(portico.KindSubscription, s.ID, p.subName(name, s))
	}
	p.del(portico.KindApplication, a.ID, name)
}

// storedAppName returns the name of application a of the store.
func (p *planner) storedAppName(a *portico.Application) string {
	owner := a.Owner
	if u := p.cfg.Users.Get(a.Owner); u != nil {
		owner = u.Username
	}
	return appName(a.Name, owner)
}

func keyName(prefix, app string) string { return prefix + "… (" + app + ")" }

func (p *planner) subName(app string, s *portico.Subscription) string {
	api := s.APIID
	if a := p.cfg.APIs.Get(s.APIID); a != nil {
		api = apiName(a.Name, a.Version)
	}
	return app + " → " + api
}

func (p *planner) planGroups() error {
	inFile := map[string]bool{}
	if p.f.Groups != nil {
		for i, fg := range *p.f.Groups {
			path := fmt.Sprintf("groups[%d]", i)
			old := p.cfg.GroupByName(fg.Name)
			var g portico.Group
			if old != nil {
				g = *old
			} else {
				g = portico.Group{ID: p.o.NewID(portico.KindGroup, strings.ToLower(fg.Name)), Members: []string{}, CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
			}
			g.Name, g.Description = fg.Name, fg.Description
			if fg.Members != nil {
				g.Members = make([]string, 0, len(*fg.Members))
				for j, m := range *fg.Members {
					u := p.user(m)
					if u == nil {
						return p.failf(fmt.Sprintf("%s.members[%d]", path, j), "group %s: no user %s", fg.Name, quoteValue(m))
					}
					g.Members = append(g.Members, u.ID)
				}
			} else {
				g.Members = p.liveMembers(g.Members)
			}
			name := "group " + fg.Name
			if err := p.validate(path, name, &g, old); err != nil {
				return err
			}
			inFile[g.ID] = true
			p.groups[strings.ToLower(fg.Name)] = &g
			p.put(portico.KindGroup, fg.Name, Source{path, name}, &g, old, groupFileOrNil(p, old), p.n.groupFile(&g))
		}
	}
	for _, g := range portico.Sorted(p.cfg.Groups, groupCreated) {
		switch {
		case inFile[g.ID]:
		case p.f.Groups != nil && p.pruning():
			p.del(portico.KindGroup, g.ID, g.Name)
		default:
			// Kept; a member the apply deletes goes, as the admin API's
			// deletion of a user takes it out of its groups.
			if m := p.liveMembers(g.Members); len(m) != len(g.Members) {
				n := *g
				n.Members, n.UpdatedAt = m, p.o.Now
				p.byID[n.ID] = &n
				p.puts = append(p.puts, change{portico.Put(&n), Source{Entity: "group " + g.Name}})
				p.diffs = append(p.diffs, Difference{Action: Update, Kind: portico.KindGroup, Name: g.Name,
					Fields: fieldChanges(p.old.groupFile(g), p.n.groupFile(&n))})
			}
		}
	}
	return nil
}

// liveMembers returns the members the apply does not delete.
func (p *planner) liveMembers(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !p.deleted[id] {
			out = append(out, id)
		}
	}
	return out
}

func groupFileOrNil(p *planner, g *portico.Group) any {
	if g == nil {
		return nil
	}
	return p.old.groupFile(g)
}

// planKey is the key of owner's plan name, in any case.
func planKey(owner, name string) string { return owner + "\x00" + strings.ToLower(name) }

// storedPlan returns the stored plan of owner (a user ID) named name, nil
// when there is none, or an error when two have the name.
func (p *planner) storedPlan(field, owner, name string) (*portico.Plan, error) {
	var found *portico.Plan
	for _, pl := range p.cfg.PlansNamed(owner, name) {
		if p.deleted[pl.ID] {
			continue
		}
		if found != nil {
			return nil, p.failf(field, "the store has two plans of %s named %s (%s and %s): a file cannot tell them apart; rename one",
				p.username(owner), quoteValue(name), found.ID, pl.ID)
		}
		found = pl
	}
	return found, nil
}

// username returns the username of the user with ID id, as the apply
// leaves it.
func (p *planner) username(id string) string {
	if u := p.n.users(id); u != nil {
		return u.Username
	}
	return id
}

func (p *planner) planPlans() error {
	if p.f.Plans == nil {
		return nil
	}
	inFile := map[string]bool{}
	paths := map[string]string{} // planKey → the path that gives it
	for i, fp := range *p.f.Plans {
		path := fmt.Sprintf("plans[%d]", i)
		owner, err := p.ownerID(path+".owner", fp.Owner, "")
		if err != nil {
			return err
		}
		key := planKey(owner, fp.Name)
		name := planName(fp.Name, p.username(owner))
		if first, ok := paths[key]; ok {
			return p.failf(path, "plan %s is given twice (also %s): a plan whose owner is left out is one of whoever applies the file", name, first)
		}
		paths[key] = path
		old, err := p.storedPlan(path+".name", owner, fp.Name)
		if err != nil {
			return err
		}
		var pl portico.Plan
		if old != nil {
			pl = *old
		} else {
			pl = portico.Plan{ID: p.o.NewID(portico.KindPlan, key), Owner: owner, CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
		}
		pl.Name, pl.Description, pl.Shared, pl.AutoApprove = fp.Name, fp.Description, fp.Shared, fp.AutoApprove
		pl.RateLimit, pl.Quota, pl.OnDatastoreError = cloneRate(fp.RateLimit), cloneQuota(fp.Quota), fp.OnDatastoreError
		if err := p.validate(path, "plan "+name, &pl, old); err != nil {
			return err
		}
		inFile[pl.ID] = true
		p.plans[key] = &pl
		var oldF any
		if old != nil {
			oldF = p.old.planFile(old)
		}
		p.put(portico.KindPlan, name, Source{path, "plan " + name}, &pl, old, oldF, p.n.planFile(&pl))
	}
	if p.pruning() {
		for _, pl := range portico.Sorted(p.cfg.Plans, planCreated) {
			if !inFile[pl.ID] {
				p.del(portico.KindPlan, pl.ID, planName(pl.Name, p.username(pl.Owner)))
				p.plans[planKey(pl.Owner, pl.Name)] = nil
			}
		}
	}
	return nil
}

// planFor returns the plan ref names as the apply leaves it, from an
// entity of owner (a user ID): ref's owner's plan when it names one, else
// owner's.
func (p *planner) planFor(field string, ref PlanRef, owner string) (*portico.Plan, error) {
	implied := ref.Owner == ""
	if !implied {
		u := p.user(ref.Owner)
		if u == nil {
			return nil, p.failf(field, "plan %s: no user %s", quoteValue(ref.Name), quoteValue(ref.Owner))
		}
		owner = u.ID
	}
	name := planName(ref.Name, p.username(owner))
	if pl, ok := p.plans[planKey(owner, ref.Name)]; ok {
		if pl == nil {
			return nil, p.failf(field, "plan %s is deleted by this apply (--prune: the file lacks it)", name)
		}
		return pl, nil
	}
	pl, err := p.storedPlan(field, owner, ref.Name)
	if err != nil || pl != nil {
		return pl, err
	}
	msg := fmt.Sprintf("no plan %s in the file or the store", name)
	if p.selectedTags != nil && p.f.Plans != nil {
		msg = fmt.Sprintf("no plan %s in the store (--select leaves the file's plans section out: apply it without --select first)", name)
	}
	if implied {
		msg += " (a plan named alone is one of the API's owner)"
		if others := p.plansNamed(ref.Name); len(others) > 0 {
			msg += fmt.Sprintf("; plans named %s belong to %s: name one as {name: %s, owner: USERNAME}", quoteValue(ref.Name), strings.Join(others, ", "), ref.Name)
		}
	}
	return nil, p.failf(field, "%s", msg)
}

// plansNamed returns the usernames of the owners of the plans named name
// once the apply is done, at most 5.
func (p *planner) plansNamed(name string) []string {
	var owners []string
	add := func(pl *portico.Plan) {
		if pl != nil && portico.SameName(pl.Name, name) && len(owners) < 5 && !slices.Contains(owners, p.username(pl.Owner)) {
			owners = append(owners, p.username(pl.Owner))
		}
	}
	for _, pl := range portico.Sorted(p.cfg.Plans, planCreated) {
		if !p.deleted[pl.ID] {
			add(p.n.plans(pl.ID))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.plans)) {
		if pl := p.plans[k]; pl != nil && p.cfg.Plans.Get(pl.ID) == nil {
			add(pl)
		}
	}
	return owners
}

// subPlan returns the plan ref names for a subscription to API a as the
// apply leaves them: with an owner, that owner's plan; by name alone the
// plan of that name a offers, or else one of a's owner.
func (p *planner) subPlan(field string, ref PlanRef, a *portico.API) (*portico.Plan, error) {
	if ref.Owner == "" {
		switch pl := p.n.offeredNamed(a, ref.Name); pl {
		case nil:
		case ambiguousPlan:
			return nil, p.failf(field, "API %s offers two plans named %s: name the subscription's as {name: %s, owner: USERNAME}",
				apiName(a.Name, a.Version), quoteValue(ref.Name), ref.Name)
		default:
			return pl, nil
		}
	}
	return p.planFor(field, ref, a.Owner)
}

func cloneRate(r *portico.RateLimit) *portico.RateLimit {
	if r == nil {
		return nil
	}
	c := *r
	c.Resources = slices.Clone(r.Resources)
	return &c
}

func cloneQuota(q *portico.Quota) *portico.Quota {
	if q == nil {
		return nil
	}
	c := *q
	return &c
}

// storedAPI returns the stored API of name and version, in any case, nil
// when there is none, or an error when two have them.
func (p *planner) storedAPI(field, name, version string) (*portico.API, error) {
	var found *portico.API
	for _, a := range portico.Sorted(p.cfg.APIsNamed(name, version), apiCreated) {
		if p.deleted[a.ID] {
			continue
		}
		if found != nil {
			return nil, p.failf(field, "the store has two APIs %s (%s and %s): a file cannot tell them apart; rename one", apiName(name, version), found.ID, a.ID)
		}
		found = a
	}
	return found, nil
}

func (p *planner) planAPIs() error {
	if p.f.APIs == nil {
		return nil
	}
	inFile := map[string]bool{}
	for i, fa := range *p.f.APIs {
		path := fmt.Sprintf("apis[%d]", i)
		name := "api " + apiName(fa.Name, fa.Version)
		old, err := p.storedAPI(path, fa.Name, fa.Version)
		if err != nil {
			return err
		}
		in, err := p.inSelection(path, &fa, old)
		if err != nil {
			return err
		}
		if !in {
			p.leftOut = append(p.leftOut, name)
			continue
		}
		a, extra, err := p.api(path, name, &fa, old)
		if err != nil {
			return err
		}
		inFile[a.ID] = true
		p.apis[portico.APINameKey(fa.Name, fa.Version)] = a
		var oldF any
		if old != nil {
			f, err := p.old.apiFile(old)
			if err != nil {
				return p.fail(path, name, err)
			}
			oldF = f
		}
		curF, err := p.n.apiFile(a)
		if err != nil {
			return p.fail(path, name, err)
		}
		p.put(portico.KindAPI, apiName(fa.Name, fa.Version), Source{path, name}, a, old, oldF, curF, extra...)
	}
	if p.o.Prune {
		for _, a := range portico.Sorted(p.cfg.APIs, apiCreated) {
			if !inFile[a.ID] && p.selected(a.Tags) {
				p.deleteAPI(a)
			}
		}
	}
	return nil
}

// inSelection reports whether the file's API fa, stored as old (nil:
// new), is in the selection of Options.Select: every API is without one.
// An API is in it when it carries a selected tag in the file or in the
// store; it must then carry one in both (when stored), else the apply is
// refused: it would take over an API outside the selection, or move one
// out of it.
func (p *planner) inSelection(path string, fa *API, old *portico.API) (bool, error) {
	if p.selectedTags == nil {
		return true, nil
	}
	inFile, inStore := p.selected(fa.Tags), old != nil && p.selected(old.Tags)
	switch {
	case !inFile && !inStore:
		return false, nil
	case inFile && old != nil && !inStore:
		return false, p.failf(path+".tags", "api %s: the store's API carries none of the selected tags (%s): "+
			"--select changes only APIs selected in the store too; change its tags with an apply without --select", apiName(fa.Name, fa.Version), p.selectedList())
	case !inFile && inStore:
		return false, p.failf(path+".tags", "api %s: the store's API carries a selected tag (%s) and the file's does not: "+
			"--select neither takes an API out of the selection nor leaves one selected unchanged; change its tags with an apply without --select", apiName(fa.Name, fa.Version), p.selectedList())
	}
	return true, nil
}

// selectedList names the selected tags for people.
func (p *planner) selectedList() string {
	tags := slices.Sorted(maps.Keys(p.selectedTags))
	return strings.Join(tags, ", ")
}

// deleteAPI deletes a and its subscriptions, and drops its document.
func (p *planner) deleteAPI(a *portico.API) {
	for _, s := range portico.Sorted(p.cfg.SubscriptionsTo(a.ID), subCreated) {
		app := s.ApplicationID
		if x := p.cfg.Applications.Get(s.ApplicationID); x != nil {
			app = p.storedAppName(x)
		}
		p.del(portico.KindSubscription, s.ID, p.subName(app, s))
	}
	p.del(portico.KindAPI, a.ID, apiName(a.Name, a.Version))
	p.apis[portico.APINameKey(a.Name, a.Version)] = nil
	if a.Document != nil {
		p.drops = append(p.drops, DocumentWrite{API: a.ID, SHA256: a.Document.SHA256})
	}
}

// api returns the API fa describes, changed from old (nil: new), and the
// differences its file form does not show (its secrets, its document).
func (p *planner) api(path, name string, fa *API, old *portico.API) (*portico.API, []FieldChange, error) {
	var a portico.API
	if old != nil {
		a = *old
	} else {
		a = portico.API{ID: p.o.NewID(portico.KindAPI, portico.APINameKey(fa.Name, fa.Version)), State: portico.Draft, CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
	}
	if old != nil && fa.Owner == "" && old.Owner != p.o.Owner {
		// Without this, a file written for the applier's own API would
		// change another user's API of that name and leave it theirs:
		// its owner could then point it anywhere (a probe's squatted
		// name took over the file's context and traffic).
		return nil, nil, p.failf(path, "API %s is %s's in the store, and the file leaves its owner out, which keeps an API's owner: "+
			"give owner: %s to change it as theirs, or your own username to take it over", apiName(fa.Name, fa.Version), p.username(old.Owner), p.username(old.Owner))
	}
	var err error
	if a.Owner, err = p.ownerID(path+".owner", fa.Owner, a.Owner); err != nil {
		return nil, nil, err
	}
	a.Name, a.Version, a.Context, a.Description, a.Tags = fa.Name, fa.Version, fa.Context, fa.Description, slices.Clone(fa.Tags)
	if fa.State != "" {
		a.State = fa.State
	}
	a.Visibility, a.Auth, a.JWTIssuers = fa.Visibility, slices.Clone(fa.Auth), cloneIssuers(fa.JWTIssuers)
	a.ForwardCredentials, a.IdentityHeaders, a.WebSocket, a.KeepAlive = fa.ForwardCredentials, fa.IdentityHeaders, fa.WebSocket, fa.KeepAlive
	a.Endpoint = portico.Endpoint{Type: fa.Endpoint.Type, Algorithm: fa.Endpoint.Algorithm, Targets: slices.Clone(fa.Endpoint.Targets)}
	a.Timeouts, a.Policies, a.Resources = fa.Timeouts, fa.Policies, slices.Clone(fa.Resources)
	a.Plans = make([]string, 0, len(fa.Plans))
	for j, ref := range fa.Plans {
		pl, err := p.planFor(fmt.Sprintf("%s.plans[%d]", path, j), ref, a.Owner)
		if err != nil {
			return nil, nil, err
		}
		a.Plans = append(a.Plans, pl.ID)
	}
	a.Groups = nil
	for j, gn := range fa.Groups {
		f := fmt.Sprintf("%s.groups[%d]", path, j)
		g, ok := p.groups[strings.ToLower(gn)]
		if !ok {
			if g = p.cfg.GroupByName(gn); g != nil && p.deleted[g.ID] {
				g = nil
			}
		}
		if g == nil {
			if p.selectedTags != nil && p.f.Groups != nil {
				return nil, nil, p.failf(f, "no group %s in the store (--select leaves the file's groups section out: apply it without --select first)", quoteValue(gn))
			}
			return nil, nil, p.failf(f, "no group %s", quoteValue(gn))
		}
		a.Groups = append(a.Groups, g.ID)
	}
	var extra []FieldChange
	a.Document = nil
	if d := fa.Document; d != nil {
		ref, changed, err := p.document(old, d)
		if err != nil {
			return nil, nil, p.fail(path+".document", name, err)
		}
		a.Document = ref
		if changed {
			p.docs = append(p.docs, DocumentWrite{API: a.ID, SHA256: ref.SHA256, Format: d.Format, Bytes: d.Content.Bytes(), Field: path + ".document"})
			from := "(none)"
			if old != nil && old.Document != nil {
				from = "sha256 " + old.Document.SHA256[:12] + "…"
			}
			extra = append(extra, FieldChange{Field: "document", From: from, To: "sha256 " + ref.SHA256[:12] + "…"})
		}
	} else if old != nil && old.Document != nil {
		extra = append(extra, FieldChange{Field: "document", From: "sha256 " + old.Document.SHA256[:12] + "…", To: "(none)"})
	}
	if old != nil && old.Document != nil && (a.Document == nil || a.Document.SHA256 != old.Document.SHA256) {
		p.drops = append(p.drops, DocumentWrite{API: old.ID, SHA256: old.Document.SHA256})
	}
	if err := p.validate(path, name, &a, old); err != nil {
		return nil, nil, err
	}
	if old != nil {
		extra = append(extra, secretChanges(old, &a)...)
	}
	return &a, extra, nil
}

func cloneIssuers(js []portico.JWTIssuer) []portico.JWTIssuer {
	out := slices.Clone(js)
	for i := range out {
		out[i].Algorithms = slices.Clone(out[i].Algorithms)
		out[i].Audience = slices.Clone(out[i].Audience)
	}
	return out
}

// secretChanges names the issuers whose hidden secret a changes.
func secretChanges(old, a *portico.API) []FieldChange {
	var out []FieldChange
	for i, j := range a.JWTIssuers {
		if j.Redacted().Key == j.Key {
			continue // no secret
		}
		var before string
		for _, o := range old.JWTIssuers {
			if o.Issuer == j.Issuer {
				before = o.Key
			}
		}
		if before != j.Key {
			out = append(out, FieldChange{Field: fmt.Sprintf("jwt_issuers[%d].key", i), From: "(secret)", To: "(another secret)"})
		}
	}
	return out
}

// document returns the reference to d for an API that had old's (nil:
// none), and whether d is a new document to store: the same document
// (by SHA-256, or by canonical form) keeps the stored one.
func (p *planner) document(old *portico.API, d *Document) (*portico.DocumentRef, bool, error) {
	b := d.Content.Bytes()
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	if old != nil && old.Document != nil && old.Document.Format == d.Format {
		if old.Document.SHA256 == sha {
			return old.Document, false, nil
		}
		if p.o.Document != nil {
			stored, err := p.o.Document(old)
			if err != nil && portico.ErrorCodeOf(err) != portico.ENotFound {
				return nil, false, err
			}
			if err == nil {
				if same, err := documentOf(d.Format, stored); err == nil && string(same.Content.Bytes()) == string(b) {
					return old.Document, false, nil
				}
			}
		}
	}
	ref := &portico.DocumentRef{Format: d.Format, Version: documentVersion(d), SHA256: sha, Size: int64(len(b)), ImportedAt: p.o.Now}
	return ref, true, nil
}

// documentVersion returns the version of its format d declares: an
// OpenAPI document's "openapi" (or Swagger's "swagger") field, "1.1" for
// WSDL.
func documentVersion(d *Document) string {
	if d.Format == portico.FormatWSDL {
		return "1.1"
	}
	var v struct {
		OpenAPI any `json:"openapi"`
		Swagger any `json:"swagger"`
	}
	json.Unmarshal(d.Content.Bytes(), &v)
	for _, x := range []any{v.OpenAPI, v.Swagger} {
		if s, ok := x.(string); ok && s != "" {
			return truncate(s, 20)
		}
	}
	return ""
}

// apiByName returns the API of name and version once the apply is done.
func (p *planner) apiByName(field, name, version string) (*portico.API, error) {
	if a, ok := p.apis[portico.APINameKey(name, version)]; ok {
		if a == nil {
			return nil, p.failf(field, "API %s is deleted by this apply (--prune: the file lacks it)", apiName(name, version))
		}
		return a, nil
	}
	a, err := p.storedAPI(field, name, version)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, p.failf(field, "no API %s in the file or the store", apiName(name, version))
	}
	return a, nil
}

func (p *planner) planApplications() error {
	if p.f.Applications == nil {
		return nil
	}
	inFile := map[string]bool{}
	for i, fa := range *p.f.Applications {
		path := fmt.Sprintf("applications[%d]", i)
		owner := p.user(fa.Owner)
		if owner == nil {
			return p.failf(path+".owner", "application %s: no user %s", fa.Name, quoteValue(fa.Owner))
		}
		var old *portico.Application
		for _, a := range p.cfg.ApplicationsNamed(owner.ID, fa.Name) {
			if old != nil {
				return p.failf(path+".name", "user %s has two applications named %s (%s and %s): a file cannot tell them apart; rename one", owner.Username, quoteValue(fa.Name), old.ID, a.ID)
			}
			old = a
		}
		var a portico.Application
		if old != nil {
			a = *old
		} else {
			a = portico.Application{ID: p.o.NewID(portico.KindApplication, owner.ID+"\x00"+strings.ToLower(fa.Name)), CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
		}
		a.Name, a.Description, a.Owner = fa.Name, fa.Description, owner.ID
		name := appName(fa.Name, owner.Username)
		if err := p.validate(path, "application "+name, &a, old); err != nil {
			return err
		}
		inFile[a.ID] = true
		var oldF any
		if old != nil {
			oldF = p.old.appFile(old)
		}
		p.put(portico.KindApplication, name, Source{path, "application " + name}, &a, old, oldF, p.n.appFile(&a))
		if err := p.planKeys(path, name, &fa, &a, old != nil); err != nil {
			return err
		}
		if err := p.planSubscriptions(path, name, &fa, &a, old != nil); err != nil {
			return err
		}
	}
	if p.pruning() {
		for _, a := range portico.Sorted(p.cfg.Applications, appCreated) {
			if !inFile[a.ID] {
				p.deleteApp(a)
			}
		}
	}
	return nil
}

func (p *planner) planKeys(path, app string, fa *Application, a *portico.Application, stored bool) error {
	if p.storeKeys == nil {
		p.storeKeys = make(map[string]*portico.Key, p.cfg.Keys.Len())
		for k := range p.cfg.Keys.Values() {
			p.storeKeys[k.Hash] = k
		}
	}
	inFile := map[string]bool{}
	for j, fk := range fa.Keys {
		kp := fmt.Sprintf("%s.keys[%d]", path, j)
		name := keyName(fk.Prefix, app)
		old := p.storeKeys[fk.Hash]
		var k portico.Key
		switch {
		case old == nil:
			k = portico.Key{ID: p.o.NewID(portico.KindKey, fk.Hash), ApplicationID: a.ID, Hash: fk.Hash, CreatedAt: p.o.Now}
		case old.ApplicationID != a.ID:
			other := old.ApplicationID
			if x := p.cfg.Applications.Get(old.ApplicationID); x != nil {
				other = p.storedAppName(x)
			}
			return p.failf(kp+".hash", "key %s belongs to application %s in the store, not to %s", name, other, app)
		case old.RevokedAt != nil:
			return p.failf(kp+".hash", "key %s was revoked: a revoked key never comes back; take it out of the file", name)
		case !old.ExpiresAt.Equal(fk.ExpiresAt) && !old.ExpiresAt.IsZero():
			return p.failf(kp+".expires_at", "key %s ends at %s: a key's end cannot be moved", name, old.ExpiresAt.Format(time.RFC3339))
		default:
			k = *old
		}
		if !fk.ExpiresAt.IsZero() && !fk.ExpiresAt.After(p.o.Now) && (old == nil || old.ExpiresAt.IsZero()) {
			// A key the apply creates, or gives an end, that has ended:
			// an ended key is no key to move or to end.
			return p.failf(kp+".expires_at", "key %s: expires_at %s is not in the future: a key the file creates or ends must end later; "+
				"take an ended key out of the file (revoke a live one by leaving it out with --prune)", name, fk.ExpiresAt.UTC().Format(time.RFC3339))
		}
		k.Prefix, k.ExpiresAt = fk.Prefix, fk.ExpiresAt.UTC()
		inFile[k.ID] = true
		var oldF any
		if old != nil {
			oldF = keyFile(old)
		}
		p.put(portico.KindKey, name, Source{kp, "key " + name}, &k, old, oldF, keyFile(&k))
	}
	if !stored || !p.pruning() {
		return nil
	}
	for _, k := range portico.Sorted(p.cfg.KeysOf(a.ID), keyCreated) {
		if !inFile[k.ID] && k.Live(p.o.Now) {
			n := *k
			now := p.o.Now
			n.RevokedAt = &now
			p.puts = append(p.puts, change{portico.Put(&n), Source{Entity: "key " + keyName(k.Prefix, app)}})
			p.diffs = append(p.diffs, Difference{Action: Update, Kind: portico.KindKey, Name: keyName(k.Prefix, app),
				Fields: []FieldChange{{Field: "revoked", From: "false", To: "true"}}})
		}
	}
	return nil
}

func (p *planner) planSubscriptions(path, app string, fa *Application, a *portico.Application, stored bool) error {
	current := map[string]*portico.Subscription{} // by API ID
	if stored {
		for _, s := range currentSubscriptions(p.cfg, a.ID) {
			current[s.APIID] = s
		}
	}
	inFile := map[string]bool{} // API IDs
	for j, fs := range fa.Subscriptions {
		sp := fmt.Sprintf("%s.subscriptions[%d]", path, j)
		api, err := p.apiByName(sp+".api", fs.API, fs.APIVersion)
		if err != nil {
			return err
		}
		name := app + " → " + apiName(fs.API, fs.APIVersion)
		old := current[api.ID]
		var s portico.Subscription
		if old != nil {
			s = *old
		} else {
			s = portico.Subscription{ID: p.o.NewID(portico.KindSubscription, a.ID+"\x00"+api.ID), ApplicationID: a.ID, APIID: api.ID, CreatedAt: p.o.Now, UpdatedAt: p.o.Now}
		}
		s.Status = cmp.Or(fs.Status, portico.Approved)
		if fs.Plan.Name != "" {
			pl, err := p.subPlan(sp+".plan", fs.Plan, api)
			if err != nil {
				return err
			}
			s.PlanID = pl.ID
		} else if old == nil {
			s.PlanID = ""
		}
		inFile[api.ID] = true
		var oldF any
		if old != nil {
			oldF = p.old.subFile(old)
		}
		p.put(portico.KindSubscription, name, Source{sp, "subscription " + name}, &s, old, oldF, p.n.subFile(&s))
	}
	if !stored || !p.pruning() {
		return nil
	}
	for _, s := range portico.Sorted(p.cfg.SubscriptionsOf(a.ID), subCreated) {
		if !inFile[s.APIID] {
			p.del(portico.KindSubscription, s.ID, p.subName(app, s))
		}
	}
	return nil
}

// kindOrder orders kinds as changes are written: puts in this order,
// deletes in the reverse.
var kindOrder = []portico.Kind{portico.KindUser, portico.KindGroup, portico.KindPlan, portico.KindAPI,
	portico.KindApplication, portico.KindKey, portico.KindSubscription}

func kindRank(k portico.Kind) int { return slices.Index(kindOrder, k) }

// diffOrder orders differences for people: plans, groups, APIs, then
// consumers.
var diffOrder = []portico.Kind{portico.KindPlan, portico.KindGroup, portico.KindAPI, portico.KindUser,
	portico.KindApplication, portico.KindKey, portico.KindSubscription}

func (p *planner) result() *Changeset {
	out := &Changeset{file: p.f, Documents: p.docs, LeftOut: p.leftOut}
	slices.SortStableFunc(p.dels, func(a, b change) int { return kindRank(b.c.Kind) - kindRank(a.c.Kind) })
	slices.SortStableFunc(p.puts, func(a, b change) int { return kindRank(a.c.Kind) - kindRank(b.c.Kind) })
	for _, c := range append(p.dels, p.puts...) {
		out.Changes = append(out.Changes, c.c)
		out.Sources = append(out.Sources, c.src)
	}
	// A document dropped by one API may still be another's, or the same
	// API's again: only those no API will refer to are dropped.
	kept := map[string]bool{}
	for _, d := range p.docs {
		kept[d.API+"/"+d.SHA256] = true
	}
	for _, c := range out.Changes {
		if c.API != nil && c.API.Document != nil {
			kept[c.API.ID+"/"+c.API.Document.SHA256] = true
		}
	}
	for _, d := range p.drops {
		if !kept[d.API+"/"+d.SHA256] {
			out.Dropped = append(out.Dropped, d)
			kept[d.API+"/"+d.SHA256] = true
		}
	}
	slices.SortStableFunc(p.diffs, func(a, b Difference) int {
		return cmp.Or(slices.Index(diffOrder, a.Kind)-slices.Index(diffOrder, b.Kind), strings.Compare(a.Name, b.Name))
	})
	out.Differences = p.diffs
	return out
}

func userCreated(u *portico.User) (int64, string)        { return u.CreatedAt.UnixNano(), u.ID }
func groupCreated(g *portico.Group) (int64, string)      { return g.CreatedAt.UnixNano(), g.ID }
func planCreated(p *portico.Plan) (int64, string)        { return p.CreatedAt.UnixNano(), p.ID }
func apiCreated(a *portico.API) (int64, string)          { return a.CreatedAt.UnixNano(), a.ID }
func appCreated(a *portico.Application) (int64, string)  { return a.CreatedAt.UnixNano(), a.ID }
func keyCreated(k *portico.Key) (int64, string)          { return k.CreatedAt.UnixNano(), k.ID }
func subCreated(s *portico.Subscription) (int64, string) { return s.CreatedAt.UnixNano(), s.ID }
