package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// porticoTarget is one Portico node on the embedded store with one
// published API of key auth, whose plan has a rate limit and a quota too
// large ever to trigger: every request goes through auth, the subscription
// check and both limits, and is proxied.
func porticoTarget(o options, name, about string, args ...string) *target {
	return porticoAPITarget(name, about, nil, args...)
}

// porticoAPITarget is the portico target with the auth, policies and
// request of the API that newAPI returns when the target is set up (nil:
// the portico target's).
func porticoAPITarget(name, about string, newAPI func() (benchAPI, error), args ...string) *target {
	t := &target{name: name, about: about}
	var p *proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		var api benchAPI
		if newAPI != nil {
			var err error
			if api, err = newAPI(); err != nil {
				return err
			}
		}
		var gw, cred string
		var err error
		p, gw, cred, t.detail, err = e.porticoAPINode(ctx, name, args, api)
		if err != nil {
			return err
		}
		t.procs = func() []int { return []int{p.pid()} }
		t.url = "http://" + gw + "/bench/hello"
		t.headers = []string{cred}
		if api.body == nil {
			return nil
		}
		t.headers = append(t.headers, "Content-Type: "+api.contentType)
		t.script = filepath.Join(e.dir, name+".lua")
		if err := os.WriteFile(t.script, []byte(wrkScript(http.MethodPost, api.body)), 0o644); err != nil {
			return err
		}
		// Once with the body, as wrk will send it: the GET of the
		// readiness check passes no body through the policies.
		return checkRequest(ctx, http.MethodPost, t.url, t.headers, api.body, status200(backendBody))
	}
	t.teardown = func(ctx context.Context) error {
		if p == nil {
			return nil
		}
		return p.stop(syscall.SIGTERM, 15*time.Second)
	}
	return t
}

// A benchAPI is what sets a variant of the portico target apart: fields
// of its API beyond the portico target's (auth, jwt_issuers, policies),
// the credential wrk sends and the body it posts. The zero value is the
// portico target: API key auth, no policies, a GET.
type benchAPI struct {
	// fields are added to, or replace, those of the API that
	// configurePortico creates.
	fields map[string]any

	// credential returns the header line ("Name: value") that proves app
	// to the gateway at gw. If nil, the header is X-API-Key with app's key.
	credential func(ctx context.Context, gw string, app benchApp) (string, error)

	// body, when not nil, is POSTed with Content-Type contentType.
	body        []byte
	contentType string

	// document, when not nil, is an OpenAPI document imported into the
	// API (POST /apis/import) before its policies are set: those that
	// need one (validate_requests) are refused without.
	document []byte
}

// A benchApp is the application configurePortico creates: its ID and its
// API key.
type benchApp struct{ id, key string }

// porticoNode starts the portico target's node, named name, with args
// added to serve's, configures it (configurePortico) and waits until its
// gateway proxies /bench/hello. It returns the process, the gateway's
// address, the API key and a description for the report.
func (e *env) porticoNode(ctx context.Context, name string, args []string) (p *proc, gw, key, detail string, err error) {
	p, gw, cred, detail, err := e.porticoAPINode(ctx, name, args, benchAPI{})
	return p, gw, strings.TrimPrefix(cred, "X-API-Key: "), detail, err
}

