package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
