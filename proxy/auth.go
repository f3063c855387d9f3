package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/portico-gw/portico"
)

// routeAuth is what an API's auth methods need per request, made with its
// upstream: the answer to a request without credentials, and whether the
// Authorization field is a credential of the gateway's (then it is not
// forwarded).
type routeAuth struct {
	missing    string   // the 401 message naming what the API takes
	challenges []string // WWW-Authenticate values of that 401
	authzOwned bool     // the API takes basic, jwt or oauth2
	bearer     bool     // the API takes jwt or oauth2
}

func newRouteAuth(a *portico.API) routeAuth {
	var ra routeAuth
	if a.Auth.Open() {
		return ra
	}
	var takes []string
	for _, m := range a.Auth.Effective() {
		switch m {
		case portico.AuthAPIKey:
			takes = append(takes, "an API key in the X-API-Key header")
		case portico.AuthBasic:
			takes = append(takes, "HTTP Basic credentials (application ID and API key)")
			ra.challenges = append(ra.challenges, `Basic realm="portico", charset="UTF-8"`)
			ra.authzOwned = true
		case portico.AuthJWT, portico.AuthOAuth2:
			if !ra.bearer {
				takes = append(takes, "a bearer token in the Authorization header")
				ra.challenges = append(ra.challenges, `Bearer realm="portico"`)
			}
			ra.authzOwned, ra.bearer = true, true
		}
	}
	if len(takes) == 1 && takes[0] == "an API key in the X-API-Key header" {
		ra.missing = "missing API key: send it in the X-API-Key header"
	} else {
		ra.missing = "missing credentials: send " + strings.Join(takes, ", or ")
	}
	return ra
}

// Reasons of the gateway's own 401s, beside those of the token verifiers.
const (
	reasonInvalidCredentials = "invalid_credentials"
	reasonUnknownApplication = "unknown_application"
	reasonKeyRevoked         = "key_revoked"
	reasonUnknownIssuer      = "unknown_issuer"
	reasonMalformed          = "malformed"
)

var invalidTokenChallenge = []string{`Bearer realm="portico", error="invalid_token"`}

// authenticate identifies the application calling an API that is not
// open. The first of the API's methods (in its order) whose credential
// the request carries decides: an API key for api_key, an Authorization
// field "Basic …" for basic, "Bearer …" for jwt and oauth2. A credential
// that is present but bad is a 401, never a try of another method. It
// returns the application and, for an OAuth2 token, the plans the token
// is good for (nil: any); when ok is false it has answered, in form.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, snap *snapshot, up *upstream, key string, form errorForm) (app *portico.Application, scope []string, ok bool) {
	ra := &up.auth
	var scheme, cred string
	if ra.authzOwned {
		if vs := r.Header["Authorization"]; len(vs) > 0 {
			if len(vs) > 1 {
				form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized, "send one Authorization field", reasonInvalidCredentials, nil)
				return nil, nil, false
			}
			scheme, cred = splitAuthorization(vs[0])
		}
	}
	for _, m := range up.api.Auth.Effective() {
		switch m {
		case portico.AuthAPIKey:
			if key != "" {
				return g.keyAuth(w, snap, key, form)
			}
		case portico.AuthBasic:
			if strings.EqualFold(scheme, "Basic") {
				return g.basicAuth(w, snap, cred, form)
			}
		case portico.AuthJWT, portico.AuthOAuth2:
			if strings.EqualFold(scheme, "Bearer") {
				return g.bearerAuth(w, r, snap, up, cred, form)
			}
		}
	}
	form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized, ra.missing, "", ra.challenges)
	return nil, nil, false
}

// splitAuthorization splits an Authorization field into its scheme and
// credentials (RFC 9110 §11.4).
func splitAuthorization(v string) (scheme, cred string) {
	scheme, cred, _ = strings.Cut(strings.TrimLeft(v, " \t"), " ")
	return scheme, strings.Trim(cred, " \t")
}

// gatewayCredential reports whether one of the Authorization fields vs
// carries a credential of the gateway's own: one of its OAuth2 access
// tokens, or a live API key as a bearer token or in Basic credentials (as
// the user name or the password).
func gatewayCredential(snap *snapshot, vs []string) bool {
	for _, v := range vs {
		scheme, cred := splitAuthorization(v)
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			if strings.HasPrefix(cred, portico.AccessTokenPrefix) || keyOf(snap, []byte(cred)) != nil {
				return true
			}
		case strings.EqualFold(scheme, "Basic"):
			var buf [maxBasicCredentials]byte
			if len(cred) > len(buf)*4/3 {
				continue
			}
			n, err := base64.StdEncoding.Decode(buf[:], []byte(cred))
			if err != nil {
				continue
			}
			user, pass, _ := bytes.Cut(buf[:n], []byte{':'})
			if keyOf(snap, user) != nil || keyOf(snap, pass) != nil {
				return true
			}
		}
	}
	return false
}

// unexpired reports whether k, a key of the snapshot's table (not
// revoked), has not reached its expiry: a rotated key works until the
// end of its grace, then answers as a revoked one. Keys have no expiry
// but after a rotation, so the common key costs one field test and no
// clock reading.
func (g *Gateway) unexpired(k *portico.Key) bool {
	return k.ExpiresAt.IsZero() || !k.Expired(g.now())
}

// keyOf returns the API key b is among the snapshot's (not revoked), or
// nil. A key past its expiry is still found: it is the gateway's
// credential all the same, never to be forwarded; the auth methods refuse
// it (unexpired).
func keyOf(snap *snapshot, b []byte) *portico.Key {
	if len(b) == 0 {
		return nil
	}
	sum := sha256.Sum256(b)
	return snap.keys.Get(string(sum[:]))
}

