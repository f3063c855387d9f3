package configfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
)

// TestRoundTrip exports the fixture, applies the file to a store that
// holds only another admin, and exports that: the same bytes. The file
// holds no secret.
func TestRoundTrip(t *testing.T) {
	src := newFixture()
	f, b := src.export(t, true)
	for _, secret := range []string{hsSecret, "$2a$", "pk_live1-key", "password"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the export shows %q", secret)
		}
	}
	dst := &fixture{docs: map[string]string{}, cfg: portico.NewConfig().With(1,
		portico.Put(&portico.User{ID: "other-admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, CreatedAt: t0, UpdatedAt: t0}))}
	cs := dst.apply(t, f, configfile.Options{Prune: true})
	if len(cs.Documents) != 1 || string(cs.Documents[0].Bytes) != `{"openapi":"3.0.3","info":{"title":"Pets & more","version":"1.0"},"paths":{"/pets/{id}":{"get":{"operationId":"pet","responses":{"200":{"description":"a pet","x-n":1.50}}}}}}` {
		t.Errorf("documents to store: %+v", cs.Documents)
	}
	_, again := dst.export(t, true)
	if !bytes.Equal(again, b) {
		t.Fatalf("export → apply → export differs:\n%s\nwant\n%s", again, b)
	}
	if u := dst.cfg.UserByName("pat"); u == nil || u.PasswordHash != "" || u.ID == "u-pat" {
		t.Errorf("pat on the new store: %+v (a new ID, no password)", u)
	}
	if u := dst.cfg.UserByName("admin"); u.ID != "other-admin" {
		t.Errorf("the admin was replaced: %+v", u)
	}
	// The store of the first apply matches the file: nothing to do, with
	// or without prune.
	for _, prune := range []bool{false, true} {
		if cs := dst.plan(t, f, configfile.Options{Prune: prune}); len(cs.Changes)+len(cs.Differences) != 0 {
			t.Errorf("second apply (prune %v): %v", prune, cs.Lines())
		}
	}
}

// TestPlanSame plans the fixture's own file against it: nothing differs,
// although it holds what a file does not show (a revoked and an ended
// key, an older subscription, a document stored in another form than the
// file's).
func TestPlanSame(t *testing.T) {
	fx := newFixture()
	for _, consumers := range []bool{false, true} {
		f, _ := fx.export(t, consumers)
		for _, prune := range []bool{false, true} {
			cs := fx.plan(t, f, configfile.Options{Prune: prune})
			if len(cs.Changes) != 0 || len(cs.Differences) != 0 || len(cs.Documents) != 0 || len(cs.Dropped) != 0 {
				t.Errorf("consumers %v, prune %v: %v %+v", consumers, prune, cs.Lines(), cs.Changes)
			}
		}
	}
}

// TestPlanUpdate changes fields of the file: updates keep the entities'
// IDs and creation times, and the differences name entity and field.
func TestPlanUpdate(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, true)
	f := edit(t, b,
		"      limit: 100\n", "      limit: 200\n",
		"    plans: [gold, silver]\n    groups: [Partners]\n", "    plans: [gold]\n    groups: [Partners]\n",
		"    tags: [team-a, Forecast]\n", "    tags: [team-a, Forecast, new]\n",
		"        - url: http://10.1.0.6:7001/base\n", "        - url: http://10.1.0.7:7001/base\n",
		"    description: Sam's\n", "    description: Sam's app\n",
		"    members: [sam, Ann]\n", "    members: [Ann]\n",
		"        plan: silver\n        status: evicted\n", "        plan: gold\n        status: cancelled\n",
		"  - username: sam\n    roles: [subscriber]\n", "  - username: sam\n    roles: [subscriber, publisher]\n",
	)
	// silver is no longer offered by weather: ann's subscription moves to
	// gold, which the file says.
	cs := fx.plan(t, f, configfile.Options{})
	want := []string{
		"plan gold (pat): rate_limit.limit: 100 → 200",
		"group Partners: members: [sam Ann] → [Ann]",
		"api weather 1.0: tags: [team-a Forecast] → [team-a Forecast new]",
		"api weather 1.0: endpoint.targets[1].url: http://10.1.0.6:7001/base → http://10.1.0.7:7001/base",
		"api weather 1.0: plans: [gold silver] → [gold]",
		"user sam: roles: [subscriber] → [subscriber publisher]",
		"application sam-app (sam): description: Sam's → Sam's app",
		"subscription ann-app (Ann) → weather 1.0: plan: silver → gold",
		"subscription ann-app (Ann) → weather 1.0: status: evicted → cancelled",
	}
	if got := cs.Lines(); !slices.Equal(got, want) {
		t.Fatalf("differences:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ids := map[string]bool{}
	for _, c := range cs.Changes {
		if c.Delete {
			t.Errorf("a delete: %+v", c)
		}
		ids[c.ID] = true
	}
	for _, id := range []string{"p-gold", "g-partners", "a-weather", "u-sam", "c-sam", "s-ann"} {
		if !ids[id] {
			t.Errorf("no change of %s: %v", id, ids)
		}
	}
	if len(cs.Changes) != 6 {
		t.Errorf("%d changes, want 6", len(cs.Changes))
	}
	fx.apply(t, f, configfile.Options{})
	a := fx.cfg.APIs.Get("a-weather")
	if !a.CreatedAt.Equal(t0.Add(7*time.Minute)) || !a.UpdatedAt.Equal(now) || a.Document.SHA256 != sha(petsDoc) || a.JWTIssuers[1].Key != "" {
		// Without a Validate (the admin API's keeps the secret), the
		// file's issuer without a key has none.
		t.Errorf("weather after: %+v", a)
	}
	if cs := fx.plan(t, f, configfile.Options{}); len(cs.Changes) != 0 {
		t.Errorf("the same file again: %v", cs.Lines())
	}
}

// TestPlanPrune deletes what the file lacks with Prune, and nothing
// without; what depends on a deleted entity goes with it.
func TestPlanPrune(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, true)
	billing := "  - name: billing\n    version: \"2\"\n    context: /billing\n    tags: [team-b]\n    owner: admin\n    state: draft\n    visibility: public\n" +
		"    auth: [api_key]\n    endpoint:\n      type: single\n      targets:\n        - url: https://billing.internal\n          weight: 1\n    plans:\n      - name: gold\n        owner: pat\n"
	ann := "  - username: Ann\n    roles: [subscriber]\n    disabled: true\n    internal: true\n"
	annApp := "  - name: ann-app\n    owner: Ann\n    keys:\n      - prefix: pk_ann55\n        hash: " + portico.HashKey("pk_ann55-key") + "\n" +
		"    subscriptions:\n      - api: weather\n        api_version: \"1.0\"\n        plan: silver\n        status: evicted\n"
	f := edit(t, b, billing, "", ann, "", annApp, "",
		"    members: [sam, Ann]\n", "    members: [sam]\n",
		"      - prefix: pk_live1\n        hash: "+portico.HashKey("pk_live1-key")+"\n", "")
	if cs := fx.plan(t, f, configfile.Options{}); len(cs.Differences) != 1 || cs.Lines()[0] != "group Partners: members: [sam Ann] → [sam]" {
		t.Fatalf("without prune: %v", cs.Lines())
	}
	cs := fx.plan(t, f, configfile.Options{Prune: true})
	want := []string{
		"group Partners: members: [sam Ann] → [sam]",
		"delete api billing 2",
		"delete user Ann",
		"delete application ann-app (Ann)",
		"delete key pk_ann55… (ann-app (Ann))",
		"key pk_live1… (sam-app (sam)): revoked: false → true",
		"delete subscription ann-app (Ann) → weather 1.0",
	}
	if got := cs.Lines(); !slices.Equal(got, want) {
		t.Fatalf("differences:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Deletes first, dependents before what they depend on.
	var order []string
	for _, c := range cs.Changes {
		if c.Delete {
			order = append(order, string(c.Kind)+" "+c.ID)
		}
	}
	if want := []string{"subscription s-ann", "key k-ann", "application c-ann", "api a-billing", "user u-ann"}; !slices.Equal(order, want) {
		t.Errorf("deletes %v, want %v", order, want)
	}
	fx.apply(t, f, configfile.Options{Prune: true})
	if k := fx.cfg.Keys.Get("k-live"); k.RevokedAt == nil || !k.RevokedAt.Equal(now) {
		t.Errorf("the key the file lacks: %+v", k)
	}
	if fx.cfg.Keys.Get("k-revoked") == nil || fx.cfg.Keys.Get("k-ended").RevokedAt != nil || fx.cfg.Subscriptions.Get("s-old") == nil {
		t.Error("prune touched keys and subscriptions a file does not show")
	}
	if cs := fx.plan(t, f, configfile.Options{Prune: true}); len(cs.Changes) != 0 {
		t.Errorf("the same file again: %v", cs.Lines())
	}
	// A file without the consumer sections prunes no consumer.
	f, _ = fx.export(t, false)
	*f.APIs = (*f.APIs)[:0]
	*f.Groups = (*f.Groups)[:0]
	cs = fx.plan(t, f, configfile.Options{Prune: true})
	if got := cs.Lines(); !slices.Equal(got, []string{"delete group Partners", "delete api weather 1.0", "delete subscription sam-app (sam) → weather 1.0", "delete subscription sam-app (sam) → weather 1.0"}) {
		t.Errorf("no APIs, no groups: %v", got)
	}
	if len(cs.Dropped) != 1 || cs.Dropped[0].API != "a-weather" || cs.Dropped[0].SHA256 != sha(petsDoc) {
		t.Errorf("dropped documents %+v", cs.Dropped)
	}
}

// TestPlanSelect confines an apply to the APIs of a tag: the file's
// other sections and APIs are left out and reported, an API selected on
// one side only (in the file or in the store) is refused, and prune
// deletes only selected APIs.
func TestPlanSelect(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, true)
	f := edit(t, b, "    context: /billing\n", "    context: /billing/v2\n", "    context: /weather/v1\n", "    context: /weather/v9\n",
		"  - name: silver\n", "  - name: bronze\n", "    members: [sam, Ann]\n", "    members: []\n",
		"  - username: sam\n    roles: [subscriber]\n", "  - username: sam\n    roles: [admin]\n")
	cs := fx.plan(t, f, configfile.Options{Select: []string{"TEAM-B"}, Prune: true})
	if got := cs.Lines(); !slices.Equal(got, []string{"api billing 2: context: /billing → /billing/v2"}) {
		t.Errorf("select team-b: %v", got)
	}
	if want := []string{"plans", "groups", "users", "applications", "api weather 1.0"}; !slices.Equal(cs.LeftOut, want) {
		t.Errorf("left out %v, want %v", cs.LeftOut, want)
	}
	// Outside the selection: an API the store does not select given the
	// selected tag (taking it over), and a selected API given without it.
	for _, tc := range []struct {
		name, tags, sel, want string
	}{
		{"taken over", "    tags: [team-b]\n", "team-b", "api weather 1.0: the store's API carries none of the selected tags (team-b)"},
		{"taken out", "    tags: [Forecast]\n", "team-a", "api weather 1.0: the store's API carries a selected tag (team-a) and the file's does not"},
	} {
		f := edit(t, b, "    tags: [team-a, Forecast]\n", tc.tags)
		_, err := configfile.Plan(f, fx.cfg, configfile.Options{Select: []string{tc.sel}, Now: now})
		var e *configfile.Error
		if !errors.As(err, &e) || e.Field != "apis[1].tags" || e.Line != f.Line("apis[1].tags") || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %v; want apis[1].tags: %q", tc.name, err, tc.want)
		}
	}
	// A selected API's reference to a plan only the left-out section has.
	f = edit(t, b, "    plans: [gold, silver]\n", "    plans: [gold, platinum]\n", "  - name: silver\n", "  - name: platinum\n")
	if _, err := configfile.Plan(f, fx.cfg, configfile.Options{Select: []string{"team-a"}, Now: now}); err == nil ||
		!strings.Contains(err.Error(), "no plan platinum (pat) in the store (--select leaves the file's plans section out") {
		t.Errorf("a plan of the left-out section: %v", err)
	}
	// Pruning within the selection: the file lacks weather, tagged
	// team-a; billing, tagged team-b, stays, and so do the plans.
	g, _ := fx.export(t, false)
	*g.APIs = slices.DeleteFunc(*g.APIs, func(a configfile.API) bool { return a.Name == "weather" })
	*g.Plans = (*g.Plans)[:0]
	cs = fx.plan(t, g, configfile.Options{Prune: true, Select: []string{"team-a"}})
	if got := cs.Lines(); !slices.Equal(got, []string{"delete api weather 1.0", "delete subscription ann-app (Ann) → weather 1.0",
		"delete subscription sam-app (sam) → weather 1.0", "delete subscription sam-app (sam) → weather 1.0"}) {
		t.Errorf("prune team-a: %v", got)
	}
	if cs := fx.plan(t, g, configfile.Options{Prune: true, Select: []string{"team-c"}}); len(cs.Changes) != 0 {
		t.Errorf("prune team-c: %v", cs.Lines())
	}
}

// TestPlanRefuses plans files Plan must refuse, each naming the field and
// its line.
func TestPlanRefuses(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, true)
	stored := func(more ...portico.Change) func() { return func() { fx.cfg = newFixture().cfg.With(9, more...) } }
	for _, tc := range []struct {
		name  string
		setup func()
		pairs []string
		prune bool
		field string
		want  string
	}{
		{"unknown plan", nil, []string{"    plans: [gold, silver]\n", "    plans: [gold, silver, platinum]\n"}, false,
			"apis[1].plans[2]", `no plan platinum (pat) in the file or the store (a plan named alone is one of the API's owner)`},
		{"another owner's plan named alone", nil, []string{"      - name: gold\n        owner: pat\n", "      - gold\n"}, false,
			"apis[0].plans[0]", `no plan gold (admin) in the file or the store (a plan named alone is one of the API's owner); plans named "gold" belong to pat: name one as {name: gold, owner: USERNAME}`},
		{"a plan of an unknown owner", nil, []string{"        owner: pat\n", "        owner: nobody\n"}, false,
			"apis[0].plans[0]", `plan "gold": no user "nobody"`},
		{"unknown group", nil, []string{"    groups: [Partners]\n", "    groups: [partners, Others]\n"}, false,
			"apis[1].groups[1]", `no group "Others"`},
		{"unknown owner", nil, []string{"    owner: admin\n", "    owner: nobody\n"}, false,
			"apis[0].owner", `no user "nobody"`},
		{"another user's API, its owner left out", nil, []string{"    owner: admin\n", ""}, false,
			"apis[0]", `is admin's in the store, and the file leaves its owner out`},
		{"unknown member", nil, []string{"    members: [sam, Ann]\n", "    members: [sam, bob]\n"}, false,
			"groups[0].members[1]", `group Partners: no user "bob"`},
		{"unknown application owner", nil, []string{"    owner: sam\n", "    owner: bob\n"}, false,
			"applications[1].owner", `application sam-app: no user "bob"`},
		{"unknown API", nil, []string{"        api_version: \"1.0\"\n        plan: gold\n", "        api_version: \"9\"\n        plan: gold\n"}, false,
			"applications[1].subscriptions[0].api", `no API weather 9 in the file or the store`},
		{"pruned plan offered", nil, []string{"  - name: silver\n", "  - name: bronze\n"}, true,
			"apis[1].plans[1]", `plan silver (pat) is deleted by this apply`},
		{"revoked key", nil, []string{"      - prefix: pk_live1\n        hash: " + portico.HashKey("pk_live1-key"), "      - prefix: pk_old22\n        hash: " + portico.HashKey("pk_old22-key")}, false,
			"applications[1].keys[1].hash", "was revoked: a revoked key never comes back"},
		{"another application's key", nil, []string{"      - prefix: pk_ann55\n        hash: " + portico.HashKey("pk_ann55-key"), "      - prefix: pk_ann55\n        hash: " + portico.HashKey("pk_live1-key"),
			"      - prefix: pk_live1\n        hash: " + portico.HashKey("pk_live1-key"), "      - prefix: pk_live1\n        hash: " + portico.HashKey("pk_new-key")}, false,
			"applications[0].keys[0].hash", "belongs to application sam-app (sam) in the store, not to ann-app (Ann)"},
		{"a key's end moved", nil, []string{`expires_at: "2026-03-03T13:00:00Z"`, `expires_at: "2026-03-09T13:00:00Z"`}, false,
			"applications[1].keys[0].expires_at", "a key's end cannot be moved"},
		{"two stored plans of one name", stored(portico.Put(&portico.Plan{ID: "p-gold-2", Name: "GOLD", Owner: "u-pat"})), nil, false,
			"plans[0].name", `the store has two plans of pat named "gold"`},
		{"two stored APIs of one name", stored(portico.Put(&portico.API{ID: "a-w2", Name: "Weather", Version: "1.0", Context: "/w2"})), nil, false,
			"apis[1]", "the store has two APIs weather 1.0"},
		{"two stored applications of one name", stored(portico.Put(&portico.Application{ID: "c-sam-2", Name: "Sam-App", Owner: "u-sam"})), nil, false,
			"applications[1].name", `user sam has two applications named "sam-app"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx.cfg = newFixture().cfg
			if tc.setup != nil {
				tc.setup()
			}
			f := edit(t, b, tc.pairs...)
			cs, err := configfile.Plan(f, fx.cfg, configfile.Options{Prune: tc.prune, Now: now})
			var e *configfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("Plan = %v, %v; want an *Error", cs, err)
			}
			if e.Field != tc.field || !strings.Contains(e.Message, tc.want) || e.Line == 0 || e.Line != f.Line(tc.field) {
				t.Fatalf("error: line %d, field %q: %q; want line %d, field %q, containing %q", e.Line, e.Field, e.Message, f.Line(tc.field), tc.field, tc.want)
			}
		})
	}
}

// TestPlanValidate runs Options.Validate on each entity created or
// changed, with the stored one, before comparing: its defaults show no
// difference, its errors are placed in the file under the entity.
func TestPlanValidate(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, true)
	// The file leaves out what the admin API defaults.
	f := edit(t, b, "    on_datastore_error: local\n", "", "      window: fixed\n", "", "    visibility: public\n", "")
	var seen []string
	validate := func(e, old any) error {
		switch v := e.(type) {
		case *portico.Plan:
			seen = append(seen, "plan "+v.Name+fmt.Sprintf(" old=%v", old.(*portico.Plan) != nil))
			if v.OnDatastoreError == "" {
				v.OnDatastoreError = portico.DatastoreLocal
			}
			if v.RateLimit != nil && v.RateLimit.Window == "" {
				v.RateLimit.Window = portico.Fixed
			}
		case *portico.API:
			seen = append(seen, "api "+v.Name)
			if v.Visibility == "" {
				v.Visibility = portico.Public
			}
			if v.Endpoint.Type == "bogus" {
				return portico.FieldErrorf(portico.EInvalid, "endpoint.type", "endpoint.type must be single or load_balancer")
			}
		case *portico.Group:
			seen = append(seen, "group "+v.Name)
		case *portico.User:
			seen = append(seen, "user "+v.Username)
		case *portico.Application:
			seen = append(seen, "application "+v.Name)
		}
		return nil
	}
	cs := fx.plan(t, f, configfile.Options{Validate: validate})
	if len(cs.Changes) != 0 {
		t.Errorf("defaults the Validate fills show as differences: %v", cs.Lines())
	}
	if want := []string{"user admin", "user Ann", "user pat", "user sam", "group Partners", "plan gold old=true", "plan silver old=true",
		"api billing", "api weather", "application ann-app", "application sam-app"}; !slices.Equal(seen, want) {
		t.Errorf("validated %v, want %v", seen, want)
	}
	f = edit(t, b, "      type: single\n", "      type: bogus\n")
	_, err := configfile.Plan(f, fx.cfg, configfile.Options{Validate: validate, Now: now})
	var e *configfile.Error
	if !errors.As(err, &e) || e.Field != "apis[0].endpoint.type" || e.Line != f.Line("apis[0].endpoint.type") || e.Line == 0 ||
		e.Message != "api billing 2: endpoint.type must be single or load_balancer" || e.Code != portico.EInvalid {
		t.Fatalf("Plan = %#v", err)
	}
}

// TestPlanSecret: an HS256 secret is never shown, and a new one in the
// file is a difference.
func TestPlanSecret(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, false)
	f := edit(t, b, "      - issuer: internal\n", "      - issuer: internal\n        key: another-secret-of-32-bytes-or-more\n")
	cs := fx.plan(t, f, configfile.Options{})
	if got := cs.Lines(); !slices.Equal(got, []string{"api weather 1.0: jwt_issuers[1].key: (secret) → (another secret)"}) {
		t.Errorf("differences %v", got)
	}
	// The stored secret, given again, is no difference.
	f = edit(t, b, "      - issuer: internal\n", "      - issuer: internal\n        key: "+hsSecret+"\n")
	if cs := fx.plan(t, f, configfile.Options{}); len(cs.Changes) != 0 {
		t.Errorf("the same secret: %v", cs.Lines())
	}
}

// TestPlanDocuments: a document is the same when its canonical form is;
// a new one is stored before the change and the old one dropped after.
func TestPlanDocuments(t *testing.T) {
	fx := newFixture()
	_, b := fx.export(t, false)
	f := edit(t, b, "                  description: a pet\n", "                  description: one pet\n")
	cs := fx.plan(t, f, configfile.Options{})
	newDoc := `{"openapi":"3.0.3","info":{"title":"Pets & more","version":"1.0"},"paths":{"/pets/{id}":{"get":{"operationId":"pet","responses":{"200":{"description":"one pet","x-n":1.50}}}}}}`
	if len(cs.Documents) != 1 || string(cs.Documents[0].Bytes) != newDoc || cs.Documents[0].API != "a-weather" || cs.Documents[0].Field != "apis[1].document" {
		t.Fatalf("documents %+v", cs.Documents)
	}
	if len(cs.Dropped) != 1 || cs.Dropped[0].SHA256 != sha(petsDoc) {
		t.Errorf("dropped %+v", cs.Dropped)
	}
	if got := cs.Lines(); len(got) != 1 || got[0] != "api weather 1.0: document: sha256 "+sha(petsDoc)[:12]+"… → sha256 "+sha(newDoc)[:12]+"…" {
		t.Errorf("differences %v", got)
	}
	ref := cs.Changes[0].API.Document
	if ref.SHA256 != sha(newDoc) || ref.Size != int64(len(newDoc)) || ref.Version != "3.0.3" || !ref.ImportedAt.Equal(now) || ref.Format != portico.FormatOpenAPI {
		t.Errorf("reference %+v", ref)
	}
	// Without the stored document to compare, the other form is a change.
	f, _ = fx.export(t, false)
	if cs := fx.plan(t, f, configfile.Options{Document: func(*portico.API) ([]byte, error) {
		return nil, portico.Errorf(portico.ENotFound, "gone")
	}}); len(cs.Documents) != 1 {
		t.Errorf("documents without the stored one: %+v", cs.Documents)
	}
	if _, err := configfile.Plan(f, fx.cfg, configfile.Options{Document: func(*portico.API) ([]byte, error) {
		return nil, portico.Errorf(portico.EUnavailable, "the store is down")
	}}); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Errorf("a store that fails: %v", err)
	}
	// Taken out of the file, the document goes.
	f, _ = fx.export(t, false)
	(*f.APIs)[1].Document = nil
	cs = fx.plan(t, f, configfile.Options{})
	if got := cs.Lines(); len(got) != 1 || got[0] != "api weather 1.0: document: sha256 "+sha(petsDoc)[:12]+"… → (none)" ||
		len(cs.Dropped) != 1 || len(cs.Documents) != 0 || cs.Changes[0].API.Document != nil {
		t.Errorf("without the document: %v, dropped %+v", got, cs.Dropped)
	}
}

// TestFromConfigAmbiguous refuses to export names that tell entities not
// apart.
func TestFromConfigAmbiguous(t *testing.T) {
	for _, tc := range []struct {
		name string
		more portico.Change
		want string
	}{
		{"plans", portico.Put(&portico.Plan{ID: "p-gold-2", Name: "Gold", Owner: "u-pat", CreatedAt: now}), "plans p-gold and p-gold-2 are both plan Gold (pat) (names are compared in any case): a file knows them by name; rename one (PUT /api/v1/plans/p-gold-2)"},
		{"a plan without an owner", portico.Put(&portico.Plan{ID: "p-gold-2", Name: "gold", CreatedAt: now}), `plan "gold" (p-gold-2) has no owner a file can name`},
		{"apis", portico.Put(&portico.API{ID: "a-w2", Name: "WEATHER", Version: "1.0", Context: "/w2", CreatedAt: now}), "apis a-weather and a-w2 are both API WEATHER 1.0"},
		{"applications", portico.Put(&portico.Application{ID: "c-sam-2", Name: "Sam-App", Owner: "u-sam", CreatedAt: now}), "applications c-sam and c-sam-2 are both application Sam-App (sam)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newFixture().cfg.With(9, tc.more)
			_, err := configfile.FromConfig(cfg, configfile.ExportOptions{})
			if portico.ErrorCodeOf(err) != portico.EConflict || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromConfig = %v; want a conflict saying %q", err, tc.want)
			}
		})
	}
}

// TestPlanRefs: plans of other owners are named with their owner, a
// subscription's plan by name alone when the API offers one plan of that
// name, and both round trip; another owner's plan of the same name
// changes nothing of what a name alone refers to.
func TestPlanRefs(t *testing.T) {
	src := newFixture()
	w := *src.cfg.APIs.Get("a-weather")
	w.Plans = append(slices.Clone(w.Plans), "p-gold-admin")
	src.cfg = src.cfg.With(9,
		portico.Put(&portico.Plan{ID: "p-gold-admin", Name: "Gold", Owner: "u-admin", Quota: &portico.Quota{Limit: 5, Per: portico.Day, Mode: portico.Hard},
			OnDatastoreError: portico.DatastoreLocal, CreatedAt: now, UpdatedAt: now}),
		portico.Put(&w))
	f, b := src.export(t, true)
	for _, want := range []string{
		"    plans:\n      - gold\n      - silver\n      - name: Gold\n        owner: admin\n",                            // weather, pat's: pat's by name, admin's with the owner
		"      - api: weather\n        api_version: \"1.0\"\n        plan:\n          name: gold\n          owner: pat\n", // sam's: weather offers two plans of that name
		"        plan: silver\n", // ann's: one silver offered
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the export lacks %q:\n%s", want, b)
		}
	}
	dst := &fixture{docs: map[string]string{}, cfg: portico.NewConfig().With(1,
		portico.Put(&portico.User{ID: "other-admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, CreatedAt: t0, UpdatedAt: t0}))}
	dst.apply(t, f, configfile.Options{Prune: true})
	if _, again := dst.export(t, true); !bytes.Equal(again, b) {
		t.Fatalf("export → apply → export differs:\n%s\nwant\n%s", again, b)
	}
	// A publisher's own plan "gold" (mallory's) changes nothing.
	src.cfg = src.cfg.With(10,
		portico.Put(&portico.User{ID: "u-mal", Username: "mallory", Roles: []portico.Role{portico.RolePublisher}, CreatedAt: now, UpdatedAt: now}),
		portico.Put(&portico.Plan{ID: "p-gold-mal", Name: "GOLD", Owner: "u-mal", Quota: &portico.Quota{Limit: 1, Per: portico.Day, Mode: portico.Hard}, CreatedAt: now, UpdatedAt: now}))
	if cs := src.plan(t, f, configfile.Options{}); len(cs.Differences) != 0 {
		t.Errorf("another owner's plan of the name: %v", cs.Lines())
	}
	// Two plans of one name offered: a subscription's plan named alone is
	// refused, naming how to name it.
	bad := edit(t, b, "        plan:\n          name: gold\n          owner: pat\n", "        plan: gold\n")
	if _, err := configfile.Plan(bad, src.cfg, configfile.Options{Now: now}); err == nil || !strings.Contains(err.Error(), `API weather 1.0 offers two plans named "gold": name the subscription's as {name: gold, owner: USERNAME}`) {
		t.Errorf("an ambiguous subscription plan: %v", err)
	}
}
