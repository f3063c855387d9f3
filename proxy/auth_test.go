package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// fakeVerifier is a portico.TokenVerifier answering from a table: tokens
// it does not know are refused with the reason unknown_issuer.
type fakeVerifier struct {
	ids    map[string]portico.TokenIdentity
	errs   map[string]error
	closed atomic.Bool
	open   *atomic.Int64 // verifiers made and not closed, when counted
}

func (f *fakeVerifier) VerifyToken(_ context.Context, tok string, _ time.Time) (portico.TokenIdentity, error) {
	if id, ok := f.ids[tok]; ok {
		return id, nil
	}
	if err, ok := f.errs[tok]; ok {
		return portico.TokenIdentity{}, err
	}
	return portico.TokenIdentity{}, refusal(portico.EUnauthorized, "unknown_issuer")
}

func (f *fakeVerifier) Close() {
	if f.closed.Swap(true) {
		panic("verifier closed twice")
	}
	if f.open != nil {
		f.open.Add(-1)
	}
}

func refusal(code portico.ErrorCode, reason string) error {
	return &portico.Error{Code: code, Message: "token refused (" + reason + ")", Err: &portico.ReasonError{Why: reason}}
}

// verifierFactory makes fakeVerifiers for Gateway.NewJWTVerifier and
// counts them.
type verifierFactory struct {
	mu     sync.Mutex
	made   []*fakeVerifier
	open   atomic.Int64
	ids    map[string]portico.TokenIdentity
	errs   map[string]error
	refuse bool
}

func (vf *verifierFactory) new(is []portico.JWTIssuer) (portico.TokenVerifier, error) {
	if vf.refuse {
		return nil, portico.Errorf(portico.EInvalid, "bad issuers")
	}
	v := &fakeVerifier{ids: vf.ids, errs: vf.errs, open: &vf.open}
	vf.open.Add(1)
	vf.mu.Lock()
	vf.made = append(vf.made, v)
	vf.mu.Unlock()
	return v, nil
}

func (vf *verifierFactory) count() int {
	vf.mu.Lock()
	defer vf.mu.Unlock()
	return len(vf.made)
}

// authAPI puts an API with the given auth methods and changes.
func (w *world) authAPI(id, ctx, target string, auth portico.AuthMethods, change func(*portico.API)) *portico.API {
	a := &portico.API{ID: id, Name: id, Version: "v1", Context: ctx, State: portico.Published, Auth: auth,
		Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: target, Weight: 1}}}, Plans: []string{"plan"}, Owner: "pub"}
	if auth.Has(portico.AuthJWT) {
		a.JWTIssuers = []portico.JWTIssuer{{Issuer: "https://idp.example", Key: strings.Repeat("k", 32), Algorithms: []string{"HS256"}}}
	}
	if change != nil {
		change(a)
	}
	w.apply(portico.Put(a))
	return a
}

// do sends a request with header fields given as name, value pairs.
func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

type errBody struct {
	Error struct{ Code, Message, Reason string }
}

func decodeErr(t *testing.T, body string) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e
}

// authWorld is a gateway with APIs of every auth method, a backend that
// echoes, applications app (key keyA) and app2 (key keyB) subscribed to
// all, and fake verifiers.
type authWorld struct {
	*world
	keyA, keyB string
	vf         *verifierFactory
	oauth      *fakeVerifier
	rec        *recorded
}

