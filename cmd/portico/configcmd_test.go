package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/redistest"
)

// configCLI runs `bin config args…` with env (and no PORTICO_ variable
// of the test's own environment), and returns its exit status and
// output.
func configCLI(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"config"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTICO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("config %v: %v", args, err)
	}
	t.Logf("portico config %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

var asAdmin = []string{"PORTICO_ADMIN_USER=admin", "PORTICO_ADMIN_PASSWORD=" + adminPassword}

// populate gives the node of c a publisher, a subscriber, a plan, a
// group, a published API in front of backend with a key and a
// subscription, and an API imported from an OpenAPI document; it
// returns the key.
func populate(t *testing.T, c client, backend string) string {
	t.Helper()
	c.call("POST", "/users", map[string]any{"username": "pat", "password": "publisher-pw", "roles": []string{"publisher"}}, 201)
	sam := c.call("POST", "/users", map[string]any{"username": "sam", "password": "subscriber-pw", "roles": []string{"subscriber"}, "email": "sam@example.com"}, 201)
	c.call("POST", "/groups", map[string]any{"name": "partners", "members": []any{sam["id"]}}, 201)
	plan := c.call("POST", "/plans", map[string]any{"name": "gold", "owner": "pat", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 100, "per": "minute"}}, 201)
	api := c.call("POST", "/apis", map[string]any{"name": "weather", "version": "v1", "context": "/weather/v1", "owner": "pat",
		"tags": []string{"team-a"}, "endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend}}},
		"plans": []any{plan["id"]}}, 201)
	c.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	app := c.call("POST", "/applications", map[string]any{"name": "sam-app", "owner": "sam"}, 201)
	key := c.call("POST", "/applications/"+app["id"].(string)+"/keys", nil, 201)["key"].(string)
	c.call("POST", "/applications/"+app["id"].(string)+"/subscriptions", map[string]any{"api": api["id"], "plan": plan["id"]}, 201)

	doc, err := os.ReadFile("../../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.base+"/apis/import?context=/pets&target="+backend, bytes.NewReader(doc))
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := adminHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	return key
}

// TestConfigRoundTrip runs the built binary against real nodes: export
// from one node, apply on an empty one, export again — the same file —
// and the key made on the first works on the second's gateway. diff
// exits 2 while the store and the file differ and 0 once they match.
func TestConfigRoundTrip(t *testing.T) {
	bin := buildPortico(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "forecast") }))
	defer backend.Close()
	a := startBinNode(t, bin, "embedded", "a")
	b := startBinNode(t, bin, "embedded", "b")
	key := populate(t, a.client(t), backend.URL)
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	atA, atB := "--admin=http://"+a.admin, "--admin=http://"+b.admin

	if code, _, _ := configCLI(t, bin, asAdmin, "export", atA, "--include", "consumers", "-o", fileA); code != 0 {
		t.Fatalf("export: exit %d", code)
	}
	exported, _ := os.ReadFile(fileA)
	for _, want := range []string{"name: weather", "operationId: showPetById", "hash: ", "username: sam", "members: [sam]"} {
		if !bytes.Contains(exported, []byte(want)) {
			t.Errorf("the export lacks %q:\n%s", want, exported)
		}
	}
	if bytes.Contains(exported, []byte(key)) || bytes.Contains(exported, []byte("$2a$")) {
		t.Fatalf("the export shows a secret:\n%s", exported)
	}

	code, out, _ := configCLI(t, bin, asAdmin, "diff", atB, "-f", fileA)
	if code != 2 || !strings.Contains(out, "create api weather v1\n") || !strings.Contains(out, "create subscription sam-app (sam) → weather v1\n") {
		t.Fatalf("diff on the empty node: exit %d\n%s", code, out)
	}
	code, out, errOut := configCLI(t, bin, asAdmin, "apply", atB, "-f", fileA)
	if code != 0 || !strings.Contains(out, "create api Swagger Petstore 1.0.0\n") || !regexp.MustCompile(`applied \d+ changes? as configuration version \d+`).MatchString(errOut) {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := configCLI(t, bin, asAdmin, "apply", atB, "-f", fileA, "--prune"); code != 0 || out != "" {
		t.Fatalf("the same file again: exit %d\n%s", code, out)
	}
	if code, out, _ := configCLI(t, bin, asAdmin, "diff", atB, "-f", fileA, "--prune"); code != 0 || out != "" {
		t.Fatalf("diff after the apply: exit %d\n%s", code, out)
	}
	if code, _, _ := configCLI(t, bin, asAdmin, "export", atB, "--include=consumers", "-o", fileB); code != 0 {
		t.Fatalf("export of b: exit %d", code)
	}
	again, _ := os.ReadFile(fileB)
	if !bytes.Equal(again, exported) {
		t.Fatalf("export → apply on an empty node → export differs:\n%s\nwant\n%s", again, exported)
	}
	// The key's hash came along: the key works on b's gateway.
	if code, _, body := gatewayGet(t, b.gateway()+"/weather/v1/today", key); code != 200 || body != "forecast" {
		t.Fatalf("the key on b: %d %s", code, body)
	}

	// A change, drift-checked, then applied.
	changed := bytes.Replace(exported, []byte("limit: 100\n"), []byte("limit: 120\n"), 1)
	os.WriteFile(fileB, changed, 0o600)
	code, out, _ = configCLI(t, bin, asAdmin, "diff", atB, "-f", fileB)
	if code != 2 || out != "plan gold (pat): rate_limit.limit: 100 → 120\n" {
		t.Fatalf("diff of a change: exit %d %q", code, out)
	}
	if code, out, _ = configCLI(t, bin, asAdmin, "apply", atB, "-f", fileB, "--dry-run"); code != 0 || out != "plan gold (pat): rate_limit.limit: 100 → 120\n" {
		t.Fatalf("dry run: exit %d %q", code, out)
	}
	if code, _, _ = configCLI(t, bin, asAdmin, "diff", atB, "-f", fileB); code != 2 {
		t.Fatalf("diff after a dry run: exit %d, want 2 (nothing applied)", code)
	}

	// A bearer token from the environment.
	tok := b.client(t).call("POST", "/tokens", nil, 201)["token"].(string)
	if code, _, _ := configCLI(t, bin, []string{"PORTICO_ADMIN_TOKEN=" + tok, "PORTICO_ADMIN_URL=http://" + b.admin}, "diff", "-f", fileA); code != 0 {
		t.Fatalf("diff with a token: exit %d", code)
	}

	// Errors exit 1, placed in the file.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, bytes.Replace(exported, []byte("plans: [gold]"), []byte("plans: [gold, platinum]"), 1), 0o600)
	code, _, errOut = configCLI(t, bin, asAdmin, "apply", atB, "-f", bad)
	if line := lineOf(exported, "plans: [gold]"); code != 1 || !strings.Contains(errOut, "bad.yaml:"+line+`: apis[1].plans[1]: no plan platinum (pat) in the file or the store`) {
		t.Fatalf("an unknown plan: exit %d %q (want line %s)", code, errOut, line)
	}
	os.WriteFile(bad, []byte("format_version: 1\nplans:\n  - name: gold\n    quota: {limit: lots}\n"), 0o600)
	if code, _, errOut = configCLI(t, bin, asAdmin, "diff", atB, "-f", bad); code != 1 || !strings.Contains(errOut, `bad.yaml:4: plans[0].quota.limit: limit must be an integer`) {
		t.Fatalf("a file that does not decode: exit %d %q", code, errOut)
	}
	if code, _, errOut = configCLI(t, bin, nil, "diff", atB, "-f", fileA); code != 1 || !strings.Contains(errOut, "no credentials") {
		t.Fatalf("without credentials: exit %d %q", code, errOut)
	}
	if code, _, errOut = configCLI(t, bin, []string{"PORTICO_ADMIN_USER=admin", "PORTICO_ADMIN_PASSWORD=wrong-password"}, "diff", atB, "-f", fileA); code != 1 || !strings.Contains(errOut, "signing in as admin") {
		t.Fatalf("a wrong password: exit %d %q", code, errOut)
	}
	if code, _, _ = configCLI(t, bin, asAdmin, "diff", atB); code != 1 {
		t.Fatalf("diff without -f: exit %d", code)
	}
	if code, _, _ = configCLI(t, bin, asAdmin, "sync", atB); code != 1 {
		t.Fatalf("an unknown verb: exit %d", code)
	}
}

