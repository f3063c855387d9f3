package oauth2

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// MaxBodyBytes bounds the body of a token request.
const MaxBodyBytes = 8 << 10

// MaxScopePlans bounds the number of plan IDs a scope may name.
const MaxScopePlans = 64

// tokenRequest is a token request as read, before any check against the
// configuration.
type tokenRequest struct {
	clientID, secret string
	basic            bool // the client authenticated with HTTP Basic
	grantType        string
	scope            string
}

// failure is a refused token request: an RFC 6749 §5.2 error code, its
// HTTP status and a description made only of the characters §5.2 allows
// (no '"' or '\').
type failure struct {
	status int
	code   string
	desc   string
}

func (f *failure) Error() string { return f.code + ": " + f.desc }

func invalidRequest(desc string) *failure {
	return &failure{http.StatusBadRequest, "invalid_request", desc}
}

// errClient is the one answer to a client that did not authenticate, for
// an unknown client, a wrong secret, a revoked key or a malformed
// Authorization header alike.
var errClient = &failure{http.StatusUnauthorized, "invalid_client", "client authentication failed"}

// params are the parameters of a token request Portico reads; others are
// ignored (RFC 6749 §3.2), but none may be given twice.
var params = []string{"grant_type", "client_id", "client_secret", "scope"}

// readRequest reads a token request: the form-encoded body and the
// client's credentials, from the Authorization header or the body.
func readRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, *failure) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &failure{http.StatusUnsupportedMediaType, "invalid_request", "the body must be application/x-www-form-urlencoded"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &failure{http.StatusRequestEntityTooLarge, "invalid_request", "the body is over 8 KiB"}
		}
		return nil, invalidRequest("the body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not well-formed application/x-www-form-urlencoded")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			if !slices.Contains(params, name) {
				name = "a parameter"
			}
			return nil, invalidRequest(name + " is given more than once")
		}
	}
	// A parameter without a value counts as absent (RFC 6749 §3.1).
	req := &tokenRequest{grantType: form.Get("grant_type"), scope: form.Get("scope")}
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	switch authz := r.Header.Values("Authorization"); len(authz) {
	case 0:
		req.clientID, req.secret = formID, formSecret
	case 1:
		id, secret, ok := parseBasic(authz[0])
		if !ok {
			return nil, errClient
		}
		// A client may repeat its client_id in the body, but not
		// authenticate twice (RFC 6749 §2.3).
		if formSecret != "" || formID != "" && formID != id {
			return nil, invalidRequest("client credentials are given both in the Authorization header and in the body")
		}
		req.clientID, req.secret, req.basic = id, secret, true
	default:
		return nil, invalidRequest("Authorization is given more than once")
	}
	if req.clientID == "" || req.secret == "" {
		return nil, errClient
	}
	return req, nil
}

// parseBasic reads the credentials of an HTTP Basic Authorization header:
// client_id:client_secret in base64, each form-urlencoded (RFC 6749
// §2.3.1), so a client_id holding ':' is sent as %3A and the first ':' is
// the separator.
func parseBasic(h string) (id, secret string, ok bool) {
	const scheme = "basic "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(h[len(scheme):], " "))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	if id, err = url.QueryUnescape(id); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// parseScope splits a scope into its plan IDs, sorted without repeats: a
// list of scope-tokens (RFC 6749 §3.3: printable ASCII but '"' and '\')
// separated by single spaces. ok is false for any other text.
func parseScope(s string) (plans []string, ok bool) {
	if s == "" {
		return nil, true
	}
	plans = strings.Split(s, " ")
	if len(plans) > MaxScopePlans {
		return nil, false
	}
	for _, p := range plans {
		if p == "" {
			return nil, false
		}
		for i := range len(p) {
			if c := p[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, false
			}
		}
	}
	slices.Sort(plans)
	return slices.Compact(plans), true
}
