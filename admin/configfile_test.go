package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/configfile"
)

// applied is the answer of POST /api/v1/config/apply.
type applied struct {
	DryRun      bool                    `json:"dry_run"`
	Version     int64                   `json:"version"`
	Changes     int                     `json:"changes"`
	Differences []configfile.Difference `json:"differences"`
}

func (a applied) lines() []string {
	var out []string
	for _, d := range a.Differences {
		out = append(out, d.Lines()...)
	}
	return out
}

// exportConfig answers GET /api/v1/config?query as c: the status and
// the body (YAML when 200).
func (c *client) exportConfig(query string) (int, string) {
	t := c.e.t
	t.Helper()
	req, _ := http.NewRequest("GET", c.e.url+"/api/v1/config"+query, nil)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/yaml; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Error("the export may be cached")
		}
	}
	return resp.StatusCode, string(b)
}

// apply posts file to /api/v1/config/apply?query.
func (c *client) apply(query, file string) *result {
	c.e.t.Helper()
	return c.do("POST", "/api/v1/config/apply"+query, file)
}

// applied decodes the answer of a successful apply.
func (r *result) applied() applied {
	r.t.Helper()
	var a applied
	r.want(200).decode(&a)
	return a
}

// configFile is a file of two plans, a group, two APIs (one published,
// nested under no other), a subscriber with an application, a key and a
// subscription. pat must exist (a publisher).
const configFile = `format_version: 1
plans:
  - name: gold
    owner: pat
    auto_approve: true
    rate_limit: {limit: 100, per: second}
  - name: silver
    owner: pat
    quota: {limit: 1000, per: month, mode: soft}
groups:
  - name: partners
    members: [sam]
apis:
  - name: weather
    version: "1.0"
    context: /weather/v1
    owner: pat
    state: published
    tags: [team-a]
    visibility: partner
    groups: [partners]
    endpoint: {type: single, targets: [{url: "http://10.0.0.5:7001"}]}
    plans: [gold, silver]
  - name: billing
    version: "2"
    context: /billing
    tags: [team-b]
    endpoint:
      type: load_balancer
      targets: [{url: "http://10.0.0.6:7001"}, {url: "http://10.0.0.7:7001", weight: 2}]
    plans: [{name: gold, owner: pat}]
users:
  - username: sam
    roles: [subscriber]
  - username: pat
    roles: [publisher]
  - username: admin
    roles: [admin]
applications:
  - name: sam-app
    owner: sam
    keys: [{prefix: pk_sam12, hash: KEYHASH}]
    subscriptions: [{api: weather, api_version: "1.0", plan: gold}]
`

func theFile() string {
	return strings.Replace(configFile, "KEYHASH", portico.HashKey("pk_sam12-the-key"), 1)
}

