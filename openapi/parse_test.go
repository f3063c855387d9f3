package openapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or writes it there
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// summary is what the golden files keep of a Spec.
type summary struct {
	OpenAPI     string              `json:"openapi,omitempty"`
	Title       string              `json:"title,omitempty"`
	Version     string              `json:"version,omitempty"`
	Description string              `json:"description,omitempty"`
	Tags        []string            `json:"tags,omitempty"`
	Servers     []string            `json:"servers,omitempty"`
	Context     string              `json:"context,omitempty"`
	Operations  []openapi.Operation `json:"operations,omitempty"`
	Error       string              `json:"error,omitempty"`
}

func summarize(s *openapi.Spec, err error) []byte {
	var sum summary
	if err != nil {
		sum.Error = err.Error()
	} else {
		sum = summary{s.OpenAPI, s.Title, s.Version, s.Description, s.Tags, s.Servers, s.Context(), s.Operations, ""}
	}
	b, _ := json.MarshalIndent(sum, "", "  ")
	return append(b, '\n')
}

// documents are the real documents of testdata (LICENSES.md says whose
// they are).
func documents(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, ext := range []string{"yaml", "json"} {
		f, err := filepath.Glob("testdata/*." + ext)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) < 10 {
		t.Fatalf("%d documents in testdata", len(files))
	}
	return files
}

// TestParseGolden parses the documents of testdata and compares what
// Portico takes of each with its golden file; every pattern passes the
// admin API's check, every context the admin API's rules, and the
// Document a second Parse reads the same.
func TestParseGolden(t *testing.T) {
	for _, file := range documents(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := openapi.Parse(doc)
			golden(t, name+".golden", summarize(s, err))
			if err != nil {
				return
			}
			checkSpec(t, s)
			again, err := openapi.Parse(s.Document)
			if err != nil {
				t.Fatalf("the Document does not parse: %v", err)
			}
			if !bytes.Equal(summarize(again, nil), summarize(s, nil)) {
				t.Errorf("the Document parses otherwise:\n%s", summarize(again, nil))
			}
		})
	}
}

// checkSpec checks what must hold of every Spec Parse returns.
func checkSpec(t testing.TB, s *openapi.Spec) {
	t.Helper()
	for _, o := range s.Operations {
		if err := portico.ValidateResourcePattern("pattern", o.Pattern); err != nil {
			t.Errorf("%s %s: pattern %q: %v", o.Method, o.Path, o.Pattern, err)
		}
		if err := portico.ValidateResourcePattern("resource", o.Resource()); err != nil {
			t.Errorf("%s %s: resource %q: %v", o.Method, o.Path, o.Resource(), err)
		}
	}
	if msg := contextProblem(s.Context()); msg != "" {
		t.Errorf("context %q: %s", s.Context(), msg)
	}
	if !json.Valid(s.Document) {
		t.Errorf("the Document is not JSON")
	}
}

// contextProblem applies the admin API's rules for a context path
// (admin/validate.go, checkContext, which this package may not import):
// it returns what is wrong with c, or "".
func contextProblem(c string) string {
	switch {
	case c == "" || c == "/" || c[0] != '/' || strings.HasSuffix(c, "/"):
		return "not a path below /"
	case len(c) > 1000:
		return "too long"
	case strings.ContainsFunc(c, func(r rune) bool { return r <= ' ' || r == 0x7f || r > 0x7e }):
		return "spaces, control or non-ASCII characters"
	case filepath.Clean(c) != c:
		return "not clean"
	}
	for _, bad := range []string{"?", "#", "//", "..", "%", ";", "\\"} {
		if strings.Contains(c, bad) {
			return "holds " + bad
		}
	}
	if lc := strings.ToLower(c); lc == portico.OAuth2Path || strings.HasPrefix(lc, portico.OAuth2Path+"/") {
		return "reserved"
	}
	return ""
}

