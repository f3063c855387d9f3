package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portico-gw/portico/configfile"
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

// Bounds of a call of the admin API.
const (
	// defaultAdminTimeout bounds a whole call, answer read, unless
	// --timeout says otherwise: an apply of 10,000 APIs takes about 2 s,
	// one of a 64 MiB file with documents less than a minute.
	defaultAdminTimeout = 2 * time.Minute
	// maxAdminTimeout bounds --timeout.
	maxAdminTimeout = 24 * time.Hour
	// maxAnswerBytes bounds a 2xx answer read: twice the largest
	// configuration file (configfile.MaxFileBytes), which an export
	// may not exceed to be applied anywhere.
	maxAnswerBytes = 2 * configfile.MaxFileBytes
	// maxErrorBytes bounds an error answer read: the admin API's are a
	// few hundred bytes of JSON.
	maxErrorBytes = 64 << 10
)

// timeoutFlag defines --timeout on fs: how long each call of the admin
// API may take, answer read, from 1s to maxAdminTimeout.
func timeoutFlag(fs *flag.FlagSet) *time.Duration {
	d := defaultAdminTimeout
	fs.Func("timeout", "how long each call of the admin API may take, answer included (default 2m; at most 24h)", func(v string) error {
		t, err := time.ParseDuration(v)
		if err != nil || t < time.Second || t > maxAdminTimeout {
			return errors.New("timeout is a duration from 1s to 24h, such as 90s or 10m")
		}
		d = t
		return nil
	})
	return &d
}

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
	// maxAnswer bounds a 2xx answer read (maxAnswerBytes).
	maxAnswer int64
}

// adminError is an error answer of the admin API.
type adminError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

// Error is the answer for a terminal: its text from the server with
// control characters escaped (see terminalSafe).
func (e *adminError) Error() string {
	s := fmt.Sprintf("%s (%d): %s", terminalSafe(e.Code), e.Status, terminalSafe(e.Message))
	if e.Field != "" && !strings.Contains(e.Message, e.Field) {
		s += " (field " + terminalSafe(e.Field) + ")"
	}
	return s
}

// terminalSafe returns s, text from a server, fit to print on a
// terminal: control characters (C0 and C1, DEL, and so the escapes that
// move the cursor, recolour or retitle a terminal), bidirectional and
// other invisible formatting characters, and bytes that are not UTF-8
// are written as Go escapes (\x1b, \u202e, \xff).
func terminalSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// newAdminClient returns a client of the admin API at adminURL (""
// takes PORTICO_ADMIN_URL, else http://localhost:9080), with the
// credentials of the environment getenv reads, whose calls each end
// within timeout (0: defaultAdminTimeout); signing in is a call.
func newAdminClient(ctx context.Context, adminURL string, timeout time.Duration, getenv func(string) (string, bool)) (*adminClient, error) {
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
		base:      strings.TrimSuffix(u.String(), "/"),
		maxAnswer: maxAnswerBytes,
		http: &http.Client{Timeout: cmp.Or(timeout, defaultAdminTimeout),
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
	limit := c.maxAnswer
	if resp.StatusCode/100 != 2 {
		limit = maxErrorBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, c.base+path, err)
	}
	if int64(len(b)) > limit {
		if resp.StatusCode/100 == 2 {
			return fmt.Errorf("%s %s: the answer is over %d bytes, more than an admin API answers", method, c.base+path, limit)
		}
		b = b[:256] // an error answer that long is no admin API's: show its start
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			msg := strings.TrimSpace(string(b))
			if len(msg) > 256 {
				msg = msg[:256] + "…"
			}
			return &adminError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: msg}
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
