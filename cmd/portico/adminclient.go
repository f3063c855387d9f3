package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Environment variables an admin client reads its credentials from.
// Credentials are never flags: a flag shows in ps and in shell history.
const (
	envAdminURL      = "PORTICO_ADMIN_URL"      // the default of --admin
	envAdminToken    = "PORTICO_ADMIN_TOKEN"    // a bearer token (POST /api/v1/tokens)
	envAdminUser     = "PORTICO_ADMIN_USER"     // with envAdminPassword: sign in for a token
	envAdminPassword = "PORTICO_ADMIN_PASSWORD" // the same variable serve reads for the first admin
)

// defaultAdminURL is where a node's admin API listens by default.
const defaultAdminURL = "http://localhost:9080"

// adminClient calls a node's admin API, any node of a cluster, as one
// user: with the bearer token of PORTICO_ADMIN_TOKEN, or with one it
// signs in for with PORTICO_ADMIN_USER and PORTICO_ADMIN_PASSWORD and
// revokes in Close. Its methods may be called from one goroutine at a
// time.
type adminClient struct {
	base   string // scheme://host[:port], without a trailing slash
	http   *http.Client
	token  string
	signed bool // the token is the client's own, revoked by Close
}

// adminError is an error answer of the admin API.
type adminError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *adminError) Error() string {
	s := fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
	if e.Field != "" && !strings.Contains(e.Message, e.Field) {
		s += " (field " + e.Field + ")"
	}
	return s
}

// newAdminClient returns a client of the admin API at adminURL (""
// takes PORTICO_ADMIN_URL, else http://localhost:9080), with the
// credentials of the environment getenv reads; signing in is a call.
func newAdminClient(ctx context.Context, adminURL string, getenv func(string) (string, bool)) (*adminClient, error) {
	if adminURL == "" {
		adminURL, _ = getenv(envAdminURL)
	}
	if adminURL == "" {
		adminURL = defaultAdminURL
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--admin %q: give the admin listener's URL, such as %s (no credentials in it: use %s or %s and %s)",
			adminURL, defaultAdminURL, envAdminToken, envAdminUser, envAdminPassword)
	}
	c := &adminClient{
		base: strings.TrimSuffix(u.String(), "/"),
		http: &http.Client{Timeout: 10 * time.Minute,
			// A redirect is not followed: the credentials would go with it
			// (to another port or scheme of the same host, say).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	c.base = strings.TrimSuffix(c.base, "/api/v1")
	if tok, _ := getenv(envAdminToken); tok != "" {
		c.token = tok
		return c, nil
	}
	user, _ := getenv(envAdminUser)
	pass, _ := getenv(envAdminPassword)
	if user == "" || pass == "" {
		return nil, fmt.Errorf("no credentials: set %s to a bearer token (POST /api/v1/tokens), or %s and %s", envAdminToken, envAdminUser, envAdminPassword)
	}
	var tok struct {
		Token string `json:"token"`
	}
	req := func(r *http.Request) { r.SetBasicAuth(user, pass) }
	if err := c.call(ctx, "POST", "/api/v1/tokens", nil, []byte(`{"ttl":3600}`), "application/json", req, &tok); err != nil {
		return nil, fmt.Errorf("signing in as %s: %w", user, err)
	}
	c.token, c.signed = tok.Token, true
	return c, nil
}

// do sends a request to path (under the admin listener, such as
// "/api/v1/config") with the query and body, and returns the answer's
// body and Content-Type when its status is 2xx, else an *adminError.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body []byte, contentType string) ([]byte, string, error) {
	var out []byte
	var ct string
	err := c.send(ctx, method, path, query, body, contentType, nil, func(resp *http.Response, b []byte) {
		out, ct = b, resp.Header.Get("Content-Type")
	})
	return out, ct, err
}

// call is do for JSON answers, decoded into v (unless nil).
func (c *adminClient) call(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, prepare func(*http.Request), v any) error {
	var decodeErr error
	err := c.send(ctx, method, path, query, body, contentType, prepare, func(_ *http.Response, b []byte) {
		if v != nil && len(b) > 0 {
			decodeErr = json.Unmarshal(b, v)
		}
	})
	if err == nil && decodeErr != nil {
		err = fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, decodeErr)
	}
	return err
}

func (c *adminClient) send(ctx context.Context, method, path string, query url.Values, body []byte, contentType string,
	prepare func(*http.Request), ok func(*http.Response, []byte)) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if prepare != nil {
		prepare(req)
	} else if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, c.base+path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			return &adminError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(b))}
		}
		return &adminError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field}
	}
	ok(resp, b)
	return nil
}

// Close revokes the token the client signed in for; a token of the
// environment stays.
func (c *adminClient) Close(ctx context.Context) error {
	if !c.signed {
		return nil
	}
	c.signed = false
	err := c.call(ctx, "DELETE", "/api/v1/tokens", nil, nil, "", nil, nil)
	var ae *adminError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return nil // ended already
	}
	return err
}