func newAuthWorld(t *testing.T) *authWorld {
	t.Helper()
	w := newWorld(t)
	aw := &authWorld{world: w, rec: &recorded{}}
	aw.vf = &verifierFactory{
		ids: map[string]portico.TokenIdentity{
			"jwt-app":     {Issuer: "https://idp.example", Application: "app"},
			"jwt-nobody":  {Issuer: "https://idp.example", Application: "nobody"},
			"jwt-unsubsc": {Issuer: "https://idp.example", Application: "lonely"},
		},
		errs: map[string]error{
			"jwt-expired": refusal(portico.EUnauthorized, "token_expired"),
			"jwt-nokeys":  refusal(portico.EUnavailable, "keys_unavailable"),
		},
	}
	aw.oauth = &fakeVerifier{ids: map[string]portico.TokenIdentity{
		"oauth-app":      {Issuer: "https://gw", Application: "app", KeyID: "k-pk_app_basic"},
		"oauth-revoked":  {Issuer: "https://gw", Application: "app2", KeyID: "k-pk_app2_basic"},
		"oauth-otherkey": {Issuer: "https://gw", Application: "app", KeyID: "k-pk_app2_basic"},
		"oauth-scoped":   {Issuer: "https://gw", Application: "app", KeyID: "k-pk_app_basic", Plans: []string{"gold"}},
		"oauth-inscope":  {Issuer: "https://gw", Application: "app", KeyID: "k-pk_app_basic", Plans: []string{"gold", "plan"}},
	}, errs: map[string]error{
		// Package oauth2's tokens are opaque: a JWT is malformed to it.
		"jwt-app":       refusal(portico.EUnauthorized, "malformed"),
		"oauth-expired": refusal(portico.EUnauthorized, "token_expired"),
	}}
	w.gw.NewJWTVerifier = aw.vf.new
	w.gw.OAuth2 = aw.oauth
	w.gw.Recorder = aw.rec
	w.gw.Limiter = admitAll{}
	be := echo(t, "be")
	all := []struct {
		id   string
		auth portico.AuthMethods
	}{
		{"basic", portico.AuthMethods{portico.AuthBasic}},
		{"jwt", portico.AuthMethods{portico.AuthJWT}},
		{"oauth", portico.AuthMethods{portico.AuthOAuth2}},
		{"both", portico.AuthMethods{portico.AuthJWT, portico.AuthOAuth2}},
		{"multi", portico.AuthMethods{portico.AuthAPIKey, portico.AuthBasic}},
		{"key", portico.AuthMethods{portico.AuthAPIKey}},
	}
	for _, a := range all {
		w.authAPI(a.id, "/"+a.id, be.URL, a.auth, nil)
	}
	aw.keyA = w.subscribe("app", "basic", portico.Approved)
	aw.keyB = w.subscribe("app2", "basic", portico.Approved)
	for _, a := range all[1:] {
		for _, app := range []string{"app", "app2"} {
			w.apply(portico.Put(&portico.Subscription{ID: "s-" + app + a.id, ApplicationID: app, APIID: a.id, PlanID: "plan", Status: portico.Approved}))
		}
	}
	w.apply(portico.Put(&portico.Application{ID: "lonely", Name: "lonely", Owner: "sub"}))
	// app2's key is revoked after it was used to get a token.
	k := *w.cfg.Keys.Get("k-" + aw.keyB)
	now := time.Now()
	k.RevokedAt = &now
	w.apply(portico.Put(&k))
	return aw
}