func TestPatterns(t *testing.T) {
	for _, c := range []struct{ path, pattern string }{
		{"/", "/"},
		{"/pets", "/pets"},
		{"/pets/", "/pets/"},
		{"/pets/{id}", "/pets/*"},
		{"/pets/{id}/photos/{photoId}.{format}", "/pets/*/photos/*"},
		{"/v1/{tenant}-{id}/x", "/v1/*/x"},
		{"/files/**", "/files/*"},
		{"/a*b/c", "/*/c"},
		{"/my pets/{id}", "/*/*"},
		{"/search?q={q}", "/search"},
		{"/a#frag", "/a"},
		{"/%7Euser/x", "/~user/x"},
		{"/a%2Fb", "/*"},
		{"/a/%zz", "/a/*"},
		{"/a/%20", "/a/*"},
		{"/caf%C3%A9", "/café"},
	} {
		doc := `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{` + quote(c.path) + `:{"get":{"responses":{}}}}}`
		s, err := openapi.Parse([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if got := s.Operations[0].Pattern; got != c.pattern {
			t.Errorf("%s: pattern %q, want %q", c.path, got, c.pattern)
		}
		checkSpec(t, s)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestContext(t *testing.T) {
	for _, c := range []struct {
		servers []string
		title   string
		want    string
	}{
		{[]string{"https://api.example.com/v1"}, "Pets", "/v1"},
		{[]string{"https://api.example.com/pets/v1/"}, "Pets", "/pets/v1"},
		{[]string{"/api/v3"}, "Pets", "/api/v3"},
		{[]string{"https://api.example.com"}, "Swagger Petstore", "/swagger-petstore"},
		{[]string{"https://api.example.com/"}, "Petstore - OpenAPI 3.0", "/petstore-openapi-3.0"},
		{nil, "  Über  API!! ", "/ber-api"},
		{nil, "日本語", "/api"},
		{nil, "", "/api"},
		{[]string{"https://x.example/a%20b/c;d/e..f/./../g"}, "t", "/a-b/c-d/e.f/g"},
		{[]string{"https://x.example/%2e%2e/%2E"}, "Title", "/title"},
		{[]string{"https://x.example/OAuth2/token"}, "t", "/api/OAuth2/token"},
		{nil, "oauth2", "/api/oauth2"},
		{[]string{"://bad url"}, "Fallback", "/fallback"},
		{[]string{"https://x.example/" + strings.Repeat("a", 300)}, "t", "/" + strings.Repeat("a", 199)},
		{[]string{"https://x.example/" + strings.Repeat("abc/", 100)}, "t", strings.Repeat("/abc", 50)},
	} {
		s := &openapi.Spec{Servers: c.servers, Title: c.title}
		got := s.Context()
		if got != c.want {
			t.Errorf("servers %q, title %q: context %q, want %q", c.servers, c.title, got, c.want)
		}
		if msg := contextProblem(got); msg != "" {
			t.Errorf("context %q: %s", got, msg)
		}
	}
}

// TestParseConcurrent parses documents on several goroutines at once
// (run with -race): the parser keeps caches between calls.
func TestParseConcurrent(t *testing.T) {
	var docs [][]byte
	for _, f := range documents(t) {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	want := make([][]byte, len(docs))
	for i, d := range docs {
		want[i] = summarize(openapi.Parse(d))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range docs {
				j := (i + g) % len(docs)
				if got := summarize(openapi.Parse(docs[j])); !bytes.Equal(got, want[j]) {
					t.Errorf("document %d parsed otherwise at once with others:\n%s", j, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestErrorUnwrapsToDomainError(t *testing.T) {
	_, err := openapi.Parse([]byte(`{"openapi":"3.0.0","paths":{}}`))
	var e *openapi.Error
	if !errors.As(err, &e) || e.Line != 1 || e.Column != 1 {
		t.Fatalf("%#v", err)
	}
	if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorMessageOf(err) != err.Error() {
		t.Errorf("code %s, message %q", portico.ErrorCodeOf(err), portico.ErrorMessageOf(err))
	}
	var pe *portico.Error
	if !errors.As(err, &pe) || pe.Field != "document" {
		t.Errorf("%#v", pe)
	}
	_, err = openapi.Parse(make([]byte, openapi.MaxDocumentBytes+1))
	if portico.ErrorCodeOf(err) != portico.ETooLarge {
		t.Errorf("a document over the limit: %v", err)
	}
}

// TestParseLeavesNoGoroutine checks that the goroutines the parser
// starts are gone once Parse returns.
func TestParseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, f := range documents(t) {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		openapi.Parse(d)
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