// porticoAPINode is porticoNode for the API that api describes. It
// returns the header line of the application's credential in place of
// the key.
func (e *env) porticoAPINode(ctx context.Context, name string, args []string, api benchAPI) (p *proc, gw, cred, detail string, err error) {
	bin, err := e.porticoBinary(ctx)
	if err != nil {
		return nil, "", "", "", err
	}
	detail = strings.Join(append([]string{firstLine(commandOutput(bin, "version")) + ", embedded store, --log-level warn"}, args...), " ")
	if len(e.opts.porticoEnv) > 0 {
		detail += ", environment " + strings.Join(e.opts.porticoEnv, " ")
	}
	password := randomHex(16)
	var adm string
	p, gw, adm, err = e.startPortico(ctx, name, bin, password,
		append([]string{"--data-dir", filepath.Join(e.dir, name+"-data")}, args...))
	if err != nil {
		return p, "", "", "", err
	}
	a := &adminClient{base: "http://" + adm + "/api/v1", user: "admin", password: password, proc: p}
	app, err := configurePortico(ctx, a, e.backendURL, api.fields, api.document)
	if err != nil {
		return p, "", "", "", err
	}
	cred = "X-API-Key: " + app.key
	if api.credential != nil {
		if cred, err = api.credential(ctx, gw, app); err != nil {
			return p, "", "", "", err
		}
	}
	// The gateway may apply the new config a moment after the admin API
	// answered.
	err = waitReady(ctx, p, "http://"+gw+"/bench/hello", headerOf([]string{cred}), 10*time.Second, status200(backendBody))
	return p, gw, cred, detail, err
}

// keyHeader is the header that sends key as the API key.
func keyHeader(key string) http.Header { return http.Header{"X-Api-Key": {key}} }