func TestAuthMethods(t *testing.T) {
	aw := newAuthWorld(t)
	u := aw.srv.URL
	tests := []struct {
		name      string
		path      string
		hdr       []string
		status    int
		code      string
		reason    string
		challenge string // a WWW-Authenticate value expected to start so
		app       string // the application recorded
	}{
		{"basic ok", "/basic/x", []string{"Authorization", basic("app", aw.keyA)}, 200, "", "", "", "app"},
		{"basic missing", "/basic/x", nil, 401, "unauthorized", "", "Basic realm=", ""},
		{"basic api key not taken", "/basic/x", []string{"X-API-Key", aw.keyA}, 401, "unauthorized", "", "Basic realm=", ""},
		{"basic wrong key", "/basic/x", []string{"Authorization", basic("app", "pk_nope")}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic key of another app", "/basic/x", []string{"Authorization", basic("app2", aw.keyA)}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic revoked key", "/basic/x", []string{"Authorization", basic("app2", aw.keyB)}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic no colon", "/basic/x", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("app"+aw.keyA))}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic bad base64", "/basic/x", []string{"Authorization", "Basic !!!"}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic huge", "/basic/x", []string{"Authorization", "Basic " + strings.Repeat("QUFB", 2000)}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"two authorization fields", "/basic/x", []string{"Authorization", basic("app", aw.keyA), "Authorization", basic("app", aw.keyA)}, 401, "unauthorized", "invalid_credentials", "", ""},
		{"basic lowercase scheme", "/basic/x", []string{"Authorization", "basic " + strings.TrimPrefix(basic("app", aw.keyA), "Basic ")}, 200, "", "", "", "app"},

		{"jwt ok", "/jwt/x", []string{"Authorization", "Bearer jwt-app"}, 200, "", "", "", "app"},
		{"jwt missing", "/jwt/x", nil, 401, "unauthorized", "", "Bearer realm=", ""},
		{"jwt expired", "/jwt/x", []string{"Authorization", "Bearer jwt-expired"}, 401, "unauthorized", "token_expired", `Bearer realm="portico", error="invalid_token"`, ""},
		{"jwt unknown app", "/jwt/x", []string{"Authorization", "Bearer jwt-nobody"}, 401, "unauthorized", "unknown_application", "", ""},
		{"jwt unknown issuer", "/jwt/x", []string{"Authorization", "Bearer garbage"}, 401, "unauthorized", "unknown_issuer", "", ""},
		{"jwt keys unavailable", "/jwt/x", []string{"Authorization", "Bearer jwt-nokeys"}, 503, "unavailable", "", "", ""},
		{"jwt no subscription", "/jwt/x", []string{"Authorization", "Bearer jwt-unsubsc"}, 403, "forbidden", "", "", "lonely"},
		{"jwt basic not taken", "/jwt/x", []string{"Authorization", basic("app", aw.keyA)}, 401, "unauthorized", "", "Bearer realm=", ""},
		{"jwt token of the gateway", "/jwt/x", []string{"Authorization", "Bearer oauth-app"}, 401, "unauthorized", "unknown_issuer", "", ""},

		{"oauth ok", "/oauth/x", []string{"Authorization", "Bearer oauth-app"}, 200, "", "", "", "app"},
		{"oauth revoked key", "/oauth/x", []string{"Authorization", "Bearer oauth-revoked"}, 401, "unauthorized", "key_revoked", "", ""},
		{"oauth key of another app", "/oauth/x", []string{"Authorization", "Bearer oauth-otherkey"}, 401, "unauthorized", "key_revoked", "", ""},
		{"oauth plan not in scope", "/oauth/x", []string{"Authorization", "Bearer oauth-scoped"}, 403, "forbidden", "", `Bearer realm="portico", error="insufficient_scope"`, "app"},
		{"oauth plan in scope", "/oauth/x", []string{"Authorization", "Bearer oauth-inscope"}, 200, "", "", "", "app"},
		{"oauth jwt not taken", "/oauth/x", []string{"Authorization", "Bearer jwt-app"}, 401, "unauthorized", "malformed", "", ""},
		{"oauth expired", "/oauth/x", []string{"Authorization", "Bearer oauth-expired"}, 401, "unauthorized", "token_expired", "", ""},

		{"both jwt", "/both/x", []string{"Authorization", "Bearer jwt-app"}, 200, "", "", "", "app"},
		{"both oauth", "/both/x", []string{"Authorization", "Bearer oauth-app"}, 200, "", "", "", "app"},
		{"both oauth revoked", "/both/x", []string{"Authorization", "Bearer oauth-revoked"}, 401, "unauthorized", "key_revoked", "", ""},
		{"both neither", "/both/x", []string{"Authorization", "Bearer garbage"}, 401, "unauthorized", "unknown_issuer", "", ""},
		{"both gateway's expired token is not tried as a JWT", "/both/x", []string{"Authorization", "Bearer oauth-expired"}, 401, "unauthorized", "token_expired", "", ""},

		{"multi key", "/multi/x", []string{"X-API-Key", aw.keyA}, 200, "", "", "", "app"},
		{"multi basic", "/multi/x", []string{"Authorization", basic("app", aw.keyA)}, 200, "", "", "", "app"},
		{"multi bad key never tries basic", "/multi/x", []string{"X-API-Key", "pk_nope", "Authorization", basic("app", aw.keyA)}, 401, "unauthorized", "", "", ""},
		{"multi missing", "/multi/x", nil, 401, "unauthorized", "", "Basic realm=", ""},
		{"key missing", "/key/x", nil, 401, "unauthorized", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", u+tt.path, nil, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			rec := aw.rec.last(t)
			if rec.Application != tt.app {
				t.Errorf("recorded application %q, want %q", rec.Application, tt.app)
			}
			if tt.status == 200 {
				var e echoed
				json.Unmarshal([]byte(body), &e)
				if _, ok := e.Header["Authorization"]; ok {
					t.Error("the backend got the Authorization field")
				}
				if _, ok := e.Header["X-Api-Key"]; ok {
					t.Error("the backend got the API key")
				}
				return
			}
			e := decodeErr(t, body)
			if e.Error.Code != tt.code || e.Error.Reason != tt.reason || e.Error.Message == "" {
				t.Errorf("error %+v, want code %q, reason %q", e.Error, tt.code, tt.reason)
			}
			got := resp.Header.Values("Www-Authenticate")
			if tt.challenge == "" {
				if tt.status == 401 && len(got) > 0 && tt.reason == "" {
					t.Errorf("WWW-Authenticate %q on an API that takes no Basic or Bearer", got)
				}
				return
			}
			found := false
			for _, c := range got {
				found = found || strings.HasPrefix(c, tt.challenge)
			}
			if !found {
				t.Errorf("WWW-Authenticate %q, want one starting %q", got, tt.challenge)
			}
		})
	}
	t.Run("missing names what the API takes", func(t *testing.T) {
		_, body := do(t, "GET", u+"/multi/x", nil)
		msg := decodeErr(t, body).Error.Message
		if !strings.Contains(msg, "X-API-Key") || !strings.Contains(msg, "Basic") {
			t.Errorf("message %q names not both methods", msg)
		}
	})
}