// lineOf returns the line (from 1) of the first occurrence of s in b.
func lineOf(b []byte, s string) string {
	i := bytes.Index(b, []byte(s))
	return strconv.Itoa(bytes.Count(b[:i], []byte("\n")) + 1)
}

// TestConfigCluster applies a file to one node of a cluster; the other
// node serves it, and finds no difference.
func TestConfigCluster(t *testing.T) {
	bin := buildPortico(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "forecast") }))
	defer backend.Close()
	src := startBinNode(t, bin, "embedded", "src")
	key := populate(t, src.client(t), backend.URL)
	file := filepath.Join(t.TempDir(), "config.yaml")
	if code, _, _ := configCLI(t, bin, asAdmin, "export", "--admin=http://"+src.admin, "--include=consumers", "-o", file); code != 0 {
		t.Fatal("export")
	}
	nodes := startBinCluster(t, bin, redistest.Start(t), "n1", "n2")
	if code, _, _ := configCLI(t, bin, asAdmin, "apply", "--admin=http://"+nodes[0].admin, "-f", file); code != 0 {
		t.Fatal("apply on n1")
	}
	waitFor(t, "the API on n2's gateway", 10*time.Second, func() bool {
		code, _, _ := gatewayGet(t, nodes[1].gateway()+"/weather/v1/today", key)
		return code == 200
	})
	if code, _, _ := configCLI(t, bin, asAdmin, "diff", "--admin=http://"+nodes[1].admin, "-f", file, "--prune"); code != 0 {
		t.Fatalf("diff on n2: exit %d", code)
	}
}
