package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
	"github.com/portico-gw/portico/openapi"
	"github.com/portico-gw/portico/soap"
)

// Declarative configuration: GET /api/v1/config exports the
// configuration as a file (package configfile), POST
// /api/v1/config/apply makes the store match one, in one write. Both are
// for admins: the file is the whole configuration, and an apply may touch
// every owner's entities. The rules are the admin API's own, called, never
// restated: the checks of its bodies (validatePlan, validateAPI,
// keepSecrets, the user checks), of references and ownership
// (checkAPIRefs, ownerFor, disablesSelf), and the root's rules that its
// routes call too (portico.Config's CheckGroup, CheckSubscribe,
// Transition, the names' checks, what may be deleted, an enabled admin
// remaining, the plans in use, portico.Lifecycle's moves,
// portico.User.SetDisabled), on the Config the apply gives.

// configApplyResult is the answer of POST /api/v1/config/apply.
type configApplyResult struct {
	DryRun bool `json:"dry_run"`
	// Version is the configuration's version after the apply: the new
	// one when it changed something, else the current one.
	Version     int64                   `json:"version"`
	Changes     int                     `json:"changes"`
	Differences []configfile.Difference `json:"differences"`
	// LeftOut names what of the file a select=tag=… apply leaves
	// untouched: the sections other than apis, and the APIs carrying no
	// selected tag.
	LeftOut []string `json:"left_out,omitempty"`
}

// exportConfig answers GET /api/v1/config[?include=consumers]: the
// configuration as YAML (format_version 1), with the users and the
// applications, their keys (by hash) and subscriptions when asked.
func (s *Server) exportConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins export the configuration")
	}
	q := r.URL.Query()
	for name := range q {
		if name != "include" {
			return invalid(name, "unknown parameter %q; the export takes include=consumers", name)
		}
	}
	consumers := false
	for _, v := range q["include"] {
		if v != "consumers" {
			return invalid("include", "include takes consumers (users, applications, keys and subscriptions), not %q", v)
		}
		consumers = true
	}
	f, err := configfile.FromConfig(c.cfg, configfile.ExportOptions{
		Consumers: consumers,
		Now:       s.now(),
		Document:  func(a *portico.API) ([]byte, error) { return s.storedDocument(r.Context(), a) },
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/yaml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Portico-Config-Version", strconv.FormatInt(c.cfg.Version, 10))
	w.Write(configfile.Encode(f))
	return nil
}

// applyOptions are the parameters of an apply.
type applyOptions struct {
	prune, dryRun, allowNested bool
	tags                       []string
}

func applyOptionsOf(r *http.Request) (applyOptions, error) {
	var o applyOptions
	q := r.URL.Query()
	for name, vs := range q {
		switch name {
		case "prune", "dry_run", "allow_nested":
			if len(vs) != 1 {
				return o, invalid(name, "%s is given once", name)
			}
			b, err := strconv.ParseBool(vs[0])
			if err != nil {
				return o, invalid(name, "%s is true or false", name)
			}
			switch name {
			case "prune":
				o.prune = b
			case "dry_run":
				o.dryRun = b
			default:
				o.allowNested = b
			}
		case "select":
			for _, v := range vs {
				tag, ok := strings.CutPrefix(v, "tag=")
				if !ok || portico.CheckTags([]string{tag}) != nil {
					return o, invalid("select", "select is tag=TAG, a tag as APIs have them, not %.60q", v)
				}
				o.tags = append(o.tags, tag)
			}
		default:
			return o, invalid(name, "unknown parameter %q; the apply takes prune, select, dry_run and allow_nested", name)
		}
	}
	return o, nil
}

// applyConfig answers POST /api/v1/config/apply: it makes the store match
// the file of the body (YAML or JSON, at most configfile.MaxFileBytes) in
// one write — one configuration version, one propagation — or changes
// nothing and answers the first error, naming the entity and the field
// (and the line of the body). With dry_run=true it only answers what
// would change.
func (s *Server) applyConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins apply a configuration file")
	}
	o, err := applyOptionsOf(r)
	if err != nil {
		return err
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, configfile.MaxFileBytes)}
	b, err := io.ReadAll(body)
	if err != nil {
		w.Header().Set("Connection", "close")
		return readError(err)
	}
	// The file is read into a tree of about 330 bytes a value: parsed in
	// one of the node's parse slots, as an imported document is, so that
	// applies and imports together hold at most maxParses trees.
	release, err := s.parseSlot(r.Context())
	if err != nil {
		return err
	}
	f, err := configfile.Decode(b)
	release()
	if err != nil {
		return err
	}
	a := &applier{s: s, f: f, o: o, ids: map[string]string{}, docs: map[string][]byte{}, checked: map[string]bool{}}
	// A first plan against the Config of the request, outside the write
	// lock: refusals, the documents' checks and writes, and the webhook
	// checks cost no time under it.
	cs, err := a.plan(r.Context(), c.cfg, c.user)
	if err == nil {
		err = a.prepare(r.Context(), c.cfg, cs)
	}
	if err != nil || o.dryRun {
		a.undo()
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, configApplyResult{DryRun: true, Version: c.cfg.Version, Changes: len(cs.Changes), Differences: differences(cs), LeftOut: cs.LeftOut})
		return nil
	}
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		cs, err = a.plan(r.Context(), t.cfg, t.me)
		if err == nil {
			err = a.prepare(r.Context(), t.cfg, cs)
		}
		if err != nil {
			return err
		}
		t.changes = append(t.changes, cs.Changes...)
		return nil
	})
	if err != nil {
		a.undo()
		return err
	}
	for _, d := range cs.Dropped {
		s.dropDocument(d.API, d.SHA256)
	}
	writeJSON(w, http.StatusOK, configApplyResult{Version: s.cv.Load().Version, Changes: len(cs.Changes), Differences: differences(cs), LeftOut: cs.LeftOut})
	return nil
}