// TestForwardCredentials: the credentials reach the backend only when
// the API forwards them; identity fields only when the API asks; a
// client's own X-Portico-* fields never.
func TestForwardCredentials(t *testing.T) {
	aw := newAuthWorld(t)
	be := echo(t, "be2")
	aw.authAPI("fwd", "/fwd", be.URL, portico.AuthMethods{portico.AuthAPIKey, portico.AuthBasic}, func(a *portico.API) {
		a.ForwardCredentials, a.IdentityHeaders = true, true
	})
	aw.authAPI("plain", "/plain", be.URL, portico.AuthMethods{portico.AuthAPIKey, portico.AuthBasic}, nil)
	aw.authAPI("open", "/open", be.URL, portico.AuthMethods{portico.AuthNone}, nil)
	aw.authAPI("keyonly", "/keyonly", be.URL, portico.AuthMethods{portico.AuthAPIKey}, nil)
	for _, api := range []string{"fwd", "plain", "keyonly"} {
		aw.apply(portico.Put(&portico.Subscription{ID: "s-app" + api, ApplicationID: "app", APIID: api, PlanID: "plan", Status: portico.Approved}))
	}
	spoof := []string{"X-Portico-Application", "evil", "X-Portico-Subscriber", "evil", "X_Portico_Application", "evil", "x-portico-other", "evil"}
	tests := []struct {
		name          string
		path          string
		hdr           []string
		authz, apiKey bool
		identity      bool
	}{
		{"forwarded basic", "/fwd/x", []string{"Authorization", basic("app", aw.keyA)}, true, false, true},
		{"forwarded key", "/fwd/x", []string{"X-API-Key", aw.keyA}, false, true, true},
		{"kept basic", "/plain/x", []string{"Authorization", basic("app", aw.keyA)}, false, false, false},
		{"kept key", "/plain/x", []string{"X-API-Key", aw.keyA}, false, false, false},
		// An open API's backend does its own auth: Authorization passes,
		{"open", "/open/x", []string{"Authorization", "Bearer backend-token"}, true, false, false},
		{"open, Basic of the backend's", "/open/x", []string{"Authorization", basic("user", "backend-password")}, true, false, false},
		// but never the gateway's own credentials (a probe found a
		// publisher's open API receiving them): its access tokens, and
		// live API keys as bearer tokens or in Basic credentials.
		{"open, gateway token", "/open/x", []string{"Authorization", "Bearer " + portico.AccessTokenPrefix + "anything"}, false, false, false},
		{"open, key as bearer", "/open/x", []string{"Authorization", "bearer " + aw.keyA}, false, false, false},
		{"open, Basic with a key", "/open/x", []string{"Authorization", basic("app", aw.keyA)}, false, false, false},
		{"open, Basic with a key as user", "/open/x", []string{"Authorization", basic(aw.keyA, "")}, false, false, false},
		{"open, key in a second field", "/open/x", []string{"Authorization", "Bearer backend-token", "Authorization", basic("app", aw.keyA)}, false, false, false},
		{"key API, backend's bearer", "/keyonly/x", []string{"X-API-Key", aw.keyA, "Authorization", "Bearer backend-token"}, true, false, false},
		{"key API, gateway token", "/keyonly/x", []string{"X-API-Key", aw.keyA, "Authorization", "Bearer " + portico.AccessTokenPrefix + "x"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", aw.srv.URL+tt.path, nil, append(tt.hdr, spoof...)...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if _, ok := e.Header["Authorization"]; ok != tt.authz {
				t.Errorf("Authorization at the backend: %v, want %v", ok, tt.authz)
			}
			if v, ok := e.Header["X-Api-Key"]; ok != tt.apiKey || (ok && v[0] != aw.keyA) {
				t.Errorf("X-API-Key at the backend: %q, want %v", v, tt.apiKey)
			}
			for name, vs := range e.Header {
				if isPorticoField(name) {
					if !tt.identity {
						t.Errorf("%s: %q reached the backend", name, vs)
					}
					for _, v := range vs {
						if v == "evil" {
							t.Errorf("%s: the client's %q reached the backend", name, v)
						}
					}
				}
			}
			if tt.identity {
				if got := e.Header["X-Portico-Application"]; len(got) != 1 || got[0] != "app" {
					t.Errorf("X-Portico-Application %q, want app", got)
				}
				if got := e.Header["X-Portico-Subscriber"]; len(got) != 1 || got[0] != "sub" {
					t.Errorf("X-Portico-Subscriber %q, want sub", got)
				}
			}
		})
	}
}

