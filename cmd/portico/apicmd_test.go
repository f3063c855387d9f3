package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
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
	// The same document as a second API: refused, then given its own name.
	if code, out, errOut := apiCLI(t, bin, asAdmin, nil, "import", at, "--context", "/pets2", "--target", "http://127.0.0.1:9", file); code != 1 || !strings.Contains(errOut, "name= or version=") {
		t.Errorf("the same document as a new API: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = apiCLI(t, bin, asAdmin, nil, "import", at, "--context", "/pets2", "--target", "http://127.0.0.1:9", "--name", "Pets Two", "--version", "2", file)
	if code != 0 || !strings.Contains(out, "Pets Two 2 at /pets2: created") {
		t.Errorf("import --name --version: exit %d\n%s", code, out)
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
	c, err := newAdminClient(context.Background(), first.URL, 0, env)
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

// TestAdminClientAnswers: what the admin client reads of an answer is
// bounded (a 2xx answer by maxAnswer, an error by maxErrorBytes), a call
// ends at its timeout, and the server's text reaches the terminal with
// its control characters escaped.
func TestAdminClientAnswers(t *testing.T) {
	const hostile = "no plan \x1b]0;owned\x07\x1b[2J\x1b[31mgold\u202e\u009b1m\xff"
	var mode atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "hostile error":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "invalid\x1b[1m", "message": hostile, "field": "apis[0]"}})
			w.Write(b)
		case "hostile text":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, hostile)
		case "hostile differences":
			io.WriteString(w, `{"differences":[{"action":"update","kind":"api","name":"w\u001b[31m 1","fields":[{"field":"description","from":"a\nb","to":"\u202eevil"}]}]}`)
		case "endless":
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for range 1 << 12 { // 256 MiB at most
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "long error":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(bytes.Repeat([]byte("e"), 1<<20))
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	defer srv.Close()
	env := func(k string) (string, bool) {
		if k == "PORTICO_ADMIN_TOKEN" {
			return "token", true
		}
		return "", false
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("format_version: 1\nplans: []\n"), 0o600)
	run := func(m string, args ...string) (int, string) {
		mode.Store(m)
		var out, errOut bytes.Buffer
		code := runConfig(context.Background(), append(args, "--admin="+srv.URL), env, nil, &out, &errOut)
		t.Logf("%s: exit %d\n%s%s", m, code, out.String(), errOut.String())
		return code, out.String() + errOut.String()
	}
	for _, m := range []string{"hostile error", "hostile text", "hostile differences"} {
		code, text := run(m, "diff", "-f", file)
		if strings.ContainsAny(text, "\x1b\x07\u202e\u009b") || !utf8.ValidString(text) {
			t.Errorf("%s: the terminal gets control characters: %q", m, text)
		}
		if m != "hostile differences" && (code != 1 || !strings.Contains(text, `no plan \x1b]0;owned\x07\x1b[2J\x1b[31mgold\u202e\u009b1m`)) {
			t.Errorf("%s: exit %d %q", m, code, text)
		}
		if m == "hostile differences" && !strings.Contains(text, `api w\x1b[31m 1: description: a\x0ab → \u202eevil`) {
			t.Errorf("%s: %q", m, text)
		}
	}

	c, err := newAdminClient(context.Background(), srv.URL, 0, env)
	if err != nil {
		t.Fatal(err)
	}
	c.maxAnswer = 1 << 20
	mode.Store("endless")
	if _, _, err := c.do(context.Background(), "GET", "/api/v1/config", nil, nil, ""); err == nil || !strings.Contains(err.Error(), "the answer is over 1048576 bytes") {
		t.Errorf("an endless answer: %v", err)
	}
	mode.Store("long error")
	_, _, err = c.do(context.Background(), "GET", "/api/v1/config", nil, nil, "")
	var ae *adminError
	if !errors.As(err, &ae) || len(ae.Message) > 260 || ae.Status != 500 {
		t.Errorf("a long error answer: %v", err)
	}
	// The timeout: a server that never answers.
	c, _ = newAdminClient(context.Background(), srv.URL, 300*time.Millisecond, env)
	mode.Store("slow")
	start := time.Now()
	_, _, err = c.do(context.Background(), "GET", "/api/v1/config", nil, nil, "")
	t.Logf("a silent server: %v after %v", err, time.Since(start))
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("a silent server: %v", err)
	}
	if code, text := run("slow", "diff", "-f", file, "--timeout", "0s"); code != 1 || !strings.Contains(text, "timeout is a duration from 1s to 24h") {
		t.Errorf("--timeout 0s: exit %d %q", code, text)
	}
}