// TestConfigApply applies a file in one write — one version — and the
// same file again changes nothing; the export is the file, completed
// with the admin API's defaults, and applies as nothing.
func TestConfigApply(t *testing.T) {
	e := newEnv(t)
	checkUnchanged(t, e.cv)
	e.addUser("pat", portico.RolePublisher)
	before := e.store.snapshot().Version
	res := e.admin().apply("", theFile()).applied()
	want := []string{"create plan gold (pat)", "create plan silver (pat)", "create group partners", "create api billing 2", "create api weather 1.0",
		"create user sam", "create application sam-app (sam)", "create key pk_sam12… (sam-app (sam))", "create subscription sam-app (sam) → weather 1.0"}
	if got := res.lines(); !slices.Equal(got, want) || res.DryRun || res.Changes != 9 {
		t.Fatalf("apply: %+v\n%v", res, got)
	}
	after := e.store.snapshot()
	if after.Version != before+1 || res.Version != after.Version {
		t.Fatalf("the apply wrote versions %d to %d (answer %d): want one", before, after.Version, res.Version)
	}
	w := after.APIs.Get(findAPI(t, after, "weather").ID)
	if w.State != portico.Published || w.Owner != after.UserByName("pat").ID || len(w.Plans) != 2 || w.Groups[0] != after.GroupByName("partners").ID {
		t.Errorf("weather %+v", w)
	}
	if b := findAPI(t, after, "billing"); b.Owner != after.UserByName("admin").ID || b.State != portico.Draft ||
		b.Endpoint.Algorithm != portico.RoundRobin || b.Endpoint.Targets[0].Weight != 1 || b.Visibility != portico.Public {
		t.Errorf("billing, with the admin API's defaults, owned by who applied it: %+v", b)
	}
	sam := after.UserByName("sam")
	if sam.PasswordHash != "" || sam.Disabled {
		t.Errorf("sam %+v", sam)
	}
	// The key works at the gateway's lookup: its hash is stored.
	found := false
	for k := range after.Keys.Values() {
		found = found || k.Hash == portico.HashKey("pk_sam12-the-key")
	}
	if !found {
		t.Error("the key's hash is not stored")
	}

	res = e.admin().apply("?prune=true", theFile()).applied()
	if len(res.Differences) != 0 || res.Changes != 0 || e.store.snapshot().Version != after.Version || res.Version != after.Version {
		t.Fatalf("the same file again: %+v", res)
	}
	code, exported := e.admin().exportConfig("?include=consumers")
	if code != 200 || !strings.Contains(exported, "window: fixed") || !strings.Contains(exported, "hash: "+portico.HashKey("pk_sam12-the-key")) {
		t.Fatalf("export %d:\n%s", code, exported)
	}
	res = e.admin().apply("?prune=true", exported).applied()
	if len(res.Differences) != 0 {
		t.Errorf("the export applies as %v", res.lines())
	}
	if code, plain := e.admin().exportConfig(""); code != 200 || strings.Contains(plain, "users:") || strings.Contains(plain, "applications:") {
		t.Errorf("export without consumers %d:\n%s", code, plain)
	}
}

