package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const adminPassword = "s3cret-admin-pw"

// startNode runs a node on free loopback ports with dataDir.
func startNode(t *testing.T, dataDir string) *Main {
	t.Helper()
	return startNodeWith(t, dataDir, nil)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// adminHTTP is the HTTP client of admin calls: a call that hangs fails
// the test instead of blocking it until the go test timeout.
var adminHTTP = &http.Client{Timeout: 30 * time.Second}

// client calls the admin API as one user.
type client struct {
	t          testing.TB
	base       string
	user, pass string
}

func (c client) call(method, path string, body any, wantStatus int) map[string]any {
	c.t.Helper()
	code, m, raw, err := c.do(method, path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if code != wantStatus {
		c.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, c.user, code, wantStatus, raw)
	}
	return m
}

// do is call for answers that may vary: it returns the status, the decoded
// JSON object (nil if the body is not one) and the raw body, and fails
// nothing, so it may be used from any goroutine.
func (c client) do(method, path string, body any) (code int, m map[string]any, raw []byte, err error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(resp.Body)
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw, err
}

func gatewayGet(t *testing.T, url, key string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestWalkthrough runs the README's walkthrough against a real node:
// publish a backend as an API, give a subscriber a key on a plan, call the
// API through the gateway with the plan's limits enforced, evict.
func TestWalkthrough(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "forecast for %s: sunny", r.URL.Path)
	}))
	defer backend.Close()
	m := startNode(t, t.TempDir())
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	gw := "http://" + m.GatewayAddr

	admin.call("POST", "/users", map[string]any{"username": "pat", "password": "publisher-pw", "roles": []string{"publisher"}}, 201)
	admin.call("POST", "/users", map[string]any{"username": "sam", "password": "subscriber-pw", "roles": []string{"subscriber"}}, 201)
	pat := client{t, admin.base, "pat", "publisher-pw"}
	sam := client{t, admin.base, "sam", "subscriber-pw"}

	plan := pat.call("POST", "/plans", map[string]any{
		"name": "bronze", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 3, "per": "minute", "window": "fixed"},
	}, 201)
	api := pat.call("POST", "/apis", map[string]any{
		"name": "weather", "version": "v1", "context": "/weather/v1", "visibility": "public", "auth": "api_key",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend.URL}}},
		"plans":    []any{plan["id"]},
	}, 201)
	if api["state"] != "draft" {
		t.Fatalf("new API state %v", api["state"])
	}
	if code, _, _ := gatewayGet(t, gw+"/weather/v1/today", ""); code != 404 {
		t.Fatalf("draft API answered %d", code)
	}
	pat.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)

	app := sam.call("POST", "/applications", map[string]any{"name": "sam-app"}, 201)
	key := sam.call("POST", "/applications/"+app["id"].(string)+"/keys", nil, 201)["key"].(string)
	sub := sam.call("POST", "/applications/"+app["id"].(string)+"/subscriptions", map[string]any{"api": api["id"], "plan": plan["id"]}, 201)
	if sub["status"] != "approved" {
		t.Fatalf("subscription status %v", sub["status"])
	}

	if code, _, _ := gatewayGet(t, gw+"/weather/v1/today", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	for i := 0; i < 3; i++ {
		code, hdr, body := gatewayGet(t, gw+"/weather/v1/today", key)
		if code != 200 || body != "forecast for /today: sunny" {
			t.Fatalf("call %d: %d %q", i, code, body)
		}
		if hdr.Get("RateLimit-Limit") != "3" || hdr.Get("RateLimit-Remaining") != fmt.Sprint(2-i) {
			t.Errorf("call %d: RateLimit headers %v", i, hdr)
		}
	}
	code, hdr, body := gatewayGet(t, gw+"/weather/v1/today", key)
	if code != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(body, "rate_limited") {
		t.Fatalf("4th call in a minute: %d %v %s", code, hdr, body)
	}

	admin.call("POST", "/subscriptions/"+sub["id"].(string)+"/evict", nil, 200)
	if code, _, _ := gatewayGet(t, gw+"/weather/v1/today", key); code != 403 {
		t.Fatalf("evicted subscription: %d", code)
	}
}

