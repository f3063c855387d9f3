package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// apiCLI runs `bin api args…` with env and stdin, as configCLI runs
// `config`.
func apiCLI(t *testing.T, bin string, env []string, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"api"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTICO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("api %v: %v", args, err)
	}
	t.Logf("portico api %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// TestAPIImportCLI: `portico api import` creates an API from a file,
// previews and applies a re-import from standard input, and says what
// is wrong with a document, a flag or the credentials.
func TestAPIImportCLI(t *testing.T) {
	bin := buildPortico(t)
	n := startBinNode(t, bin, "embedded", "a")
	at := "--admin=http://" + n.admin
	doc, err := os.ReadFile("../../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "petstore.yaml")
	os.WriteFile(file, doc, 0o600)

	code, out, _ := apiCLI(t, bin, asAdmin, nil, "import", at, "--context", "/pets", "--target", "http://127.0.0.1:9", file)
	if code != 0 || !strings.Contains(out, "Swagger Petstore 1.0.0 at /pets: created") || !strings.Contains(out, "+ GET /pets/{petId} showPetById\n") {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	id, _, _ := strings.Cut(out, " ")

	cut := bytes.Replace(doc, []byte("    post:\n      summary: Create a pet"), []byte("    x-post:\n      summary: Create a pet"), 1)
	code, out, _ = apiCLI(t, bin, asAdmin, cut, "import", at, "--api", id, "--dry-run", "-")
	if code != 0 || !strings.Contains(out, "would update (dry run, nothing saved)") || !strings.Contains(out, "- POST /pets createPets\n") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	code, out, _ = apiCLI(t, bin, asAdmin, cut, "import", at, "--api", id, "-")
	if code != 0 || !strings.Contains(out, ": updated\n") || !strings.Contains(out, "- POST /pets createPets\n") {
		t.Fatalf("re-import: exit %d\n%s", code, out)
	}
	if code, out, _ = apiCLI(t, bin, asAdmin, cut, "import", at, "--api", id, "-"); code != 0 || strings.Contains(out, "+ ") || strings.Contains(out, "- ") {
		t.Errorf("the same document again: exit %d\n%s", code, out)
	}

	for _, tc := range []struct {
		name  string
		env   []string
		stdin string
		args  []string
		code  int
		say   string
	}{
		{"broken document", asAdmin, "openapi: 3.0.0\ninfo: {title: x\n", []string{"import", at, "-"}, 1, "line"},
		{"no credentials", nil, string(doc), []string{"import", at, "-"}, 1, "PORTICO_ADMIN_TOKEN"},
		{"wrong password", []string{"PORTICO_ADMIN_USER=admin", "PORTICO_ADMIN_PASSWORD=nope"}, string(doc), []string{"import", at, "-"}, 1, "401"},
		{"no file", asAdmin, "", []string{"import", at}, 2, "give one FILE"},
		{"missing file", asAdmin, "", []string{"import", at, "/nonexistent.yaml"}, 1, "no such file"},
		{"unknown verb", asAdmin, "", []string{"export"}, 2, "usage"},
		{"credentials in the URL", asAdmin, string(doc), []string{"import", "--admin=http://admin:pw@" + n.admin, "-"}, 1, "no credentials in it"},
	} {
		code, out, errOut := apiCLI(t, bin, tc.env, []byte(tc.stdin), tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.say) {
			t.Errorf("%s: exit %d, want %d saying %q\n%s%s", tc.name, code, tc.code, tc.say, out, errOut)
		}
	}
}

// TestAdminClientNoRedirect: the admin client does not follow a
// redirect, where its credentials would go with it (to another port of
// the same host, say): the answer is an error, and the other server
// never hears from it.
func TestAdminClientNoRedirect(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	env := func(k string) (string, bool) {
		if k == "PORTICO_ADMIN_TOKEN" {
			return "secret-token", true
		}
		return "", false
	}
	c, err := newAdminClient(context.Background(), first.URL, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.do(context.Background(), "GET", "/api/v1/config", nil, nil, ""); err == nil {
		t.Error("a redirect was taken for an answer")
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests (with the token)", n)
	}
}
