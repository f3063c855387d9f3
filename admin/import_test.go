package admin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
)

// memDocs is a portico.DocumentStore in memory; fail, when set, fails
// every call.
type memDocs struct {
	mu   sync.Mutex
	docs map[string][]byte
	fail error
}

func (m *memDocs) PutDocument(_ context.Context, api, sha string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[api+"/"+sha] = append([]byte(nil), doc...)
	return nil
}

func (m *memDocs) Document(_ context.Context, api, sha string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	d, ok := m.docs[api+"/"+sha]
	if !ok {
		return nil, portico.Errorf(portico.ENotFound, "no document")
	}
	return d, nil
}

func (m *memDocs) DeleteDocument(_ context.Context, api, sha string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, api+"/"+sha)
	return nil
}

func (m *memDocs) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k := range m.docs {
		ks = append(ks, k)
	}
	return ks
}

type imported = portico.ImportResult

func petstore(t *testing.T) string {
	b, err := os.ReadFile("../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newImportEnv(t *testing.T) (*env, *memDocs) {
	docs := &memDocs{}
	e := newEnv(t, func(s *admin.Server) {
		s.Documents = docs
		s.PublicURL = "https://api.example.com"
	})
	return e, docs
}

func TestImportCreatesAndUpdates(t *testing.T) {
	e, docs := newImportEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	doc := petstore(t)

	var got imported
	r := pub.do("POST", "/api/v1/apis/import", doc).want(201)
	r.decode(&got)
	a := got.API
	if !got.Created || a.Name != "Swagger Petstore" || a.Version != "1.0.0" || a.Context != "/v1" || a.State != portico.Draft {
		t.Fatalf("imported %+v", got)
	}
	if len(a.Endpoint.Targets) != 1 || a.Endpoint.Targets[0].URL != "http://petstore.swagger.io/v1" {
		t.Errorf("targets %+v, want the document's server", a.Endpoint.Targets)
	}
	want := []string{"GET /pets listPets", "POST /pets createPets", "GET /pets/* showPetById"}
	var res []string
	for _, x := range a.Resources {
		res = append(res, x.Pattern+" "+x.OperationID)
	}
	if strings.Join(res, ",") != strings.Join(want, ",") || len(got.Added) != 3 || len(got.Removed) != 0 {
		t.Errorf("resources %v, added %d removed %d; want %v", res, len(got.Added), len(got.Removed), want)
	}
	if a.Document == nil || a.Document.Format != portico.FormatOpenAPI || a.Document.Version != "3.0.0" {
		t.Fatalf("document %+v", a.Document)
	}
	stored, err := docs.Document(context.Background(), a.ID, a.Document.SHA256)
	if sum := sha256.Sum256(stored); err != nil || hex.EncodeToString(sum[:]) != a.Document.SHA256 || int64(len(stored)) != a.Document.Size {
		t.Fatalf("stored document: %d bytes, %v; ref %+v", len(stored), err, a.Document)
	}
	if r.header.Get("Location") != "/api/v1/apis/"+a.ID {
		t.Errorf("Location %q", r.header.Get("Location"))
	}

	// The publisher sets what the document does not say: a plan and a
	// policy. A newer document updates the API in one change and keeps
	// them.
	plan := pub.do("POST", "/api/v1/plans", goldPlan("gold")).want(201).str("id")
	edit := pub.do("GET", "/api/v1/apis/"+a.ID, nil).want(200).obj()
	edit["plans"] = []string{plan}
	edit["policies"] = map[string]any{"cors": map[string]any{"allowed_origins": []string{"https://app.example.com"}}}
	pub.do("PUT", "/api/v1/apis/"+a.ID, edit).want(200) // the document field as GET gives it is fine
	before := e.store.snapshot().Version

	newer := strings.Replace(doc, "version: 1.0.0", "version: 1.1.0", 1)
	newer = strings.Replace(newer, "  /pets/{petId}:", "  /stores:\n    get:\n      operationId: listStores\n      responses:\n        '200':\n          description: ok\n  /pets/{petId}:", 1)
	newer = strings.Replace(newer, "    post:\n      summary: Create a pet\n      operationId: createPets", "    x-post:\n      summary: Create a pet\n      operationId: createPets", 1)
	var upd imported
	pub.do("POST", "/api/v1/apis/import?api="+a.ID, newer).want(200).decode(&upd)
	if upd.Created || upd.API.ID != a.ID || upd.API.Version != "1.1.0" {
		t.Fatalf("update: %+v", upd)
	}
	if len(upd.Added) != 1 || upd.Added[0].OperationID != "listStores" || len(upd.Removed) != 1 || upd.Removed[0].OperationID != "createPets" {
		t.Errorf("added %+v removed %+v; want listStores added, createPets removed", upd.Added, upd.Removed)
	}
	if after := e.store.snapshot().Version; after != before+1 {
		t.Errorf("the re-import took config versions %d → %d; want one change", before, after)
	}
	n := e.store.snapshot().APIs.Get(a.ID)
	if len(n.Plans) != 1 || n.Plans[0] != plan || n.Policies == nil || n.Policies.CORS == nil || n.Context != "/v1" {
		t.Errorf("the re-import lost settings: plans %v policies %+v context %q", n.Plans, n.Policies, n.Context)
	}
	if keys := docs.keys(); len(keys) != 1 || keys[0] != a.ID+"/"+n.Document.SHA256 {
		t.Errorf("documents stored %v; want only the new one", keys)
	}

	// A dry run answers the same and writes nothing.
	before = e.store.snapshot().Version
	var dry imported
	pub.do("POST", "/api/v1/apis/import?dry_run=true&api="+a.ID, doc).want(200).decode(&dry)
	if !dry.DryRun || len(dry.Added) != 1 || dry.Added[0].OperationID != "createPets" {
		t.Errorf("dry run %+v", dry)
	}
	if e.store.snapshot().Version != before || len(docs.keys()) != 1 {
		t.Error("a dry run wrote")
	}

	// Deleting the API deletes its document.
	pub.do("DELETE", "/api/v1/apis/"+a.ID, nil).want(204)
	if keys := docs.keys(); len(keys) != 0 {
		t.Errorf("documents left after the API was deleted: %v", keys)
	}
}

func TestImportRefusals(t *testing.T) {
	e, docs := newImportEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	other, _ := e.addUser("other", portico.RolePublisher)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	doc := petstore(t)
	id := pub.do("POST", "/api/v1/apis/import", doc).want(201).obj()["api"].(map[string]any)["id"].(string)
	noServer := strings.Replace(doc, "servers:\n  - url: http://petstore.swagger.io/v1\n", "", 1)

	for _, tc := range []struct {
		name   string
		c      *client
		path   string
		body   string
		status int
		field  string
		has    string
	}{
		{"not a document", pub, "", "{\"openapi\": \"3.0.0\", \"info\": {\"title\": \"x\", \"version\": 1}", 400, "document", "line"},
		{"external ref", pub, "", strings.Replace(doc, "$ref: \"#/components/schemas/Pets\"", "$ref: \"http://evil.example/x.yaml\"", 1), 400, "document", ""},
		{"unknown parameter", pub, "?apo=" + id, doc, 400, "apo", ""},
		{"same name and version", pub, "?context=/again", doc, 409, "document", "name= or version="},
		{"name given twice", pub, "?context=/n2&name=a&name=b", doc, 400, "name", "once"},
		{"empty name", pub, "?context=/n3&name=", doc, 400, "name", "required"},
		{"version too long", pub, "?context=/n4&version=" + strings.Repeat("9", 101), doc, 400, "version", "at most"},
		{"name with a control character", pub, "?context=/n5&name=a%07b", doc, 400, "name", ""},
		{"bad dry_run", pub, "?dry_run=maybe", doc, 400, "dry_run", ""},
		{"no server, no target", pub, "?context=/ns", noServer, 400, "target", ""},
		{"bad target", pub, "?context=/bt&target=ftp://x", doc, 400, "endpoint.targets[0].url", ""},
		{"bad context", pub, "?context=/a/../b&target=http://x", doc, 400, "context", ""},
		{"context taken", other, "?target=http://x", doc, 409, "context", ""},
		{"subscriber", sub, "", doc, 403, "", ""},
		{"another's draft API", other, "?context=/o&api=" + id, doc, 404, "", ""},
		{"no such API", pub, "?api=nope", doc, 404, "", ""},
		{"anonymous", e.anon(), "", doc, 401, "", ""},
	} {
		func() {
			before := e.store.snapshot().Version
			keys := len(docs.keys())
			r := tc.c.do("POST", "/api/v1/apis/import"+tc.path, tc.body).want(tc.status)
			if tc.field != "" && r.errField() != tc.field {
				t.Errorf("%s: error field %q, want %q: %s", tc.name, r.errField(), tc.field, r.body)
			}
			if tc.has != "" && !strings.Contains(string(r.body), tc.has) {
				t.Errorf("%s: error %s does not say %q", tc.name, r.body, tc.has)
			}
			if e.store.snapshot().Version != before || len(docs.keys()) != keys {
				t.Errorf("%s: a refused import wrote: versions %d → %d, documents %d → %d", tc.name, before, e.store.snapshot().Version, keys, len(docs.keys()))
			}
		}()
	}

	func() { // too large
		big := doc + "\nx-pad: \"" + strings.Repeat("a", portico.MaxDocumentBytes) + "\"\n"
		pub.do("POST", "/api/v1/apis/import?context=/big", big).want(413)
	}()
	func() { // store down
		docs.mu.Lock()
		docs.fail = portico.Errorf(portico.EUnavailable, "down")
		docs.mu.Unlock()
		defer func() { docs.mu.Lock(); docs.fail = nil; docs.mu.Unlock() }()
		before := e.store.snapshot().Version
		pub.do("POST", "/api/v1/apis/import?context=/down", doc).want(503)
		if e.store.snapshot().Version != before {
			t.Error("an API was written without its document")
		}
	}()
	func() { // document by PUT or POST
		a := pub.do("GET", "/api/v1/apis/"+id, nil).want(200).obj()
		a["document"].(map[string]any)["sha256"] = strings.Repeat("0", 64)
		pub.do("PUT", "/api/v1/apis/"+id, a).wantErr(400, "document")
		n := weatherAPI("/w")
		n["document"] = map[string]any{"format": "openapi", "version": "3.1.0", "sha256": strings.Repeat("0", 64), "size": 10}
		pub.do("POST", "/api/v1/apis", n).wantErr(400, "document")
	}()
	func() { // validation without a document
		n := weatherAPI("/w2")
		n["policies"] = map[string]any{"validate_requests": true}
		pub.do("POST", "/api/v1/apis", n).wantErr(400, "policies.validate_requests")
	}()
}

func TestImportStoreError(t *testing.T) {
	// A store error other than "unavailable" is a 500, the cause logged, not shown.
	e, docs := newImportEnv(t)
	docs.fail = errors.New("disk full")
	e.admin().do("POST", "/api/v1/apis/import", petstore(t)).want(500)
}

func TestExportOpenAPI(t *testing.T) {
	e, docs := newImportEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	other, _ := e.addUser("other", portico.RolePublisher)
	id := pub.do("POST", "/api/v1/apis/import", petstore(t)).want(201).obj()["api"].(map[string]any)["id"].(string)
	a := pub.do("GET", "/api/v1/apis/"+id, nil).want(200).obj()
	a["plans"] = []string{pub.do("POST", "/api/v1/plans", goldPlan("gold")).want(201).str("id")}
	pub.do("PUT", "/api/v1/apis/"+id, a).want(200)
	pub.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(200)

	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]any `json:"paths"`
	}
	r := e.anon().do("GET", "/api/v1/apis/"+id+"/openapi", nil).want(200)
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.example.com/v1" || len(doc.Paths) != 2 {
		t.Errorf("export: %s", r.body)
	}
	if strings.Contains(string(r.body), "petstore.swagger.io") {
		t.Error("the export names the backend")
	}

	// The stored document names the backend: only who may change the API
	// reads it.
	pub.do("GET", "/api/v1/apis/"+id+"/document", nil).want(200)
	other.do("GET", "/api/v1/apis/"+id+"/document", nil).want(403)
	e.anon().do("GET", "/api/v1/apis/"+id+"/document", nil).want(401)

	// An API written by hand exports its resources.
	n := weatherAPI("/hand")
	n["resources"] = []map[string]any{{"pattern": "GET /forecast/*", "path": "/forecast/{city}", "operation_id": "forecast"}}
	hid := pub.do("POST", "/api/v1/apis", n).want(201).str("id")
	r = pub.do("GET", "/api/v1/apis/"+hid+"/openapi", nil).want(200)
	if !strings.Contains(string(r.body), `"/forecast/{city}"`) || !strings.Contains(string(r.body), `"operationId": "forecast"`) {
		t.Errorf("export of an API written by hand: %s", r.body)
	}
	pub.do("GET", "/api/v1/apis/"+hid+"/document", nil).want(404)

	// A document lost from the store is a 503 that says so.
	docs.mu.Lock()
	docs.docs = nil
	docs.mu.Unlock()
	pub.do("GET", "/api/v1/apis/"+id+"/openapi", nil).want(503)
}