func findAPI(t *testing.T, cfg *portico.Config, name string) *portico.API {
	t.Helper()
	for a := range cfg.APIs.Values() {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no API %s", name)
	return nil
}

// TestConfigApplyDryRun answers what would change and changes nothing.
func TestConfigApplyDryRun(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	before := e.store.snapshot().Version
	res := e.admin().apply("?dry_run=true", theFile()).applied()
	if !res.DryRun || len(res.Differences) != 9 || res.Version != before || e.store.snapshot().Version != before {
		t.Fatalf("dry run %+v; store at %d", res, e.store.snapshot().Version)
	}
}

// TestConfigApplyRefuses: each refusal names the entity and the field of
// the file, and changes nothing — the good entities before the bad one
// included.
func TestConfigApplyRefuses(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	e.addUser("viewer", portico.RoleSubscriber)
	e.admin().apply("", theFile()).want(200)
	// An approved subscription on a published API, a retired API.
	for _, tc := range []struct {
		name   string
		query  string
		pairs  []string
		status int
		field  string
		want   string
	}{
		{"plan rule", "", []string{"rate_limit: {limit: 100, per: second}", "rate_limit: {limit: 0, per: second}"}, 400,
			"plans[0].rate_limit.limit", "plan gold (pat): rate_limit.limit must be greater than 0"},
		{"API rule", "", []string{`url: "http://10.0.0.5:7001"`, `url: "ftp://10.0.0.5"`}, 400,
			"apis[0].endpoint.targets[0].url", "api weather 1.0: endpoint.targets[0].url must be an absolute http or https URL"},
		{"unknown plan", "", []string{"plans: [gold, silver]", "plans: [gold, platinum]"}, 400,
			"apis[0].plans[1]", `no plan platinum (pat) in the file or the store`},
		{"same context", "", []string{"context: /billing", "context: /weather/v1"}, 409,
			"apis[1].context", `context "/weather/v1" is also API "weather"`},
		{"owner not a publisher", "", []string{"    owner: pat\n    state: published", "    owner: viewer\n    state: published",
			"plans: [gold, silver]", "plans: [{name: gold, owner: pat}, {name: silver, owner: pat}]"}, 400,
			"apis[0].owner", `owner "viewer" is neither a publisher nor an admin`},
		{"published without plans", "", []string{"plans: [gold, silver]", "plans: []"}, 400,
			"apis[0].plans", "must offer at least one plan"},
		{"back to draft", "", []string{"state: published", "state: draft"}, 409,
			"apis[0].state", "an API that is published cannot become draft"},
		{"a used plan taken off", "", []string{"plans: [gold, silver]", "plans: [silver]"}, 409,
			"apis[0].plans", `plan "gold" is used by subscription`},
		{"bad group", "", []string{"  - name: partners\n", "  - name: ''\n"}, 400,
			"groups[0].name", "name is required"},
		{"bad username", "", []string{"  - username: sam\n", "  - username: 'sam sam'\n"}, 400,
			"users[0].username", "user sam sam: username must be 1 to 64 letters"},
		{"bad role", "", []string{"roles: [subscriber]", "roles: [superuser]"}, 400,
			"users[0].roles[0]", "user sam: roles[0] must be one of admin, publisher, subscriber"},
		{"last admin", "", []string{"roles: [admin]", "roles: [publisher]"}, 409,
			"users", "leaves no enabled admin"},
		{"subscription to a plan not offered", "", []string{"api_version: \"1.0\", plan: gold}", "api_version: \"1.0\", plan: silver, status: approved}",
			"plans: [gold, silver]", "plans: [gold]"}, 409, "apis[0].plans", "is used by subscription"},
		{"a subscription back to pending", "", []string{"plan: gold}]", "plan: gold, status: pending}]"}, 409,
			"applications[0].subscriptions[0].status", "a subscription that is approved cannot become pending"},
		{"prune: an API with approved subscriptions", "?prune=true", []string{"  - name: weather\n    version: \"1.0\"\n", "  - name: weather2\n    version: \"1.0\"\n",
			"context: /weather/v1", "context: /weather/v2", "{api: weather,", "{api: weather2,"}, 409,
			"", `api weather 1.0: the file lacks it, and prune may not delete it: API "weather" has 1 approved subscriptions; retire it or evict them first`},
		{"prune: a plan offered by a kept API", "?prune=true", []string{"  - name: silver\n", "  - name: bronze\n", theFile()[strings.Index(theFile(), "apis:"):strings.Index(theFile(), "users:")], ""}, 409,
			"", `plan silver (pat): the file lacks it, and prune may not delete it: plan "silver" is offered by API "weather"`},
		{"unknown parameter", "?force=true", nil, 400, "force", "unknown parameter"},
		{"bad select", "?select=team-a", nil, 400, "select", "select is tag=TAG"},
		{"bad prune", "?prune=yes", nil, 400, "prune", "prune is true or false"},
		{"not a file", "", []string{"format_version: 1\n", "format_version: 1\nfoo: 1\n"}, 400, "foo", `line 2: foo: unknown field "foo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			before := e.store.snapshot()
			file := theFile()
			for i := 0; i+1 < len(tc.pairs); i += 2 {
				if !strings.Contains(file, tc.pairs[i]) {
					t.Fatalf("the file lacks %q", tc.pairs[i])
				}
				file = strings.Replace(file, tc.pairs[i], tc.pairs[i+1], 1)
			}
			r := e.admin().apply(tc.query, file)
			r.wantErr(tc.status, tc.field)
			var body struct{ Error struct{ Message string } }
			r.decode(&body)
			if !strings.Contains(body.Error.Message, tc.want) {
				t.Errorf("message %q lacks %q", body.Error.Message, tc.want)
			}
			if after := e.store.snapshot(); after.Version != before.Version {
				t.Errorf("the store changed: version %d → %d", before.Version, after.Version)
			}
		})
	}
}

// TestConfigApplyAllOrNothing: a file whose last entity is refused
// writes nothing, and stores no document.
func TestConfigApplyAllOrNothing(t *testing.T) {
	docs := &memDocs{}
	e := newEnv(t, func(s *admin.Server) { s.Documents = docs })
	e.addUser("pat", portico.RolePublisher)
	before := e.store.snapshot().Version
	file := strings.Replace(theFile(), "    plans: [{name: gold, owner: pat}]\n", "    plans: [{name: gold, owner: pat}]\n    document:\n      format: openapi\n      content: {openapi: 3.0.3, info: {title: B, version: '2'}, paths: {}}\n", 1)
	file = strings.Replace(file, "  - username: admin\n", "  - username: admin\n    webhook_url: not-a-url\n", 1)
	e.admin().apply("", file).wantErr(400, "users[2].webhook_url")
	if e.store.snapshot().Version != before || len(docs.keys()) != 0 {
		t.Fatalf("a refused apply wrote: version %d → %d, documents %v", before, e.store.snapshot().Version, docs.keys())
	}
	// The store failing the write: the document written first goes too.
	file = strings.Replace(file, "    webhook_url: not-a-url\n", "", 1)
	e.store.set(func(m *memStore) { m.fail = portico.Errorf(portico.EUnavailable, "down") })
	e.admin().apply("", file).want(503)
	e.store.set(func(m *memStore) { m.fail = nil })
	if len(docs.keys()) != 0 {
		t.Fatalf("documents after a failed write: %v", docs.keys())
	}
	res := e.admin().apply("", file).applied()
	if len(docs.keys()) != 1 || res.Changes != 9 {
		t.Fatalf("documents %v, changes %d", docs.keys(), res.Changes)
	}
}

// TestConfigApplyConflict: another node writes first; the apply plans
// again against the newer Config and still writes once.
func TestConfigApplyConflict(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	e.store.set(func(m *memStore) {
		m.conflicts = 1
		m.foreign = []portico.Change{portico.Put(&portico.Plan{ID: "other", Name: "bronze", Quota: &portico.Quota{Limit: 1, Per: portico.Day, Mode: portico.Hard}})}
	})
	before := e.store.snapshot().Version
	res := e.admin().apply("", theFile()).applied()
	after := e.store.snapshot()
	if after.Version != before+2 || res.Changes != 9 || after.Plans.Get("other") == nil || after.Plans.Len() != 3 {
		t.Fatalf("versions %d → %d, %+v", before, after.Version, res)
	}
}

// TestConfigPermissions: only admins export and apply.
func TestConfigPermissions(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pat", portico.RolePublisher)
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	for _, c := range []*client{pub, sub} {
		if code, _ := c.exportConfig(""); code != 403 {
			t.Errorf("%s exports: %d", c.user, code)
		}
		c.apply("?dry_run=true", theFile()).wantErr(403, "")
	}
	if code, _ := e.anon().exportConfig(""); code != 401 {
		t.Errorf("anonymous export: %d", code)
	}
	e.anon().apply("", theFile()).want(401)
	if code, body := e.admin().exportConfig("?include=everything"); code != 400 || !strings.Contains(body, "include takes consumers") {
		t.Errorf("include=everything: %d %s", code, body)
	}
}

// TestConfigSecretKept: an HS256 issuer's secret is not exported, and
// the export applied to the same store keeps it.
func TestConfigSecretKept(t *testing.T) {
	e := newEnv(t)
	const secret = "a-shared-secret-of-32-bytes-or-more!"
	plan := e.admin().do("POST", "/api/v1/plans", goldPlan("gold")).want(201).str("id")
	api := weatherAPI("/w", plan)
	api["auth"] = []string{"jwt"}
	api["jwt_issuers"] = []map[string]any{{"issuer": "internal", "key": secret, "algorithms": []string{"HS256"}}}
	id := e.admin().do("POST", "/api/v1/apis", api).want(201).str("id")
	_, exported := e.admin().exportConfig("")
	if strings.Contains(exported, secret) || !strings.Contains(exported, "issuer: internal") {
		t.Fatalf("export:\n%s", exported)
	}
	res := e.admin().apply("?prune=true", exported).applied()
	if len(res.Differences) != 0 {
		t.Fatalf("the export applies as %v", res.lines())
	}
	changed := strings.Replace(exported, "      - issuer: internal\n", "      - issuer: internal\n        key: another-shared-secret-of-32-bytes!!\n", 1)
	r := e.admin().apply("", changed)
	res = r.applied()
	if got := res.lines(); !slices.Equal(got, []string{"api weather v1: jwt_issuers[0].key: (secret) → (another secret)"}) {
		t.Errorf("a new secret: %v", got)
	}
	if k := e.store.snapshot().APIs.Get(id).JWTIssuers[0].Key; k != "another-shared-secret-of-32-bytes!!" {
		t.Errorf("stored secret %q", k)
	}
	if strings.Contains(string(r.body), "another-shared") {
		t.Error("the answer shows the secret")
	}
}

// TestConfigDocuments: an imported document is exported inline, the
// same file keeps it, a changed one is stored and the old one dropped,
// and a bad one is refused as the import refuses it.
func TestConfigDocuments(t *testing.T) {
	docs := &memDocs{}
	e := newEnv(t, func(s *admin.Server) { s.Documents = docs })
	var got imported
	e.admin().do("POST", "/api/v1/apis/import", petstore(t)).want(201).decode(&got)
	_, exported := e.admin().exportConfig("")
	if !strings.Contains(exported, "operationId: showPetById") {
		t.Fatalf("export:\n%s", exported)
	}
	res := e.admin().apply("", exported).applied()
	if len(res.Differences) != 0 {
		t.Fatalf("the export applies as %v", res.lines())
	}
	changed := strings.Replace(exported, "operationId: showPetById", "operationId: showPet", 1)
	res = e.admin().apply("", changed).applied()
	a := e.store.snapshot().APIs.Get(got.API.ID)
	if len(res.Differences) != 1 || res.Differences[0].Fields[0].Field != "document" || a.Document.SHA256 == got.API.Document.SHA256 {
		t.Fatalf("changed document: %v, ref %+v", res.lines(), a.Document)
	}
	if keys := docs.keys(); len(keys) != 1 || keys[0] != a.ID+"/"+a.Document.SHA256 {
		t.Errorf("stored documents %v", keys)
	}
	stored, _ := docs.Document(context.Background(), a.ID, a.Document.SHA256)
	if !strings.Contains(string(stored), `"operationId":"showPet"`) {
		t.Errorf("stored %s", stored)
	}
	bad := strings.Replace(exported, "      content:\n", "      content:\n        x-ref: {$ref: 'https://evil.example/x.yaml'}\n", 1)
	r := e.admin().apply("", bad).wantErr(400, "apis[0].document.content")
	if !strings.Contains(string(r.body), "points outside the document") {
		t.Errorf("refusal %s", r.body)
	}
	if keys := docs.keys(); len(keys) != 1 {
		t.Errorf("documents after a refusal %v", keys)
	}
}

// TestConfigWSDL: a WSDL document is exported as its text, applies as
// nothing, and a changed one is checked as the import checks it.
func TestConfigWSDL(t *testing.T) {
	docs := &memDocs{}
	e := newEnv(t, func(s *admin.Server) { s.Documents = docs })
	wsdl, err := os.ReadFile("../soap/testdata/calculator-axis2.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	var got imported
	e.admin().do("POST", "/api/v1/apis/import?target=http://10.0.0.9:8080/calc", string(wsdl)).want(201).decode(&got)
	_, exported := e.admin().exportConfig("")
	if !strings.Contains(exported, "format: wsdl") || !strings.Contains(exported, "content: |") {
		t.Fatalf("export:\n%s", exported)
	}
	if res := e.admin().apply("", exported).applied(); len(res.Differences) != 0 {
		t.Fatalf("the export applies as %v", res.lines())
	}
	broken := strings.Replace(exported, "definitions", "definition", 1)
	e.admin().apply("", broken).wantErr(400, "apis[0].document.content")
	if keys := docs.keys(); len(keys) != 1 || keys[0] != got.API.ID+"/"+got.API.Document.SHA256 {
		t.Errorf("documents %v", keys)
	}
	stored, _ := docs.Document(context.Background(), got.API.ID, got.API.Document.SHA256)
	if string(stored) != string(wsdl) {
		t.Error("the stored WSDL changed")
	}
}

// TestConfigApplyContentTypes: a file is sent as YAML or JSON; the types
// a cross-site form may send are refused.
func TestConfigApplyContentTypes(t *testing.T) {
	e := newEnv(t)
	for ct, want := range map[string]int{"application/yaml": 200, "text/plain": 415, "application/x-www-form-urlencoded": 415} {
		req, _ := http.NewRequest("POST", e.url+"/api/v1/config/apply?dry_run=true", strings.NewReader("format_version: 1\nplans: []\n"))
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("admin", adminPW)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Content-Type %s: %d, want %d", ct, resp.StatusCode, want)
		}
	}
}

// TestConfigNames: names are unique where a file knows entities by them —
// plans and applications among one owner's, APIs (with their versions)
// across the store, in any case — at every route that creates or renames
// one, so no publisher or subscriber can make the admin's export, diff or
// apply fail; and another owner's plan of the same name changes nothing
// of what a file's plan names refer to.
func TestConfigNames(t *testing.T) {
	docs := &memDocs{}
	e := newEnv(t, func(s *admin.Server) { s.Documents = docs })
	e.addUser("pat", portico.RolePublisher)
	mallory, _ := e.addUser("mallory", portico.RolePublisher)
	e.admin().apply("", theFile()).want(200)
	sam := e.as("sam", "sam-secret")
	e.admin().do("PUT", "/api/v1/users/"+e.store.snapshot().UserByName("sam").ID, map[string]any{"password": "sam-secret"}).want(200)

	// Another publisher's plan "gold" is hers: allowed, once.
	mallory.do("POST", "/api/v1/plans", goldPlan("gold")).want(http.StatusCreated)
	mallory.do("POST", "/api/v1/plans", goldPlan("GOLD")).wantErr(http.StatusConflict, "name")
	other := mallory.do("POST", "/api/v1/plans", goldPlan("other")).want(http.StatusCreated).str("id")
	mallory.do("PUT", "/api/v1/plans/"+other, goldPlan("Gold")).wantErr(http.StatusConflict, "name")
	// A subscriber's applications, and an admin moving one to an owner
	// that has the name.
	sam.do("POST", "/api/v1/applications", map[string]any{"name": "Sam-App"}).wantErr(http.StatusConflict, "name")
	app := sam.do("POST", "/api/v1/applications", map[string]any{"name": "second"}).want(http.StatusCreated).str("id")
	sam.do("PUT", "/api/v1/applications/"+app, map[string]any{"name": "SAM-APP"}).wantErr(http.StatusConflict, "name")
	mine := mallory.do("POST", "/api/v1/applications", map[string]any{"name": "sam-app"}).want(http.StatusCreated).str("id")
	e.admin().do("PUT", "/api/v1/applications/"+mine, map[string]any{"name": "sam-app", "owner": "sam"}).wantErr(http.StatusConflict, "name")
	// APIs: by name and version across the store, created, renamed or
	// imported.
	taken := weatherAPI("/mallory")
	taken["name"], taken["version"] = "Weather", "1.0"
	mallory.do("POST", "/api/v1/apis", taken).wantErr(http.StatusConflict, "name")
	taken["version"] = "2.0"
	id := mallory.do("POST", "/api/v1/apis", taken).want(http.StatusCreated).str("id")
	taken["version"] = "1.0"
	mallory.do("PUT", "/api/v1/apis/"+id, taken).wantErr(http.StatusConflict, "name")
	doc := strings.Replace(petstore(t), "title: Swagger Petstore", "title: weather", 1)
	doc = strings.Replace(doc, "version: 1.0.0", `version: "1.0"`, 1)
	mallory.do("POST", "/api/v1/apis/import?context=/pets", doc).wantErr(http.StatusConflict, "document")
	mallory.do("POST", "/api/v1/apis/import?api="+id, doc).wantErr(http.StatusConflict, "document")

	// The admin's file means what it meant, and the export applies as
	// nothing.
	if res := e.admin().apply("", theFile()).applied(); len(res.Differences) != 0 {
		t.Errorf("the file after others took names: %v", res.lines())
	}
	code, exported := e.admin().exportConfig("?include=consumers")
	if code != 200 {
		t.Fatalf("export: %d %s", code, exported)
	}
	if !strings.Contains(exported, "  - name: gold\n    owner: mallory\n") || !strings.Contains(exported, "plans:\n      - name: gold\n        owner: pat\n") {
		t.Errorf("export:\n%s", exported)
	}
	if res := e.admin().apply("?prune=true", exported).applied(); len(res.Differences) != 0 {
		t.Errorf("the export applies as %v", res.lines())
	}
	// A file cannot write two of one name either: its names match the
	// store's in any case.
	res := e.admin().apply("", strings.Replace(theFile(), "  - name: sam-app\n", "  - name: SAM-APP\n", 1)).applied()
	if got := res.lines(); !slices.Equal(got, []string{"application SAM-APP (sam): name: sam-app → SAM-APP"}) {
		t.Errorf("another case: %v", got)
	}
}

// TestConfigSelect: select=tag=… confines an apply to the APIs carrying
// the tag in the store and in the file. An API outside the selection
// listed with the tag is refused, not taken over; the file's other
// sections and APIs are left untouched and reported.
func TestConfigSelect(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	e.admin().apply("", theFile()).want(200)
	before := e.store.snapshot()

	// billing is team-b's: a team-a file cannot take it over.
	takeover := strings.Replace(theFile(), "    tags: [team-b]\n", "    tags: [team-a]\n    owner: pat\n", 1)
	takeover = strings.Replace(takeover, `{url: "http://10.0.0.6:7001"}`, `{url: "http://10.6.6.6:7001"}`, 1)
	r := e.admin().apply("?select=tag=team-a", takeover).wantErr(400, "apis[1].tags")
	if !strings.Contains(string(r.body), "the store's API carries none of the selected tags (team-a)") {
		t.Errorf("takeover: %s", r.body)
	}
	if e.store.snapshot().Version != before.Version {
		t.Fatal("a refused apply wrote")
	}

	// A team-a change applies weather only: gold's limit, sam's roles and
	// billing's targets in the same file stay as stored.
	file := strings.Replace(theFile(), `{url: "http://10.0.0.5:7001"}`, `{url: "http://10.0.0.9:7001"}`, 1)
	file = strings.Replace(file, "rate_limit: {limit: 100, per: second}", "rate_limit: {limit: 5, per: second}", 1)
	file = strings.Replace(file, "  - username: sam\n    roles: [subscriber]\n", "  - username: sam\n    roles: [admin]\n", 1)
	file = strings.Replace(file, `{url: "http://10.0.0.6:7001"}`, `{url: "http://10.6.6.6:7001"}`, 1)
	res := e.admin().apply("?select=tag=team-a&prune=true", file).applied()
	if got := res.lines(); !slices.Equal(got, []string{"api weather 1.0: endpoint.targets[0].url: http://10.0.0.5:7001 → http://10.0.0.9:7001"}) {
		t.Errorf("select team-a: %v", got)
	}
	var body struct {
		LeftOut []string `json:"left_out"`
	}
	json.Unmarshal(e.admin().apply("?select=tag=team-a&dry_run=true", file).want(200).body, &body)
	if want := []string{"plans", "groups", "users", "applications", "api billing 2"}; !slices.Equal(body.LeftOut, want) {
		t.Errorf("left out %v, want %v", body.LeftOut, want)
	}
	after := e.store.snapshot()
	if p := after.PlansNamed(after.UserByName("pat").ID, "gold")[0]; p.RateLimit.Limit != 100 {
		t.Errorf("gold changed: %+v", p.RateLimit)
	}
	if !slices.Equal(after.UserByName("sam").Roles, []portico.Role{portico.RoleSubscriber}) {
		t.Errorf("sam changed: %v", after.UserByName("sam").Roles)
	}
	if b := findAPI(t, after, "billing"); b.Endpoint.Targets[0].URL != "http://10.0.0.6:7001" {
		t.Errorf("billing changed: %+v", b.Endpoint)
	}
}

// TestConfigPendingApproval: a user who signed up and waits for approval
// is exported so, and a round trip keeps it waiting; a file approves it
// by enabling it, and cannot make a user pending or enabled and pending.
func TestConfigPendingApproval(t *testing.T) {
	e, _ := signupEnv(t, portico.SignupApproval)
	e.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusCreated)
	_, exported := e.admin().exportConfig("?include=consumers")
	const pending = "  - username: ann\n    email: ann@example.com\n    roles: [subscriber]\n    disabled: true\n    pending_approval: true\n"
	if !strings.Contains(exported, pending) {
		t.Fatalf("export:\n%s", exported)
	}
	f := newEnv(t)
	f.admin().apply("", exported).want(200)
	if _, again := f.admin().exportConfig("?include=consumers"); again != exported {
		t.Errorf("export → apply → export differs:\n%s\nwant\n%s", again, exported)
	}
	ann := f.store.snapshot().UserByName("ann")
	if !ann.PendingApproval || !ann.Disabled {
		t.Fatalf("ann on the other node: %+v", ann)
	}
	f.admin().do("POST", "/api/v1/users/"+ann.ID+"/approve", nil).want(http.StatusOK)

	for _, tc := range []struct{ name, to, want string }{
		{"enabled and pending", "  - username: ann\n    roles: [subscriber]\n    pending_approval: true\n", "a user pending approval is disabled"},
		{"out of pending, still disabled", "  - username: ann\n    email: ann@example.com\n    roles: [subscriber]\n    disabled: true\n", "leaves pending approval by being approved"},
	} {
		r := e.admin().apply("", strings.Replace(exported, pending, tc.to, 1)).wantErr(400, "users[1].pending_approval")
		if !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %s", tc.name, r.body)
		}
	}
	admin := "  - username: admin\n    roles: [admin]\n"
	e.admin().apply("", strings.Replace(exported, admin, "  - username: admin\n    roles: [admin]\n    disabled: true\n    pending_approval: true\n", 1)).
		wantErr(400, "users[0].pending_approval")
	res := e.admin().apply("", strings.Replace(exported, pending, "  - username: ann\n    email: ann@example.com\n    roles: [subscriber]\n", 1)).applied()
	if got := res.lines(); !slices.Equal(got, []string{"user ann: disabled: true → (none)", "user ann: pending_approval: true → (none)"}) {
		t.Errorf("approved by the file: %v", got)
	}
}

// TestConfigKeyEnded: a key the file creates, or gives an end, must end
// after the apply; a key moved from another store keeps working here.
func TestConfigKeyEnded(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	past := `, expires_at: "2024-12-31T00:00:00Z"}]`
	file := strings.Replace(theFile(), `}]
    subscriptions:`, past+`
    subscriptions:`, 1)
	if file == theFile() {
		t.Fatal("no key in the file")
	}
	r := e.admin().apply("", file).wantErr(400, "applications[0].keys[0].expires_at")
	if !strings.Contains(string(r.body), "is not in the future") {
		t.Errorf("a new key that has ended: %s", r.body)
	}
	e.admin().apply("", theFile()).want(200)
	e.admin().apply("", file).wantErr(400, "applications[0].keys[0].expires_at")
	future := strings.Replace(file, "2024-12-31", "2025-01-02", 1)
	if res := e.admin().apply("", future).applied(); len(res.Differences) != 1 {
		t.Errorf("an end in the future: %v", res.lines())
	}
}

// TestConfigPendingSubscription: a subscription waiting for approval is
// exported with its status, and a round trip keeps it waiting.
func TestConfigPendingSubscription(t *testing.T) {
	e := newEnv(t)
	e.addUser("pat", portico.RolePublisher)
	e.admin().apply("", theFile()).want(200)
	cfg := e.store.snapshot()
	app := e.admin().do("POST", "/api/v1/applications", map[string]any{"name": "waiting", "owner": "sam"}).want(http.StatusCreated).str("id")
	silver := cfg.PlansNamed(cfg.UserByName("pat").ID, "silver")[0].ID
	e.admin().do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": findAPI(t, cfg, "weather").ID, "plan": silver}).want(http.StatusCreated)
	_, exported := e.admin().exportConfig("?include=consumers")
	if !strings.Contains(exported, "  - name: waiting\n    owner: sam\n    subscriptions:\n      - api: weather\n        api_version: \"1.0\"\n        plan: silver\n        status: pending\n") {
		t.Fatalf("export:\n%s", exported)
	}
	f := newEnv(t)
	f.addUser("pat", portico.RolePublisher)
	f.admin().apply("", exported).want(200)
	if _, again := f.admin().exportConfig("?include=consumers"); again != exported {
		t.Errorf("export → apply → export differs:\n%s\nwant\n%s", again, exported)
	}
}