// TestJWTWithoutVerifier: a gateway without NewJWTVerifier answers an
// API's bearer tokens with 503, and one whose NewJWTVerifier fails too.
func TestJWTWithoutVerifier(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		w := newWorld(t)
		if refuse {
			w.gw.NewJWTVerifier = (&verifierFactory{refuse: true}).new
		}
		be := echo(t, "be")
		w.authAPI("jwt", "/jwt", be.URL, portico.AuthMethods{portico.AuthJWT}, nil)
		resp, body := do(t, "GET", w.srv.URL+"/jwt/x", nil, "Authorization", "Bearer tok")
		if resp.StatusCode != 503 || errorCode(t, body) != "unavailable" {
			t.Errorf("factory refusing %v: %d %s, want 503 unavailable", refuse, resp.StatusCode, body)
		}
		// Without OAuth2, an oauth2 API refuses every bearer token.
		w.authAPI("oauth", "/oauth", be.URL, portico.AuthMethods{portico.AuthOAuth2}, nil)
		resp, body = do(t, "GET", w.srv.URL+"/oauth/x", nil, "Authorization", "Bearer tok")
		if resp.StatusCode != 401 || errorCode(t, body) != "unauthorized" {
			t.Errorf("oauth2 without a verifier: %d %s, want 401", resp.StatusCode, body)
		}
	}
}