// startPortico starts `bin serve` as a child named name on free loopback
// gateway and admin ports, with --log-level warn, args (which must
// include --data-dir), the admin password and -portico-env in its
// environment, and waits until its admin API answers. It returns the
// process and the gateway and admin addresses.
func (e *env) startPortico(ctx context.Context, name, bin, password string, args []string) (p *proc, gw, adm string, err error) {
	if gw, err = freePort(); err != nil {
		return nil, "", "", err
	}
	if adm, err = freePort(); err != nil {
		return nil, "", "", err
	}
	cmd := exec.Command(bin, append([]string{"serve",
		"--gateway-addr", gw,
		"--admin-addr", adm,
		"--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+password)
	cmd.Env = append(cmd.Env, e.opts.porticoEnv...)
	if p, err = e.start(name, cmd); err != nil {
		return nil, "", "", err
	}
	if err = waitReady(ctx, p, "http://"+adm+"/healthz", nil, 30*time.Second, status200(nil)); err != nil {
		return p, "", "", err
	}
	return p, gw, adm, nil
}

// porticoBinary returns -portico, or else a binary built once into the
// temp dir for all the targets.
func (e *env) porticoBinary(ctx context.Context) (string, error) {
	if e.opts.portico != "" {
		return e.opts.portico, nil
	}
	e.mu.Lock()
	bin := e.porticoBin
	e.mu.Unlock()
	if bin != "" {
		return bin, nil
	}
	bin, err := buildPortico(ctx, e)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.porticoBin = bin
	e.mu.Unlock()
	return bin, nil
}

// buildPortico builds ./cmd/portico of this module into the temp dir.
func buildPortico(ctx context.Context, e *env) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(e.dir, "portico")
	e.logf("building %s", bin)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/portico")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/portico: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the go.mod that `go` sees from here.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the portico module; run from the repo or pass -portico")
	}
	return filepath.Dir(mod), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// configurePortico creates through the admin API a plan whose limits never
// trigger, an API on the backend offering it, with fields added to (or
// replacing) its own and, when document is not nil, that OpenAPI document
// imported, an application with a key and an approved subscription, and
// returns the application.
func configurePortico(ctx context.Context, a *adminClient, backendURL string, fields map[string]any, document []byte) (benchApp, error) {
	var plan, api, app struct {
		ID string `json:"id"`
	}
	err := a.do(ctx, "POST", "/plans", map[string]any{
		"name":         "bench",
		"rate_limit":   map[string]any{"limit": 1_000_000_000, "per": "second", "window": "fixed"},
		"quota":        map[string]any{"limit": 1_000_000_000_000, "per": "month", "mode": "hard"},
		"auto_approve": true,
	}, http.StatusCreated, &plan)
	if err != nil {
		return benchApp{}, err
	}
	apiFields := map[string]any{
		"name":       "bench",
		"version":    "v1",
		"context":    "/bench",
		"visibility": "public",
		"auth":       "api_key",
		"endpoint": map[string]any{
			"type":    "single",
			"targets": []map[string]any{{"url": backendURL}},
		},
		"plans": []string{plan.ID},
	}
	maps.Copy(apiFields, fields)
	create := apiFields
	if document != nil {
		// The policies go on once the document is there.
		create = maps.Clone(apiFields)
		delete(create, "policies")
	}
	err = a.do(ctx, "POST", "/apis", create, http.StatusCreated, &api)
	if err != nil {
		return benchApp{}, err
	}
	if document != nil {
		// The import replaces the name and version by the document's;
		// the update puts back the API's fields with its policies.
		if err := a.send(ctx, "POST", "/apis/import?api="+api.ID, "application/json", document, http.StatusOK, nil); err != nil {
			return benchApp{}, err
		}
		if err := a.do(ctx, "PUT", "/apis/"+api.ID, apiFields, http.StatusOK, nil); err != nil {
			return benchApp{}, err
		}
	}
	if err := a.do(ctx, "POST", "/apis/"+api.ID+"/publish", nil, http.StatusOK, nil); err != nil {
		return benchApp{}, err
	}
	err = a.do(ctx, "POST", "/applications", map[string]any{"name": "bench-app"}, http.StatusCreated, &app)
	if err != nil {
		return benchApp{}, err
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := a.do(ctx, "POST", "/applications/"+app.ID+"/keys", nil, http.StatusCreated, &key); err != nil {
		return benchApp{}, err
	}
	if key.Key == "" {
		return benchApp{}, errors.New(`POST /applications/{id}/keys: no "key" in the response`)
	}
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	err = a.do(ctx, "POST", "/applications/"+app.ID+"/subscriptions",
		map[string]any{"api": api.ID, "plan": plan.ID}, http.StatusCreated, &sub)
	if err != nil {
		return benchApp{}, err
	}
	if sub.Status != "approved" {
		// The plan auto-approves; approve by hand if this build does not.
		if err := a.do(ctx, "POST", "/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK, &sub); err != nil {
			return benchApp{}, err
		}
		if sub.Status != "approved" {
			return benchApp{}, fmt.Errorf("subscription %s is %q after approve, want approved", sub.ID, sub.Status)
		}
	}
	return benchApp{id: app.ID, key: key.Key}, nil
}

// adminClient calls Portico's admin API with HTTP Basic auth.
type adminClient struct {
	base           string // http://host:port/api/v1
	user, password string
	proc           *proc // for its log when a call fails
}

// do sends in as JSON (nil: no body), expects status want and decodes the
// response into out unless out is nil. An unexpected answer is an error
// that shows the whole exchange.
func (a *adminClient) do(ctx context.Context, method, path string, in any, want int, out any) error {
	if in == nil {
		return a.send(ctx, method, path, "", nil, want, out)
	}
	sent, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return a.send(ctx, method, path, "application/json", sent, want, out)
}

// send is do with a body of contentType as it is (none when sent is nil).
func (a *adminClient) send(ctx context.Context, method, path, contentType string, sent []byte, want int, out any) error {
	var body io.Reader
	if sent != nil {
		body = bytes.NewReader(sent)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.user, a.password)
	req.Header.Set("Accept", "application/json")
	if sent != nil {
		req.Header.Set("Content-Type", contentType)
	}
	call := method + " " + a.base + path
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if a.proc != nil && a.proc.exited() {
			return fmt.Errorf("admin API %s: %v\n%s", call, err, a.proc.failure())
		}
		return fmt.Errorf("admin API %s: %w", call, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin API %s: reading the response: %w", call, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("admin API %s: status %s, want %d\n  sent:     %s\n  received: %s",
			call, resp.Status, want, clip(sent, 4000), clip(got, 4000))
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("admin API %s: decoding %q: %w", call, clip(got, 4000), err)
		}
	}
	return nil
}