// TestImportContentTypes: the import takes documents as JSON, YAML or
// XML, and refuses the types a cross-site form may send.
func TestImportContentTypes(t *testing.T) {
	e, _ := newImportEnv(t)
	for ct, want := range map[string]int{
		"application/yaml": 201, "text/plain": 415, "application/x-www-form-urlencoded": 415, "multipart/form-data; boundary=x": 415,
	} {
		req, _ := http.NewRequest("POST", e.url+"/api/v1/apis/import?context=/c"+strconv.Itoa(want)+strconv.Itoa(len(ct)), strings.NewReader(petstore(t)))
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

// TestImportWSDL: a WSDL 1.1 document makes a SOAP API: its SOAP
// address the target, each operation a POST / resource with its action;
// a re-import tells operations apart by name; a DTD is refused.
func TestImportWSDL(t *testing.T) {
	e, docs := newImportEnv(t)
	wsdl, err := os.ReadFile("../soap/testdata/booking-wcf.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	var got imported
	e.admin().do("POST", "/api/v1/apis/import", string(wsdl)).want(201).decode(&got)
	a := got.API
	if a.Name != "BookingService" || a.Context != "/bookingservice" || a.Document == nil || a.Document.Format != portico.FormatWSDL || a.Document.Version != "1.1" {
		t.Fatalf("imported %+v, document %+v", a, a.Document)
	}
	if len(a.Endpoint.Targets) != 1 || a.Endpoint.Targets[0].URL != "https://booking.example.com/BookingService.svc" {
		t.Errorf("targets %+v", a.Endpoint.Targets)
	}
	if len(a.Resources) != 5 || a.Resources[0].Pattern != "POST /" || a.Resources[0].OperationID != "GetBooking" ||
		a.Resources[0].SOAPAction != "http://tempuri.org/IBookingService/GetBooking" {
		t.Errorf("resources %+v", a.Resources)
	}
	stored, _ := docs.Document(context.Background(), a.ID, a.Document.SHA256)
	if string(stored) != string(wsdl) {
		t.Error("the stored WSDL is not the document as sent")
	}
	var upd imported
	fewer := strings.Replace(string(wsdl), "Ping", "Pong", -1)
	e.admin().do("POST", "/api/v1/apis/import?api="+a.ID, fewer).want(200).decode(&upd)
	if len(upd.Added) != 1 || upd.Added[0].OperationID != "Pong" || len(upd.Removed) != 1 || upd.Removed[0].OperationID != "Ping" {
		t.Errorf("re-import: added %+v removed %+v", upd.Added, upd.Removed)
	}
	dtd := strings.Replace(string(wsdl), "?>", "?>\n<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", 1)
	r := e.admin().do("POST", "/api/v1/apis/import?context=/dtd", dtd).wantErr(400, "document")
	if !strings.Contains(string(r.body), "line") {
		t.Errorf("a DTD's refusal does not say where: %s", r.body)
	}
	req, _ := http.NewRequest("GET", e.url+"/api/v1/apis/"+a.ID+"/document", nil)
	req.SetBasicAuth("admin", adminPW)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml; charset=utf-8" || resp.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("GET its document: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestImportBidi: a document's bidirectional controls are dropped from
// what the import takes (name, summaries, operation IDs); an API written
// with them in its resources is refused, as in its name.
func TestImportBidi(t *testing.T) {
	e, _ := newImportEnv(t)
	doc := strings.Replace(petstore(t), "summary: List all pets", "summary: \"List all \\u202Egnp.exe\"", 1)
	doc = strings.Replace(doc, "title: Swagger Petstore", "title: \"Swagger \\u2066Petstore\"", 1)
	var got imported
	e.admin().do("POST", "/api/v1/apis/import", doc).want(201).decode(&got)
	if got.API.Name != "Swagger Petstore" || got.API.Resources[0].Summary != "List all gnp.exe" {
		t.Errorf("name %q, summary %q: bidirectional controls kept", got.API.Name, got.API.Resources[0].Summary)
	}
	a := e.admin().do("GET", "/api/v1/apis/"+got.API.ID, nil).want(200).obj()
	a["resources"].([]any)[0].(map[string]any)["summary"] = "sum\u202Egnp.exe"
	e.admin().do("PUT", "/api/v1/apis/"+got.API.ID, a).wantErr(400, "resources[0].summary")
}

// TestValidationAdminOnly: only an admin turns on request validation or
// changes the document of an API that validates (its schemas cost the
// gateway per request, without a bound yet); the publisher may turn it
// off and edit the rest.
func TestValidationAdminOnly(t *testing.T) {
	e, _ := newImportEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	var got imported
	pub.do("POST", "/api/v1/apis/import", petstore(t)).want(201).decode(&got)
	id := got.API.ID
	a := pub.do("GET", "/api/v1/apis/"+id, nil).want(200).obj()
	a["policies"] = map[string]any{"validate_requests": true}
	pub.do("PUT", "/api/v1/apis/"+id, a).wantErr(403, "policies.validate_requests")
	e.admin().do("PUT", "/api/v1/apis/"+id, a).want(200)
	a = pub.do("GET", "/api/v1/apis/"+id, nil).want(200).obj()
	a["description"] = "edited by its publisher"
	pub.do("PUT", "/api/v1/apis/"+id, a).want(200)
	newer := strings.Replace(petstore(t), "version: 1.0.0", "version: 1.0.1", 1)
	pub.do("POST", "/api/v1/apis/import?api="+id, newer).wantErr(403, "policies.validate_requests")
	e.admin().do("POST", "/api/v1/apis/import?api="+id, newer).want(200)
	a = pub.do("GET", "/api/v1/apis/"+id, nil).want(200).obj()
	a["policies"] = map[string]any{"validate_requests": false}
	pub.do("PUT", "/api/v1/apis/"+id, a).want(200)
}

// TestValidatorCompiles: an API that validates requests takes only a
// document the gateway's validator compiles (openapi.NewValidator), at
// the import, at the PUT that turns validation on and at a config apply,
// which refuse one it cannot with 400 naming the problem: else every
// request to the API would answer 503.
func TestValidatorCompiles(t *testing.T) {
	e, _ := newImportEnv(t)
	adm := e.admin()
	// A pattern with a lookahead, which the parser takes and Go's regexp
	// does not.
	bad := strings.Replace(petstore(t), "          description: The id of the pet to retrieve\n          schema:\n            type: string\n",
		"          description: The id of the pet to retrieve\n          schema:\n            type: string\n            pattern: \"^(?=a)\"\n", 1)
	if bad == petstore(t) {
		t.Fatal("the petstore changed")
	}
	var good imported
	adm.do("POST", "/api/v1/apis/import?context=/good", petstore(t)).want(201).decode(&good)
	a := adm.do("GET", "/api/v1/apis/"+good.API.ID, nil).want(200).obj()
	a["policies"] = map[string]any{"validate_requests": true}
	adm.do("PUT", "/api/v1/apis/"+good.API.ID, a).want(200)
	r := adm.do("POST", "/api/v1/apis/import?api="+good.API.ID, bad).wantErr(400, "document")
	if !strings.Contains(string(r.body), "request validation (policies.validate_requests) cannot use the document") || !strings.Contains(string(r.body), "(?=a)") {
		t.Errorf("import: %s", r.body)
	}

	// An API without validation takes the document; turning validation
	// on is refused.
	var other imported
	badOther := strings.Replace(bad, "title: Swagger Petstore", "title: Other Petstore", 1)
	adm.do("POST", "/api/v1/apis/import?context=/other", badOther).want(201).decode(&other)
	b := adm.do("GET", "/api/v1/apis/"+other.API.ID, nil).want(200).obj()
	b["policies"] = map[string]any{"validate_requests": true}
	adm.do("PUT", "/api/v1/apis/"+other.API.ID, b).wantErr(400, "policies.validate_requests")

	// A config apply: turning validation on for the API whose stored
	// document does not compile, and a new document that does not.
	_, exported := adm.exportConfig("")
	on := strings.Replace(exported, "  - name: Other Petstore\n", "  - name: Other Petstore\n    policies: {validate_requests: true}\n", 1)
	if on == exported {
		t.Fatalf("export:\n%s", exported)
	}
	adm.apply("", on).wantErr(400, "apis[0].policies.validate_requests")
	i := strings.Index(exported, "  - name: Swagger Petstore\n")
	j := i + strings.Index(exported[i:], "description: The id of the pet to retrieve\n")
	newDoc := exported[:j] + strings.Replace(exported[j:], "type: string\n", "type: string\n                    pattern: ^(?=b)\n", 1)
	r = adm.apply("", newDoc).wantErr(400, "apis[1].document.content")
	if !strings.Contains(string(r.body), "(?=b)") {
		t.Errorf("apply: %s", r.body)
	}
	if res := adm.apply("", exported).applied(); len(res.Differences) != 0 {
		t.Errorf("the export applies as %v", res.lines())
	}
}

// TestImportNamed: name= and version= take the place of the document's,
// so one document makes two APIs; a name taken is refused naming it.
func TestImportNamed(t *testing.T) {
	e, _ := newImportEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	doc := petstore(t)
	pub.do("POST", "/api/v1/apis/import", doc).want(201)
	var got imported
	pub.do("POST", "/api/v1/apis/import?context=/eu&name=Petstore%20EU", doc).want(201).decode(&got)
	if a := got.API; a.Name != "Petstore EU" || a.Version != "1.0.0" || a.Context != "/eu" {
		t.Errorf("imported %q version %q at %q, want Petstore EU 1.0.0 at /eu", a.Name, a.Version, a.Context)
	}
	pub.do("POST", "/api/v1/apis/import?context=/v2&version=2", doc).want(201).decode(&got)
	if a := got.API; a.Name != "Swagger Petstore" || a.Version != "2" {
		t.Errorf("imported %q version %q, want Swagger Petstore 2", a.Name, a.Version)
	}
	// Re-imported into itself, the API keeps the name given.
	id := got.API.ID
	pub.do("POST", "/api/v1/apis/import?api="+id+"&version=2", doc).want(200).decode(&got)
	if a := got.API; a.ID != id || a.Version != "2" {
		t.Errorf("re-imported %s version %q, want %s version 2", a.ID, a.Version, id)
	}
	before := e.store.snapshot().Version
	r := pub.do("POST", "/api/v1/apis/import?context=/eu2&name=PETSTORE%20eu", doc).want(409)
	if r.errField() != "name" || !strings.Contains(string(r.body), "another API is named") {
		t.Errorf("a name taken in another case: %s, want 409 on name", r.body)
	}
	if e.store.snapshot().Version != before {
		t.Error("a refused import wrote")
	}
}