func differences(cs *configfile.Changeset) []configfile.Difference {
	if cs.Differences == nil {
		return []configfile.Difference{}
	}
	return cs.Differences
}

// applier is one apply: its file and options, and what it keeps between
// the plan outside the write lock and those under it.
type applier struct {
	s *Server
	f *configfile.File
	o applyOptions

	ids     map[string]string // the IDs of new entities, by kind and name: the same in every plan
	docs    map[string][]byte // stored documents read, by API ID "/" SHA-256
	checked map[string]bool   // documents checked (and stored, unless a dry run), webhook URLs checked
	written []configfile.DocumentWrite
}

// plan plans the apply against cfg for the caller me and checks the
// result by the admin API's rules.
func (a *applier) plan(ctx context.Context, cfg *portico.Config, me *portico.User) (*configfile.Changeset, error) {
	now := a.s.now()
	cs, err := configfile.Plan(a.f, cfg, configfile.Options{
		Prune:  a.o.prune,
		Select: a.o.tags,
		Owner:  me.ID,
		Now:    now,
		NewID: func(k portico.Kind, key string) string {
			id, ok := a.ids[string(k)+"\x00"+key]
			if !ok {
				id = portico.NewID()
				a.ids[string(k)+"\x00"+key] = id
			}
			return id
		},
		Validate: func(e, old any) error { return validateEntity(e, old, now) },
		Document: func(x *portico.API) ([]byte, error) {
			k := x.ID + "/" + x.Document.SHA256
			if b, ok := a.docs[k]; ok {
				return b, nil
			}
			b, err := a.s.storedDocument(ctx, x)
			if err == nil {
				a.docs[k] = b
			}
			return b, err
		},
	})
	if err != nil {
		return nil, err
	}
	if err := checkApply(cfg, me, cs, a.o.allowNested); err != nil {
		return nil, err
	}
	return cs, nil
}

