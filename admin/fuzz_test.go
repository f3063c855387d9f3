package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// FuzzDecode posts arbitrary bodies to POST /api/v1/plans (api false) and
// POST /api/v1/apis (api true) as an admin. The handler must never panic
// and must answer 201 with the created entity or a 4xx JSON error.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		api  bool
		body string
	}{
		{false, `{"name":"gold","rate_limit":{"limit":100,"per":"second","window":"fixed"},"quota":{"limit":100000,"per":"month","mode":"hard"},"auto_approve":true}`},
		{false, `{"name":"silver","rate_limit":{"limit":5,"per":"minute","window":"rolling","resources":[{"pattern":"POST /orders/*","limit":1,"per":"second"}]},"on_datastore_error":"closed"}`},
		{false, `{"name":"soft","quota":{"limit":10,"per":"day","mode":"soft","threshold":90}}`},
		{true, `{"name":"weather","version":"v1","context":"/weather/v1","visibility":"public","auth":"api_key","endpoint":{"type":"load_balancer","algorithm":"weighted_round_robin","targets":[{"url":"http://10.0.0.5:7001","weight":3},{"url":"http://10.0.0.6:7001/base","weight":1}]},"plans":["plan1"]}`},
		{true, `{"name":"w","version":"2","context":"/w","auth":"none","endpoint":{"type":"single","targets":[{"url":"https://example.com"}]},"timeouts":{"connect":"1s","response":5000}}`},
		{true, `{"name":"w","version":"2","context":"/w/../x","endpoint":{"type":"single","targets":[]}}`},
		{false, `{"name":1}`},
		{false, `[{}]`},
		{true, `{"plans":[null],"endpoint":{"targets":[{"weight":1e99}]}}`},
		{true, `{"name":"j","version":"1","context":"/j","auth":["jwt","basic","oauth2"],"jwt_issuers":[{"issuer":"https://idp.example","algorithms":["HS256"],"key":"0123456789abcdef0123456789abcdef","audience":["j"],"leeway":"30s","claim":"client_id"},{"issuer":"i2","algorithms":["RS256","ES256"],"jwks_url":"https://idp.example/jwks.json"}],"forward_credentials":true,"identity_headers":true,"endpoint":{"type":"single","targets":[{"url":"http://h"}]},"plans":["plan1"]}`},
		{true, `{"name":"p","version":"1","context":"/p","auth":"none","policies":{"ip_rules":{"allow":["10.0.0.0/8","2001:db8::/32"],"deny":["10.1.0.0/16"]},"cors":{"allowed_origins":["https://*.example.com"],"allowed_methods":["PUT"],"allowed_headers":["*"],"exposed_headers":["X-Total"],"allow_credentials":true,"max_age":"10m"},"threat_protection":{"max_body_bytes":4096,"json":{"max_depth":8},"xml":{"max_attributes":4},"allowed_content_types":["application/json"],"allowed_methods":["POST"]},"headers":{"request":[{"op":"set","name":"X-App","value":"$(application)"}],"response":[{"op":"rename","name":"Server","to":"X-Server"}]},"conversion":{"request":"json_to_xml","root":"order","max_bytes":1000},"resources":[{"pattern":"POST /orders/**","conversion":{"response":"xml_to_json"}}]},"endpoint":{"type":"single","targets":[{"url":"http://h"}]}}`},
		{true, `{"name":"o","version":"1","context":"/oauth2/token","auth":["jwt"],"jwt_issuers":[{"issuer":"","algorithms":["none"],"key":"-----BEGIN PRIVATE KEY-----"}],"policies":{"cors":{"allowed_origins":["null","*"]},"resources":[{"pattern":""}]},"endpoint":{"type":"single","targets":[{"url":"http://h"}]}}`},
	} {
		f.Add(s.api, []byte(s.body))
	}

	ctx := context.Background()
	st := newMemStore()
	boot := &admin.Server{Store: st, PasswordCost: bcrypt.MinCost}
	if _, _, err := boot.EnsureAdmin(ctx, adminPW); err != nil {
		f.Fatal(err)
	}
	plan := &portico.Plan{ID: "plan1", Name: "p", Quota: &portico.Quota{Limit: 1, Per: portico.Day, Mode: portico.Hard}}
	if _, err := st.Apply(ctx, 1, []portico.Change{portico.Put(plan)}); err != nil {
		f.Fatal(err)
	}
	base := st.snapshot()
	cv := new(portico.ConfigVar)
	srv := &admin.Server{Store: st, Config: cv, PasswordCost: bcrypt.MinCost,
		Now: func() time.Time { return time.Unix(1e9, 0) }}

	f.Fuzz(func(t *testing.T, api bool, body []byte) {
		st.set(func(m *memStore) { m.cfg = clone(base) })
		cv.Set(base, true)
		path := "/api/v1/plans"
		if api {
			path = "/api/v1/apis"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.SetBasicAuth("admin", adminPW)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		out := rec.Body.Bytes()
		if !json.Valid(out) {
			t.Fatalf("answer %d is not JSON: %q", rec.Code, out)
		}
		switch {
		case rec.Code == http.StatusCreated:
			var got struct {
				ID    string
				State portico.Lifecycle
			}
			json.Unmarshal(out, &got)
			if got.ID == "" || (api && got.State != portico.Draft) {
				t.Fatalf("created %q", out)
			}
			if cv.Load().Plans.Len()+cv.Load().APIs.Len() != 2 {
				t.Fatalf("config after 201 has %d plans and %d APIs", cv.Load().Plans.Len(), cv.Load().APIs.Len())
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(out, &e); e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error answer %d without code or message: %q", rec.Code, out)
			}
			if cv.Load() != base {
				t.Fatalf("a %d changed the config", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, out)
		}
	})
}