// TestRestart checks that everything created survives a restart: the API
// still routes and the key still works.
func TestRestart(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	plan := admin.call("POST", "/plans", map[string]any{"name": "p", "auto_approve": true,
		"quota": map[string]any{"limit": 5, "per": "day", "mode": "hard"}}, 201)
	key, _ := keyedAPI(t, admin, "a", backend.URL, plan["id"].(string))
	for i := 0; i < 3; i++ {
		if code, _, _ := gatewayGet(t, "http://"+m.GatewayAddr+"/a/x", key); code != 200 {
			t.Fatalf("before restart: %d", code)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := startNode(t, dir)
	gw := "http://" + m2.GatewayAddr
	for i := 0; i < 2; i++ {
		if code, _, body := gatewayGet(t, gw+"/a/x", key); code != 200 || body != "ok" {
			t.Fatalf("after restart: %d %s", code, body)
		}
	}
	// The daily quota of 5 was used 3 times before the restart.
	if code, _, body := gatewayGet(t, gw+"/a/x", key); code != 429 || !strings.Contains(body, "quota_exceeded") {
		t.Fatalf("quota did not survive the restart: %d %s", code, body)
	}
	admin2 := client{t, "http://" + m2.AdminAddr + "/api/v1", "admin", adminPassword}
	list := admin2.call("GET", "/apis", nil, 200)
	if items, _ := list["items"].([]any); len(items) != 1 {
		t.Fatalf("APIs after restart: %v", list)
	}
}

// TestSIGTERM runs the built binary, keeps a slow request in flight, sends
// SIGTERM and checks the request completes and the process exits 0.
func TestSIGTERM(t *testing.T) {
	bin := buildPortico(t)
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "late answer")
	}))
	defer backend.Close()
	gwAddr, adminAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--gateway-addr", gwAddr, "--admin-addr", adminAddr, "--log-format", "json")
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_PASSWORD="+adminPassword)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+adminAddr+"/healthz")
	admin := client{t, "http://" + adminAddr + "/api/v1", "admin", adminPassword}
	api := admin.call("POST", "/apis", map[string]any{"name": "slow", "version": "v1", "context": "/slow", "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend.URL}}}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)

	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + gwAddr + "/slow/x")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-arrived // the request is in flight
	cmd.Process.Signal(syscall.SIGTERM)
	// New connections are refused once the listener closed, while the
	// in-flight request is still waiting for its backend.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", gwAddr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the gateway still accepts connections after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	r := <-done
	if r.err != nil || r.code != 200 || r.body != "late answer" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "portico stopped") {
		t.Errorf("no shutdown log:\n%s", logs.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "portico ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run([]string{"bogus"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", url)
}

// TestDatastoreSetting records a data store for the next start: the
// answer says so, and the next LoadConfig picks it up.
func TestDatastoreSetting(t *testing.T) {
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	res := admin.call("PUT", "/settings/datastore", map[string]any{"datastore": "redis://127.0.0.1:6390/0"}, 200)
	if res["running"] != "embedded" || res["datastore"] != "redis://127.0.0.1:6390/0" || !strings.Contains(res["message"].(string), "restart") {
		t.Fatalf("answer %v", res)
	}
	c, err := LoadConfig([]string{"--data-dir", dir}, func(string) (string, bool) { return "", false })
	if err != nil || c.Datastore != "redis://127.0.0.1:6390/0" {
		t.Fatalf("next start would use %q (%v)", c.Datastore, err)
	}
	// Passwords are recorded but never answered.
	const secret = "redis-sentinel://u:s3cret@[::1]:26379,[::1]:26380/mymaster/0?sentinel_password=t0psecret"
	res = admin.call("PUT", "/settings/datastore", map[string]any{"datastore": secret}, 200)
	if d, _ := res["datastore"].(string); strings.Contains(d, "s3cret") || strings.Contains(d, "t0psecret") || !strings.Contains(d, "mymaster") {
		t.Errorf("answer %v shows a password", res)
	}
	if c, err := LoadConfig([]string{"--data-dir", dir}, func(string) (string, bool) { return "", false }); err != nil || c.Datastore != secret {
		t.Errorf("next start would use %q (%v)", c.Datastore, err)
	}
}

// keyedAPI publishes an api_key API named name at /name in front of
// backend, offering planID, and gives a new application a key and a
// subscription to it. It returns the key and the subscription's id.
func keyedAPI(t testing.TB, admin client, name, backend, planID string) (key, subID string) {
	t.Helper()
	api := admin.call("POST", "/apis", map[string]any{"name": name, "version": "v1", "context": "/" + name,
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend}}},
		"plans":    []any{planID}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	app := admin.call("POST", "/applications", map[string]any{"name": name + "-app"}, 201)
	key = admin.call("POST", "/applications/"+app["id"].(string)+"/keys", nil, 201)["key"].(string)
	sub := admin.call("POST", "/applications/"+app["id"].(string)+"/subscriptions", map[string]any{"api": api["id"], "plan": planID}, 201)
	return key, sub["id"].(string)
}
