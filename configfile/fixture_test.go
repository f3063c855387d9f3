package configfile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/configfile"
)

var (
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now = t0.Add(48 * time.Hour)
)

const hsSecret = "0123456789abcdef0123456789abcdef-secret"

// petsDoc is an OpenAPI document as a JSON import stores it: as sent,
// indented, with escapes canonical JSON does not use.
const petsDoc = `{
  "openapi": "3.0.3",
  "info": {"title": "Pets \u0026 more", "version": "1.0"},
  "paths": {"/pets/{id}": {"get": {"operationId": "pet", "responses": {"200": {"description": "a pet", "x-n": 1.50}}}}}
}`

func sha(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// fixture is a configuration of every kind of entity, and the store of
// its documents (by API ID "/" SHA-256).
type fixture struct {
	cfg  *portico.Config
	docs map[string]string
}

func newFixture() *fixture {
	f := false
	revoked := t0.Add(time.Hour)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Minute) }
	changes := []portico.Change{
		portico.Put(&portico.User{ID: "u-admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, PasswordHash: "$2a$10$hash-admin", CreatedAt: at(0), UpdatedAt: at(0)}),
		portico.Put(&portico.User{ID: "u-pat", Username: "pat", Email: "pat@example.com", Roles: []portico.Role{portico.RolePublisher}, PasswordHash: "$2a$10$hash-pat", CreatedAt: at(1), UpdatedAt: at(1)}),
		portico.Put(&portico.User{ID: "u-sam", Username: "sam", Roles: []portico.Role{portico.RoleSubscriber}, WebhookURL: "https://hooks.example.com/sam", CreatedAt: at(2), UpdatedAt: at(2)}),
		portico.Put(&portico.User{ID: "u-ann", Username: "Ann", Roles: []portico.Role{portico.RoleSubscriber}, Internal: true, Disabled: true, CreatedAt: at(3), UpdatedAt: at(3)}),
		portico.Put(&portico.Plan{ID: "p-gold", Name: "gold", Owner: "u-pat", Shared: true, AutoApprove: true, OnDatastoreError: portico.DatastoreLocal,
			RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Second, Window: portico.Fixed,
				Resources: []portico.ResourceLimit{{Pattern: "POST /pets", Limit: 5, Per: portico.Minute, Window: portico.Rolling}}},
			CreatedAt: at(4), UpdatedAt: at(4)}),
		portico.Put(&portico.Plan{ID: "p-silver", Name: "silver", Owner: "u-pat", OnDatastoreError: portico.DatastoreClosed,
			Quota: &portico.Quota{Limit: 1000, Per: portico.Month, Mode: portico.Soft, Threshold: 80}, CreatedAt: at(5), UpdatedAt: at(5)}),
		portico.Put(&portico.Group{ID: "g-partners", Name: "Partners", Description: "who sees partner APIs", Members: []string{"u-sam", "u-ann"}, CreatedAt: at(6), UpdatedAt: at(6)}),
		portico.Put(&portico.API{ID: "a-weather", Name: "weather", Version: "1.0", Context: "/weather/v1", Description: "Forecasts.\nBy city.",
			Tags: []string{"team-a", "Forecast"}, Visibility: portico.Partner, State: portico.Published,
			Auth: portico.AuthMethods{portico.AuthAPIKey, portico.AuthJWT},
			JWTIssuers: []portico.JWTIssuer{
				{Issuer: "https://idp.example.com", JWKSURL: "https://idp.example.com/jwks", Algorithms: []string{portico.RS256}, Audience: []string{"weather"}},
				{Issuer: "internal", Key: hsSecret, Algorithms: []string{portico.HS256}},
			},
			IdentityHeaders: true, KeepAlive: &f,
			Policies: &portico.Policies{CORS: &portico.CORS{AllowedOrigins: []string{"https://app.example.com"}, MaxAge: portico.Duration(10 * time.Minute)},
				IPRules: &portico.IPRules{Deny: []string{"10.0.0.0/8"}}},
			Endpoint: portico.Endpoint{Type: portico.LoadBalancer, Algorithm: portico.WeightedRoundRobin,
				Targets: []portico.Target{{URL: "http://10.1.0.5:7001", Weight: 3}, {URL: "http://10.1.0.6:7001/base", Weight: 1}}},
			Plans: []string{"p-gold", "p-silver"}, Groups: []string{"g-partners"},
			Timeouts:  portico.Timeouts{Connect: portico.Duration(2 * time.Second), Response: portico.Duration(45 * time.Second)},
			Resources: []portico.Resource{{Pattern: "GET /pets/*", Path: "/pets/{id}", OperationID: "pet"}},
			Document:  &portico.DocumentRef{Format: portico.FormatOpenAPI, Version: "3.0.3", SHA256: sha(petsDoc), Size: int64(len(petsDoc)), ImportedAt: at(7)},
			Owner:     "u-pat", CreatedAt: at(7), UpdatedAt: at(7)}),
		portico.Put(&portico.API{ID: "a-billing", Name: "billing", Version: "2", Context: "/billing", Tags: []string{"team-b"}, Visibility: portico.Public,
			State: portico.Draft, Auth: portico.AuthMethods{portico.AuthAPIKey},
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "https://billing.internal", Weight: 1}}},
			Plans:    []string{"p-gold"}, Owner: "u-admin", CreatedAt: at(8), UpdatedAt: at(8)}),
		portico.Put(&portico.Application{ID: "c-sam", Name: "sam-app", Description: "Sam's", Owner: "u-sam", CreatedAt: at(9), UpdatedAt: at(9)}),
		portico.Put(&portico.Application{ID: "c-ann", Name: "ann-app", Owner: "u-ann", CreatedAt: at(10), UpdatedAt: at(10)}),
		portico.Put(&portico.Key{ID: "k-live", ApplicationID: "c-sam", Prefix: "pk_live1", Hash: portico.HashKey("pk_live1-key"), CreatedAt: at(11)}),
		portico.Put(&portico.Key{ID: "k-revoked", ApplicationID: "c-sam", Prefix: "pk_old22", Hash: portico.HashKey("pk_old22-key"), CreatedAt: at(11), RevokedAt: &revoked}),
		portico.Put(&portico.Key{ID: "k-ending", ApplicationID: "c-sam", Prefix: "pk_rot33", Hash: portico.HashKey("pk_rot33-key"), CreatedAt: at(12), ExpiresAt: now.Add(time.Hour)}),
		portico.Put(&portico.Key{ID: "k-ended", ApplicationID: "c-sam", Prefix: "pk_end44", Hash: portico.HashKey("pk_end44-key"), CreatedAt: at(12), ExpiresAt: now.Add(-time.Hour)}),
		portico.Put(&portico.Key{ID: "k-ann", ApplicationID: "c-ann", Prefix: "pk_ann55", Hash: portico.HashKey("pk_ann55-key"), CreatedAt: at(13)}),
		portico.Put(&portico.Subscription{ID: "s-old", ApplicationID: "c-sam", APIID: "a-weather", PlanID: "p-silver", Status: portico.Cancelled, CreatedAt: at(14), UpdatedAt: at(15)}),
		portico.Put(&portico.Subscription{ID: "s-sam", ApplicationID: "c-sam", APIID: "a-weather", PlanID: "p-gold", Status: portico.Approved, CreatedAt: at(16), UpdatedAt: at(16)}),
		portico.Put(&portico.Subscription{ID: "s-ann", ApplicationID: "c-ann", APIID: "a-weather", PlanID: "p-silver", Status: portico.Evicted, CreatedAt: at(17), UpdatedAt: at(18)}),
	}
	return &fixture{
		cfg:  portico.NewConfig().With(7, changes...),
		docs: map[string]string{"a-weather/" + sha(petsDoc): petsDoc},
	}
}