// keyAuth looks an API key up by its SHA-256 among the live keys.
func (g *Gateway) keyAuth(w http.ResponseWriter, snap *snapshot, key string, form errorForm) (*portico.Application, []string, bool) {
	// A key's bytes in a buffer on the stack: []byte(key) allocates for
	// keys over 32 bytes (BenchmarkFastPath).
	var buf [64]byte
	sum := sha256.Sum256(append(buf[:0], key...))
	k := snap.keys.Get(string(sum[:]))
	var app *portico.Application
	if k != nil && g.unexpired(k) {
		app = snap.cfg.Applications.Get(k.ApplicationID)
	}
	if app == nil {
		form.write(w, http.StatusUnauthorized, portico.EUnauthorized, "invalid API key")
		return nil, nil, false
	}
	return app, nil, true
}

// maxBasicCredentials bounds the base64 credentials of a Basic field: an
// application ID and an API key are far shorter.
const maxBasicCredentials = 1024

// basicAuth takes Basic credentials of an application ID and one of its
// API keys: the key is looked up by its SHA-256 as an API key is (no slow
// password hash: keys are random), and must belong to that application.
// Every failure gets one message, so that it tells nothing about which
// part was wrong.
func (g *Gateway) basicAuth(w http.ResponseWriter, snap *snapshot, cred string, form errorForm) (*portico.Application, []string, bool) {
	var buf [maxBasicCredentials]byte
	var app *portico.Application
	if len(cred) <= len(buf)*4/3 {
		if n, err := base64.StdEncoding.Decode(buf[:], []byte(cred)); err == nil {
			dec := buf[:n]
			for i, c := range dec {
				if c != ':' {
					continue
				}
				if k := keyOf(snap, dec[i+1:]); k != nil && k.ApplicationID == string(dec[:i]) && g.unexpired(k) {
					app = snap.cfg.Applications.Get(k.ApplicationID)
				}
				break
			}
		}
	}
	if app == nil {
		form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized,
			"invalid Basic credentials: send the application ID as the user name and one of its API keys as the password",
			reasonInvalidCredentials, nil)
		return nil, nil, false
	}
	return app, nil, true
}

// bearerAuth verifies a bearer token. On an API that takes both jwt and
// oauth2, the gateway's own issuer (Gateway.OAuth2) tries first, and the
// API's JWT issuers only when the token is not of the gateway's form or
// issuer (see notGatewayToken); a token of the gateway's that is expired
// or unknown is refused as such.
func (g *Gateway) bearerAuth(w http.ResponseWriter, r *http.Request, snap *snapshot, up *upstream, token string, form errorForm) (*portico.Application, []string, bool) {
	api := up.api
	now := g.now()
	var id portico.TokenIdentity
	var err error
	oauth := false
	if api.Auth.Has(portico.AuthOAuth2) {
		if g.OAuth2 == nil {
			err = &portico.Error{Code: portico.EUnauthorized, Message: "this gateway issues no OAuth2 tokens", Err: &portico.ReasonError{Why: reasonUnknownIssuer}}
		} else {
			id, err = g.OAuth2.VerifyToken(r.Context(), token, now)
			oauth = err == nil
		}
	}
	if api.Auth.Has(portico.AuthJWT) && (!api.Auth.Has(portico.AuthOAuth2) || notGatewayToken(err)) {
		if up.verifier == nil {
			// newUpstream logged why.
			form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, "this API's tokens cannot be checked now")
			return nil, nil, false
		}
		id, err = up.verifier.VerifyToken(r.Context(), token, now)
	}
	if err != nil {
		var pe *portico.Error
		if errors.As(err, &pe) && pe.Code == portico.EUnavailable {
			form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, pe.Message)
			return nil, nil, false
		}
		msg := "invalid bearer token"
		if pe != nil && pe.Message != "" {
			msg = pe.Message
		}
		form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized, msg, reasonOf(err), invalidTokenChallenge)
		return nil, nil, false
	}
	app := snap.cfg.Applications.Get(id.Application)
	if app == nil {
		form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized, "the token names no known application", reasonUnknownApplication, invalidTokenChallenge)
		return nil, nil, false
	}
	if !oauth {
		return app, nil, true
	}
	// The gateway's own token lives no longer than the key it was issued
	// against.
	if k := snap.cfg.Keys.Get(id.KeyID); k == nil || k.ApplicationID != app.ID || !live(k) || k.Expired(now) {
		form.writeAuth(w, http.StatusUnauthorized, portico.EUnauthorized, "the key the token was issued against is revoked", reasonKeyRevoked, invalidTokenChallenge)
		return nil, nil, false
	}
	if len(id.Plans) == 0 {
		return app, nil, true
	}
	return app, id.Plans, true
}

// notGatewayToken reports whether Gateway.OAuth2 refused a token as not
// one of its own: malformed for its form (package oauth2's opaque
// tokens), or of an unknown issuer.
func notGatewayToken(err error) bool {
	switch reasonOf(err) {
	case reasonUnknownIssuer, reasonMalformed:
		return true
	}
	return false
}

// live reports whether k admits requests, as the snapshot's key table
// has it.
func live(k *portico.Key) bool {
	_, ok := keyHash(k)
	return ok
}

// reasonOf returns the machine-readable reason in err's chain, "" when
// there is none.
func reasonOf(err error) string {
	var r interface{ Reason() string }
	if err != nil && errors.As(err, &r) {
		return r.Reason()
	}
	return ""
}

var insufficientScope = []string{`Bearer realm="portico", error="insufficient_scope"`}