// validateEntity is the Validate of the plan: the checks, and the
// defaults, of the admin API's POST and PUT bodies.
func validateEntity(e, old any, now time.Time) error {
	switch v := e.(type) {
	case *portico.Plan:
		return validatePlan(v)
	case *portico.API:
		if o, _ := old.(*portico.API); o != nil {
			keepSecrets(v, o)
		}
		return validateAPI(v)
	case *portico.Group:
		return v.Validate()
	case *portico.User:
		if err := checkUsername(v.Username); err != nil {
			return err
		}
		roles, err := checkRoles(v.Roles)
		if err != nil {
			return err
		}
		v.Roles = roles
		if err := checkEmail(v.Email); err != nil {
			return err
		}
		if err := checkWebhook(v.WebhookURL); err != nil {
			return err
		}
		if v.PendingApproval && !v.Disabled {
			return invalid("pending_approval", "a user pending approval is disabled until an admin approves it: "+
				"give disabled: true, or approve it with disabled: false and without pending_approval")
		}
		o, _ := old.(*portico.User)
		if o == nil {
			return nil // a new user as the file gives it: pending approval on the store it came from, say
		}
		// A user is disabled and enabled as the routes do it
		// (portico.User.SetDisabled), which also says what becomes of its
		// pending approval: the file must say the same.
		disabled, pending := v.Disabled, v.PendingApproval
		v.Disabled, v.PendingApproval = o.Disabled, o.PendingApproval
		v.SetDisabled(disabled, now)
		switch {
		case pending == v.PendingApproval:
		case pending:
			return invalid("pending_approval", "only a sign-up makes a user pending approval")
		default:
			return invalid("pending_approval", "a user leaves pending approval by being approved: give disabled: false")
		}
		return nil
	case *portico.Application:
		if err := text("name", v.Name, true, maxName); err != nil {
			return err
		}
		return text("description", v.Description, false, maxDescription)
	}
	return nil
}

// prepare checks, and unless a dry run stores, the documents the plan
// writes, checks that the gateway's request validator compiles the
// document of each API the plan makes validate requests (a new document,
// or validation turned on), and checks the webhook URLs it sets, once
// for all plans. cfg is the Config the plan changes.
func (a *applier) prepare(ctx context.Context, cfg *portico.Config, cs *configfile.Changeset) error {
	for i, ch := range cs.Changes {
		u := ch.User
		if u == nil || u.WebhookURL == "" || a.checked["webhook "+u.WebhookURL] {
			continue
		}
		if err := a.s.checkWebhookURL(ctx, &u.WebhookURL); err != nil {
			return cs.Error(i, err)
		}
		a.checked["webhook "+u.WebhookURL] = true
	}
	newDocs := map[string][]byte{} // by API ID "/" SHA-256
	for _, d := range cs.Documents {
		k := d.API + "/" + d.SHA256
		newDocs[k] = d.Bytes
		if a.checked[k] {
			continue
		}
		release, err := a.s.parseSlot(ctx)
		if err != nil {
			return err
		}
		err = checkDocument(d)
		release()
		if err != nil {
			return err
		}
		if !a.o.dryRun {
			ds := a.s.documents()
			if ds == nil {
				return portico.Errorf(portico.EUnavailable, "this node keeps no documents: its store is not a document store")
			}
			if err := ds.PutDocument(ctx, d.API, d.SHA256, d.Bytes); err != nil {
				return a.s.storeError("storing an API's document", err)
			}
			a.written = append(a.written, d)
		}
		a.checked[k] = true
	}
	for i, ch := range cs.Changes {
		x := ch.API
		if !validates(x) || x.Document.Format != portico.FormatOpenAPI {
			continue
		}
		k := x.ID + "/" + x.Document.SHA256
		doc, isNew := newDocs[k]
		old := cfg.APIs.Get(x.ID)
		if a.checked["validator "+k] || (!isNew && validates(old)) {
			continue // checked, or the document the gateway validates with already
		}
		field := "document.content"
		if !isNew {
			field = "policies.validate_requests"
			var err error
			if doc, err = a.s.storedDocument(ctx, x); err != nil {
				return err
			}
		}
		release, err := a.s.parseSlot(ctx)
		if err != nil {
			return err
		}
		err = checkValidator(doc, field)
		release()
		if err != nil {
			return cs.Error(i, err)
		}
		a.checked["validator "+k] = true
	}
	return nil
}

// checkDocument checks a document the apply stores as the import checks
// it: an OpenAPI document openapi.Parse takes, a WSDL one soap.ParseWSDL
// takes.
func checkDocument(d configfile.DocumentWrite) error {
	field := d.Field + ".content"
	var err error
	if d.Format == portico.FormatWSDL {
		_, err = soap.ParseWSDL(d.Bytes)
	} else {
		_, err = openapi.Parse(d.Bytes)
	}
	if err != nil {
		return portico.FieldErrorf(portico.ErrorCodeOf(err), field, "%s: the %s document is refused: %s", field, d.Format, portico.ErrorMessageOf(err))
	}
	return nil
}