// document reads an API's document from the fixture's store.
func (fx *fixture) document(a *portico.API) ([]byte, error) {
	d, ok := fx.docs[a.ID+"/"+a.Document.SHA256]
	if !ok {
		return nil, portico.Errorf(portico.ENotFound, "no document")
	}
	return []byte(d), nil
}

// export returns the fixture's configuration as a file, decoded again
// (so that errors have lines).
func (fx *fixture) export(t *testing.T, consumers bool) (*configfile.File, []byte) {
	t.Helper()
	f, err := configfile.FromConfig(fx.cfg, configfile.ExportOptions{Consumers: consumers, Now: now, Document: fx.document})
	if err != nil {
		t.Fatal(err)
	}
	b := configfile.Encode(f)
	g, err := configfile.Decode(b)
	if err != nil {
		t.Fatalf("the export does not decode: %v\n%s", err, b)
	}
	return g, b
}

// apply plans f against the fixture and applies the result to it.
func (fx *fixture) apply(t *testing.T, f *configfile.File, o configfile.Options) *configfile.Changeset {
	t.Helper()
	cs := fx.plan(t, f, o)
	fx.cfg = fx.cfg.With(fx.cfg.Version+1, cs.Changes...)
	for _, d := range cs.Documents {
		fx.docs[d.API+"/"+d.SHA256] = string(d.Bytes)
	}
	for _, d := range cs.Dropped {
		delete(fx.docs, d.API+"/"+d.SHA256)
	}
	return cs
}

func (fx *fixture) plan(t *testing.T, f *configfile.File, o configfile.Options) *configfile.Changeset {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = now
	}
	if o.Document == nil {
		o.Document = fx.document
	}
	if o.Owner == "" {
		o.Owner = "u-admin"
	}
	cs, err := configfile.Plan(f, fx.cfg, o)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return cs
}

// edit decodes b with the replacements of pairs (old, new) made, each
// of which must be found.
func edit(t *testing.T, b []byte, pairs ...string) *configfile.File {
	t.Helper()
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("the file lacks %q:\n%s", pairs[i], s)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	f, err := configfile.Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, s)
	}
	return f
}