// TestVerifierLifecycle: one verifier per API with jwt, kept while its
// issuers stay the same, closed when they change or the API goes.
func TestVerifierLifecycle(t *testing.T) {
	w := newWorld(t)
	vf := &verifierFactory{ids: map[string]portico.TokenIdentity{"t": {Application: "app"}}}
	w.gw.NewJWTVerifier = vf.new
	be := echo(t, "be")
	a := w.authAPI("jwt", "/jwt", be.URL, portico.AuthMethods{portico.AuthJWT}, nil)
	w.authAPI("key", "/key", be.URL, portico.AuthMethods{portico.AuthAPIKey}, nil)
	check := func(step string, made, open int) {
		t.Helper()
		if vf.count() != made || vf.open.Load() != int64(open) {
			t.Fatalf("%s: %d made, %d open; want %d, %d", step, vf.count(), vf.open.Load(), made, open)
		}
	}
	check("first", 1, 1)

	b := *a
	b.Name = "renamed"
	w.apply(portico.Put(&b))
	check("renamed", 1, 1)
	b2 := b
	b2.JWTIssuers = append([]portico.JWTIssuer(nil), b.JWTIssuers...)
	w.apply(portico.Put(&b2)) // equal issuers in a new slice
	check("same issuers", 1, 1)

	c := b2
	c.JWTIssuers = []portico.JWTIssuer{{Issuer: "https://other.example", Key: strings.Repeat("s", 32), Algorithms: []string{"HS256"}}}
	w.apply(portico.Put(&c))
	check("new issuers", 2, 1)
	if !vf.made[0].closed.Load() || vf.made[1].closed.Load() {
		t.Fatal("the old verifier is open or the new one closed")
	}

	d := c
	d.Auth = portico.AuthMethods{portico.AuthAPIKey}
	d.JWTIssuers = nil
	w.apply(portico.Put(&d))
	check("jwt dropped", 2, 0)

	w.apply(portico.Put(&c))
	check("jwt again", 3, 1)
	w.apply(portico.Delete(portico.KindAPI, c.ID))
	check("deleted", 3, 0)

	w.apply(portico.Put(&c))
	check("back", 4, 1)
	w.gw.Close()
	check("gateway closed", 4, 0)
}

// TestTokenEndpoint: the gateway hands /oauth2/token and /oauth2/jwks.json
// to its TokenEndpoint before any API lookup, and nothing else.
func TestTokenEndpoint(t *testing.T) {
	w := newWorld(t)
	var got []string
	var mu sync.Mutex
	w.gw.TokenEndpoint = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		rw.Write([]byte("token endpoint"))
	})
	var logs bytes.Buffer
	w.gw.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	be := echo(t, "be")
	w.api("oauth2", "/oauth2", portico.AuthNone, be.URL) // the admin API reserves it; here it shows precedence
	w.api("near", "/oauth2x", portico.AuthNone, be.URL)
	// A stored API on those paths is told of, once, when it is routed.
	if n := strings.Count(logs.String(), "lies on the gateway's OAuth2 paths"); n != 1 || !strings.Contains(logs.String(), "context=/oauth2\n") {
		t.Errorf("%d warnings for the APIs at /oauth2 and /oauth2x:\n%s", n, logs.String())
	}
	for _, tt := range []struct {
		method, path string
		endpoint     bool
	}{
		{"POST", "/oauth2/token", true},
		{"GET", "/oauth2/jwks.json", true},
		{"GET", "/oauth2/other", false},
		{"GET", "/oauth2/token/x", false},
	} {
		resp, body := do(t, tt.method, w.srv.URL+tt.path, strings.NewReader(""))
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, body)
		}
		if (body == "token endpoint") != tt.endpoint {
			t.Errorf("%s %s: answered %q", tt.method, tt.path, body)
		}
	}
	if len(got) != 2 {
		t.Errorf("token endpoint saw %q", got)
	}
}