// undo deletes the documents this apply stored, when no API refers to
// them.
func (a *applier) undo() {
	for _, d := range a.written {
		a.s.dropDocument(d.API, d.SHA256)
	}
}

// checkApply checks the changes of cs, which make cfg into the Config
// they give, by the admin API's rules, against that Config: an apply is
// one change, so what it creates, keeps and deletes is checked as it
// will be, not as it is before. me is the caller, an admin.
func checkApply(cfg *portico.Config, me *portico.User, cs *configfile.Changeset, allowNested bool) error {
	final := cfg.With(cfg.Version, cs.Changes...)
	final.APIByContext("") // the index, built once: each check derives from it
	t := &tx{cfg: final, me: me}
	// Two APIs of one context: the Config's index of contexts holds one
	// API per context, so the checks below, which derive from it, would
	// not see it.
	byCtx := make(map[string][]*portico.API, final.APIs.Len())
	for a := range final.APIs.Values() {
		byCtx[a.Context] = append(byCtx[a.Context], a)
	}
	for i, ch := range cs.Changes {
		if a := ch.API; a != nil {
			for _, o := range byCtx[a.Context] {
				if o.ID != a.ID {
					return cs.Error(i, portico.FieldErrorf(portico.EConflict, "context", "context %q is also API %q %s's", a.Context, o.Name, o.Version))
				}
			}
		}
	}
	changed := false
	for i, ch := range cs.Changes {
		err := checkChange(cfg, final, t, ch, allowNested)
		if err != nil {
			return cs.Error(i, err)
		}
		changed = changed || ch.Kind == portico.KindUser
	}
	if changed {
		if err := final.CheckEnabledAdmin(); err != nil {
			return portico.FieldErrorf(portico.EConflict, "users", "the apply leaves no enabled admin; keep at least one")
		}
		if disablesSelf(me, final.Users.Get(me.ID)) {
			return portico.FieldErrorf(portico.EConflict, "users", "you cannot disable yourself (user %s)", me.Username)
		}
	}
	return nil
}

// checkChange checks one change ch of the apply.
func checkChange(cfg, final *portico.Config, t *tx, ch portico.Change, allowNested bool) error {
	switch {
	case ch.Plan != nil:
		old := cfg.Plans.Get(ch.ID)
		if _, err := ownerFor(t, ch.Plan.Owner, ownerOf(old, t.me), true); err != nil {
			return err
		}
		return final.CheckPlanName(ch.Plan)
	case ch.API != nil:
		return checkAPIChange(cfg, final, t, ch.API, allowNested)
	case ch.Group != nil:
		return final.CheckGroup(ch.Group)
	case ch.Application != nil:
		owner := t.me.ID
		if old := cfg.Applications.Get(ch.ID); old != nil {
			owner = old.Owner
		}
		if _, err := ownerFor(t, ch.Application.Owner, owner, false); err != nil {
			return err
		}
		return final.CheckApplicationName(ch.Application)
	case ch.Subscription != nil:
		return checkSubscriptionChange(cfg, final, ch.Subscription)
	case ch.Delete:
		return checkDelete(cfg, final, ch)
	}
	return nil
}

func ownerOf(p *portico.Plan, me *portico.User) string {
	if p == nil {
		return me.ID
	}
	return p.Owner
}

func checkAPIChange(cfg, final *portico.Config, t *tx, a *portico.API, allowNested bool) error {
	old := cfg.APIs.Get(a.ID)
	if err := oneOf("state", a.State, portico.Draft, portico.Published, portico.Deprecated, portico.Retired); err != nil {
		return err
	}
	if old != nil && !old.State.Reaches(a.State) {
		return portico.FieldErrorf(portico.EConflict, "state", "an API that is %s cannot become %s: "+
			"no lifecycle move (publish, deprecate, retire) leads there", old.State, a.State)
	}
	current := t.me.ID
	if old != nil {
		current = old.Owner
	}
	if _, err := ownerFor(t, a.Owner, current, true); err != nil {
		return err
	}
	// The checks of createAPI and updateAPI against the Config the apply
	// gives, but for a itself, which is as it was (or absent): what a
	// offered and where it was count as before.
	before := final.With(final.Version, portico.Delete(portico.KindAPI, a.ID))
	if old != nil {
		before = final.With(final.Version, portico.Put(old))
	}
	if err := checkAPIRefs(before, t.me, a, old, allowNested); err != nil {
		return err
	}
	return final.CheckPlansInUse(a)
}

func planName(cfg *portico.Config, id string) string {
	if p := cfg.Plans.Get(id); p != nil {
		return strconv.Quote(p.Name)
	}
	return id
}

// subscriptionMove gives the action that moves a subscription from one
// status to another (see portico.Config.Transition); a move it lacks is
// a new subscription (from cancelled to live, as when the application
// subscribes again) or is refused.
func subscriptionMove(from, to portico.SubscriptionStatus) (portico.SubscriptionAction, bool) {
	switch {
	case to == portico.Approved && (from == portico.Pending || from == portico.Evicted):
		return portico.ApproveSubscription, true
	case to == portico.Evicted:
		return portico.EvictSubscription, true
	case to == portico.Cancelled && from == portico.Evicted:
		return portico.LiftEviction, true
	case to == portico.Cancelled:
		return portico.CancelSubscription, true
	}
	return "", false
}

func checkSubscriptionChange(cfg, final *portico.Config, s *portico.Subscription) error {
	old := cfg.Subscriptions.Get(s.ID)
	a := final.APIs.Get(s.APIID)
	if a == nil {
		return portico.FieldErrorf(portico.EInvalid, "api", "no API %s", s.APIID)
	}
	if old != nil && old.Status == s.Status {
		if s.Status.Live() && !a.OffersPlan(s.PlanID) {
			return portico.FieldErrorf(portico.EInvalid, "plan", "API %q does not offer plan %s", a.Name, planName(final, s.PlanID))
		}
		return nil
	}
	if old != nil {
		if act, ok := subscriptionMove(old.Status, s.Status); ok {
			// Transition against the apply's Config, with the
			// subscription as it was.
			to, err := final.With(final.Version, portico.Put(old)).Transition(old, act)
			if err != nil {
				return fieldOf(err, "status")
			}
			if to != s.Status {
				return portico.FieldErrorf(portico.EConflict, "status", "a subscription that is %s cannot become %s", old.Status, s.Status)
			}
			return nil
		}
		if old.Status != portico.Cancelled || !s.Status.Live() {
			return portico.FieldErrorf(portico.EConflict, "status", "a subscription that is %s cannot become %s", old.Status, s.Status)
		}
	}
	if !s.Status.Live() {
		return nil // kept as it ended: evicted or cancelled
	}
	// A new (or renewed) live subscription: the rules of
	// createSubscription, against the apply's Config without it.
	return final.With(final.Version, portico.Delete(portico.KindSubscription, s.ID)).CheckSubscribe(s.ApplicationID, a, s.PlanID)
}

// fieldOf gives err, a *portico.Error, field when it names none.
func fieldOf(err error, field string) error {
	var pe *portico.Error
	if errors.As(err, &pe) && pe.Field == "" {
		c := *pe
		c.Field = field
		return &c
	}
	return err
}

// checkDelete checks a delete of the apply, which the file lacks, by the
// rules of what may be deleted (portico.Config's CheckDelete…): an API
// as it was (with the subscriptions the apply deletes with it), the
// others in the Config the apply gives.
func checkDelete(cfg, final *portico.Config, ch portico.Change) error {
	var err error
	switch ch.Kind {
	case portico.KindAPI:
		err = cfg.CheckDeleteAPI(cfg.APIs.Get(ch.ID))
	case portico.KindPlan:
		err = final.CheckDeletePlan(cfg.Plans.Get(ch.ID))
	case portico.KindGroup:
		err = final.CheckDeleteGroup(cfg.Groups.Get(ch.ID))
	case portico.KindUser:
		err = final.CheckDeleteUser(cfg.Users.Get(ch.ID))
	}
	if err != nil {
		return portico.Errorf(portico.ErrorCodeOf(err), "the file lacks it, and prune may not delete it: %s", portico.ErrorMessageOf(err))
	}
	return nil
}
