package openapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// refusal is a document Parse must refuse, and where and why.
type refusal struct {
	name    string
	doc     string
	pointer string // the Error's Pointer
	line    int    // its Line, when not 0
	says    string // in its message
}

const head30 = "openapi: 3.0.0\ninfo: {title: t, version: '1'}\n"

// op30 is a 3.0 document with one operation whose schema is schema,
// and components.
func op30(schema, components string) string {
	return fmt.Sprintf(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok",`+
		`"content":{"application/json":{"schema":%s}}}}}}},"components":%s}`, schema, components)
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// laughs is a "billion laughs" document: each anchor ten times the one
// before, under key.
func laughs(key string) string {
	var b strings.Builder
	b.WriteString(head30 + "paths: {}\n" + key + ":\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

var refusals = []refusal{
	// Syntax.
	{"empty", "", "", 0, "empty"},
	{"blank", " \n\t\n", "", 0, "empty"},
	{"not YAML", head30 + "paths:\n  /x: [\n", "", 5, "does not parse"},
	{"not YAML, a flow mapping left open", head30 + "paths:\n  /x: {get: {}\n  /y: {}\n", "", 5, "does not parse"},
	{"JSON trailing comma", "{\"openapi\":\"3.0.0\",\n\"info\":{\"title\":\"t\",\"version\":\"1\"},}", "", 2, "not valid JSON"},
	{"JSON not closed", `{"openapi":"3.0.0"`, "", 1, "not valid JSON"},
	{"two YAML documents", head30 + "paths: {}\n---\n" + head30, "", 4, "more than one YAML document"},
	{"two YAML documents, the first ended", "---\n" + head30 + "paths: {}\n...\n" + head30, "", 5, "more than one YAML document"},
	{"a scalar", "hello", "", 0, `no "openapi" or "swagger"`},
	{"a sequence", "- openapi: 3.0.0\n", "", 0, `no "openapi" or "swagger"`},
	{"duplicate key YAML", head30 + "paths:\n  /x: {}\n  /x: {}\n", "/paths/~1x", 5, "appears twice"},
	{"duplicate key JSON", `{"openapi":"3.0.0","info":{"title":"t","version":"1","title":"u"},"paths":{}}`, "/info/title", 1, "appears twice"},
	{"duplicate key in a large mapping", head30 + "paths: {}\nx-big:\n" + strings.Repeat("  k: 1\n", 2) + manyKeys(100) + "  k: 2\n", "/x-big/k", 0, "appears twice"},
	{"complex key", head30 + "paths: {}\nx-a:\n  ? [a, b]\n  : c\n", "/x-a", 5, "must be a string"},

	// Size and nesting.
	{"JSON nesting beyond encoding/json", `{"openapi":"3.0.0","x":` + nested("[", "]", 20000) + `}`, "", 1, "not valid JSON"},
	{"JSON nesting beyond MaxDepth", `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{},"x-deep":` + nested("[", "]", openapi.MaxDepth) + `}`,
		"/x-deep" + strings.Repeat("/0", openapi.MaxDepth-1), 1, "deeper than 100"},
	{"YAML nesting beyond MaxDepth", head30 + "paths: {}\nx-deep: " + nested("[", "]", openapi.MaxDepth+5) + "\n", "/x-deep" + strings.Repeat("/0", openapi.MaxDepth-1), 4, "deeper than 100"},
	{"YAML nesting beyond the parser", head30 + "x-deep: " + nested("{a: ", "}", 20000) + "\n", "", 3, "does not parse"},
	{"schema nesting", op30(strings.Repeat(`{"type":"object","properties":{"a":`, 50)+`{"type":"string"}`+strings.Repeat(`}}`, 50), "{}"),
		"/paths/~1x/get/responses/200/content/application~1json/schema" + strings.Repeat("/properties/a", 46), 1, "deeper than 100"},

	// YAML aliases.
	{"billion laughs", laughs("x-lol"), "/x-lol/a4/9/6/1/7/8", 5, "YAML aliases expand the document beyond"},
	{"billion laughs in a schema", head30 + "components:\n  schemas:\n    S0: &s0 {type: object, properties: {a: {type: string}, b: {type: string}}}\n" +
		func() string {
			var b strings.Builder
			for i := 1; i <= 8; i++ {
				fmt.Fprintf(&b, "    S%d: &s%d {type: object, properties: {", i, i)
				for j := range 10 {
					fmt.Fprintf(&b, "p%d: *s%d, ", j, i-1)
				}
				b.WriteString("x: {type: string}}}\n")
			}
			return b.String() + "paths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n" +
				"            application/json:\n              schema: *s8\n"
		}(), "/components/schemas/S5/properties/p0/properties/p4/properties/p0/properties/p2/properties/p0", 5, "YAML aliases expand the document beyond"},
	{"too many nodes (JSON)", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{},"x-d":[` + strings.Repeat("1,", 2*openapi.MaxNodes) + `1]}`, "", 0, "values, keys and items"},
	{"too many nodes (YAML)", head30 + "paths: {}\nx-d:\n" + strings.Repeat("- 1\n", openapi.MaxNodes+1), "", 0, "values, keys and items"},
	{"too many nodes (YAML flow)", head30 + "paths: {}\nx-d: [" + strings.Repeat("1,", openapi.MaxNodes) + "1]\n", "/x-d/749993", 4, "values, keys and items"},
	{"alias of its own anchor", head30 + "paths: {}\nx-a: &a\n  b: *a\n", "/x-a/b/b", 5, "contains it"},
	{"merge of a scalar", head30 + "paths: {}\nx-a:\n  <<: 5\n", "/x-a", 5, "merge key"},

	// References.
	{"external ref over HTTP", "", "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points outside the document"},
	{"external ref to a file beside", op30(`{"$ref":"other.yaml#/Pet"}`, "{}"), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "never reads files or URLs"},
	{"external ref to a file, no fragment", op30(`{"$ref":"other.yaml"}`, "{}"), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points outside"},
	{"external ref to an absolute path", op30(`{"$ref":"/etc/passwd"}`, "{}"), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points outside"},
	{"external ref as a file URL", op30(`{"$ref":"file:///etc/passwd"}`, "{}"), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points outside"},
	{"external path item", head30 + "paths:\n  /x:\n    $ref: 'https://example.com/paths.yaml#/x'\n", "/paths/~1x/$ref", 5, "points outside"},
	{"external ref in an extension", head30 + "paths: {}\nx-doc:\n  $ref: docs.md\n", "/x-doc/$ref", 5, "points outside"},
	{"external ref in info", head30 + "paths: {}\ninfo2: {}\nx-y: {description: {$ref: 'description.yml#/intro'}}\n", "/x-y/description/$ref", 0, "points outside"},
	{"ref to nothing", op30(`{"$ref":"#/components/schemas/Missing"}`, `{"schemas":{}}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points to nothing"},
	{"ref past a scalar", op30(`{"$ref":"#/info/title/x"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points to nothing"},
	{"ref with a bad index", op30(`{"$ref":"#/x-list/01"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "points to nothing"},
	{"ref to the root", op30(`{"$ref":"#"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "the whole document"},
	{"ref to the root with a slash", op30(`{"$ref":"#/"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "the whole document"},
	{"plain-name fragment", op30(`{"$ref":"#Pet"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "not a JSON pointer"},
	{"bad escape", op30(`{"$ref":"#/components/%zz"}`, `{}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "not a valid URI fragment"},
	{"ref to itself", op30(`{"$ref":"#/components/schemas/A"}`, `{"schemas":{"A":{"$ref":"#/components/schemas/A"}}}`), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "cycle of $refs"},
	{"ref cycle", op30(`{"type":"string"}`, `{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"$ref":"#/components/schemas/C"},"C":{"$ref":"#/components/schemas/A"}}}`), "/components/schemas/A/$ref", 1, "#/components/schemas/B → #/components/schemas/C → #/components/schemas/A → #/components/schemas/B"},
	{"path item cycle", head30 + "paths:\n  /a: {$ref: '#/paths/~1b'}\n  /b: {$ref: '#/paths/~1a'}\n", "/paths/~1a/$ref", 4, "cycle of $refs"},
	{"parameter cycle", head30 + "paths:\n  /x:\n    get:\n      parameters: [{$ref: '#/components/parameters/P'}]\n      responses: {}\n" +
		"components:\n  parameters:\n    P: {$ref: '#/components/parameters/Q'}\n    Q: {$ref: '#/components/parameters/P'}\n", "/paths/~1x/get/parameters/0/$ref", 6, "cycle of $refs"},
	{"long ref chain", op30(`{"$ref":"#/components/schemas/S0"}`, func() string {
		var b strings.Builder
		b.WriteString(`{"schemas":{`)
		for i := range 40 {
			fmt.Fprintf(&b, `"S%d":{"$ref":"#/components/schemas/S%d"},`, i, i+1)
		}
		b.WriteString(`"S40":{"type":"string"}}}`)
		return b.String()
	}()), "/paths/~1x/get/responses/200/content/application~1json/schema/$ref", 1, "chain of more than 32"},

	// Versions.
	{"no version field", "info: {title: t, version: '1'}\npaths: {}\n", "", 0, `no "openapi" or "swagger"`},
	{"both version fields", "swagger: '2.0'\n" + head30 + "paths: {}\n", "/openapi", 2, "both"},
	{"swagger 3", "swagger: '3.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", "", 0, "version field names none of them"},
	{"openapi a mapping", "openapi: {a: b}\ninfo: {title: t, version: '1'}\npaths: {}\n", "", 0, "version field names none of them"},
	{"openapi 3.2", "openapi: 3.2.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "/openapi", 1, "3.0 and 3.1"},
	{"openapi 4", `{"openapi":"4.0.0","info":{"title":"t","version":"1"},"paths":{}}`, "/openapi", 1, `declares openapi "4.0.0"`},
	{"openapi 2", "openapi: 2.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "", 0, "version field names none of them"},

	// What Portico reads.
	{"no info", "openapi: 3.0.0\npaths: {}\n", "", 1, `no "info"`},
	{"info a string", "openapi: 3.0.0\ninfo: hello\npaths: {}\n", "/info", 2, "must be a mapping"},
	{"no title", "openapi: 3.0.0\ninfo: {version: '1'}\npaths: {}\n", "/info/title", 2, "info.title is required"},
	{"blank title", "openapi: 3.0.0\ninfo: {title: ' ', version: '1'}\npaths: {}\n", "/info/title", 2, "info.title is required"},
	{"null title", "openapi: 3.0.0\ninfo: {title: null, version: '1'}\npaths: {}\n", "/info/title", 2, "info.title is required"},
	{"no version", "openapi: 3.0.0\ninfo: {title: t}\npaths: {}\n", "/info/version", 2, "info.version is required"},
	{"description a list", "openapi: 3.0.0\ninfo: {title: t, version: '1', description: [a]}\npaths: {}\n", "/info/description", 2, "must be a string"},
	{"tags a mapping", head30 + "tags: {a: b}\npaths: {}\n", "/tags", 3, "must be a sequence"},
	{"tag a string", head30 + "tags: [a]\npaths: {}\n", "/tags/0", 3, "mapping with a name"},
	{"tag without a name", head30 + "tags: [{description: d}]\npaths: {}\n", "/tags/0/name", 3, "must have a name"},
	{"servers a mapping", head30 + "servers: {url: /}\npaths: {}\n", "/servers", 3, "must be a sequence"},
	{"server without a url", head30 + "servers: [{description: d}]\npaths: {}\n", "/servers/0/url", 3, "must have a url"},
	{"server variables a list", head30 + "servers: [{url: '/{v}', variables: [v]}]\npaths: {}\n", "/servers/0/variables", 3, "must be a mapping"},
	{"server variable without a default", head30 + "servers: [{url: '/{v}', variables: {v: {enum: [a]}}}]\npaths: {}\n", "/servers/0/variables/v/default", 3, "must have a default"},
	{"path item servers", head30 + "paths:\n  /x:\n    servers: [{}]\n", "/paths/~1x/servers/0/url", 5, "must have a url"},
	{"swagger host with a scheme", "swagger: '2.0'\ninfo: {title: t, version: '1'}\nhost: https://example.com\npaths: {}\n", "/host", 3, "without a scheme"},
	{"swagger basePath", "swagger: '2.0'\ninfo: {title: t, version: '1'}\nbasePath: v1\npaths: {}\n", "/basePath", 3, `start with "/"`},
	{"swagger scheme", "swagger: '2.0'\ninfo: {title: t, version: '1'}\nschemes: [ftp]\npaths: {}\n", "/schemes/0", 3, "http, https, ws or wss"},
	{"no paths in 3.0", head30, "", 1, `no "paths"`},
	{"no paths in 2.0", "swagger: '2.0'\ninfo: {title: t, version: '1'}\n", "", 1, `no "paths"`},
	{"paths a list", head30 + "paths: []\n", "/paths", 3, "must be a mapping"},
	{"path without a slash", head30 + "paths:\n  pets: {}\n", "/paths/pets", 4, `must start with "/"`},
	{"unclosed template", head30 + "paths:\n  /pets/{id: {}\n", "/paths/~1pets~1{id", 4, `no "}"`},
	{"unopened template", head30 + "paths:\n  /pets/id}: {}\n", "/paths/~1pets~1id}", 4, `without a "{"`},
	{"empty template", head30 + "paths:\n  /pets/{}: {}\n", "/paths/~1pets~1{}", 4, "empty template"},
	{"nested template", head30 + "paths:\n  /pets/{a{b}}: {}\n", "/paths/~1pets~1{a{b}}", 4, "inside a template"},
	{"path too long for a pattern", head30 + "paths:\n  /" + strings.Repeat("a", 1000) + ": {}\n", "/paths/~1" + strings.Repeat("a", 1000), 4, "at most 1000 bytes"},
	{"path item a list", head30 + "paths:\n  /x: [get]\n", "/paths/~1x", 4, "path item must be a mapping"},
	{"operation a string", head30 + "paths:\n  /x:\n    get: list\n", "/paths/~1x/get", 5, "operation must be a mapping"},
	{"operationId a list", head30 + "paths:\n  /x:\n    get: {operationId: [a]}\n", "/paths/~1x/get/operationId", 5, "must be a string"},
	{"duplicate operationId", head30 + "paths:\n  /x:\n    get: {operationId: a}\n  /y:\n    get: {operationId: a}\n", "/paths/~1y/get/operationId", 7, "also the id of the operation at line 5"},
	{"summary a mapping", head30 + "paths:\n  /x:\n    get: {summary: {a: b}}\n", "/paths/~1x/get/summary", 5, "must be a string"},
	{"operation tags a string", head30 + "paths:\n  /x:\n    get: {tags: pets}\n", "/paths/~1x/get/tags", 5, "sequence of tag names"},
	{"operation tag a mapping", head30 + "paths:\n  /x:\n    get: {tags: [{name: a}]}\n", "/paths/~1x/get/tags/0", 5, "must be a name"},
	{"responses a list", head30 + "paths:\n  /x:\n    get: {responses: [ok]}\n", "/paths/~1x/get/responses", 5, "mapping of status codes"},
	{"parameters a mapping", head30 + "paths:\n  /x:\n    get: {parameters: {a: b}}\n", "/paths/~1x/get/parameters", 5, "must be a sequence"},
	{"parameter a string", head30 + "paths:\n  /x:\n    parameters: [a]\n", "/paths/~1x/parameters/0", 5, "must be a mapping"},
	{"parameter without a name", head30 + "paths:\n  /x:\n    get: {parameters: [{in: query}]}\n", "/paths/~1x/get/parameters/0/name", 5, "must have a name"},
	{"parameter in the body of 3.0", head30 + "paths:\n  /x:\n    get: {parameters: [{name: b, in: body}]}\n", "/paths/~1x/get/parameters/0/in", 5, "query, header, path, cookie"},
	{"parameter in a cookie of 2.0", "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get: {parameters: [{name: c, in: cookie}]}\n", "/paths/~1x/get/parameters/0/in", 5, "formData, body"},
	{"referenced parameter without a name", head30 + "paths:\n  /x:\n    get: {parameters: [{$ref: '#/components/schemas/S'}]}\ncomponents:\n  schemas:\n    S: {type: string}\n",
		"/paths/~1x/get/parameters/0/name", 8, "must have a name"},
	{"referenced path item's operation", head30 + "paths:\n  /x: {$ref: '#/x-items/a'}\nx-items:\n  a:\n    get: {operationId: 5}\n    post: {operationId: [5]}\n",
		"/paths/~1x/$ref/post/operationId", 8, "must be a string"},
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  k%d: %d\n", i, i)
	}
	return b.String()
}

// TestRefusals checks that Parse refuses each hostile or broken document
// with an Error that says where and why, quickly.
func TestRefusals(t *testing.T) {
	// A server that counts requests, for a $ref to it, and a file beside
	// the working directory a relative $ref names: neither must be read.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("Pet: {type: string}\n"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("Pet: {type: string}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			doc := r.doc
			if r.name == "external ref over HTTP" {
				doc = op30(`{"$ref":"`+srv.URL+`/pet.yaml#/Pet"}`, "{}")
			}
			start := time.Now()
			s, err := openapi.Parse([]byte(doc))
			if d := time.Since(start); d > time.Second {
				t.Logf("took %v (the time is measured in BenchmarkParseLarge, not asserted)", d)
			}
			var e *openapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("not refused with an *openapi.Error: %v (spec %+v)", err, s)
			}
			if e.Code != portico.EInvalid || portico.ErrorCodeOf(err) != portico.EInvalid {
				t.Errorf("code %q", e.Code)
			}
			if e.Pointer != r.pointer {
				t.Errorf("pointer %q, want %q (%v)", e.Pointer, r.pointer, err)
			}
			if r.line != 0 && e.Line != r.line {
				t.Errorf("line %d, want %d (%v)", e.Line, r.line, err)
			}
			if !strings.Contains(e.Message, r.says) {
				t.Errorf("message %q does not say %q", e.Message, r.says)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was asked %d times for an external $ref", n)
	}
}

func TestRefusesTooLarge(t *testing.T) {
	doc := []byte(head30 + "paths: {}\nx-pad: '" + strings.Repeat("a", openapi.MaxDocumentBytes) + "'\n")
	_, err := openapi.Parse(doc)
	var e *openapi.Error
	if !errors.As(err, &e) || e.Code != portico.ETooLarge || !strings.Contains(e.Message, "16 MiB") {
		t.Fatalf("%v", err)
	}
	// At the limit, it is read.
	doc = doc[:openapi.MaxDocumentBytes]
	doc[len(doc)-2], doc[len(doc)-1] = '\'', '\n'
	if _, err := openapi.Parse(doc); err != nil {
		t.Fatal(err)
	}
}

// TestAccepts covers forms that look like refusals but are legal.
func TestAccepts(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		ops       int
	}{
		{"recursive schema", op30(`{"$ref":"#/components/schemas/A"}`, `{"schemas":{"A":{"type":"object","properties":{"next":{"$ref":"#/components/schemas/A"}}}}}`), 1},
		{"schemas in a cycle through properties", op30(`{"$ref":"#/components/schemas/A"}`,
			`{"schemas":{"A":{"type":"object","required":["b"],"properties":{"b":{"$ref":"#/components/schemas/B"}}},"B":{"type":"object","required":["a"],"properties":{"a":{"$ref":"#/components/schemas/A"}}}}}`), 1},
		{"ref chain of 32", op30(`{"$ref":"#/components/schemas/S0"}`, func() string {
			var b strings.Builder
			b.WriteString(`{"schemas":{`)
			for i := range 31 {
				fmt.Fprintf(&b, `"S%d":{"$ref":"#/components/schemas/S%d"},`, i, i+1)
			}
			b.WriteString(`"S31":{"type":"string"}}}`)
			return b.String()
		}()), 1},
		{"a property named $ref", op30(`{"type":"object","properties":{"$ref":{"type":"string"}}}`, `{}`), 1},
		{"escaped ref", head30 + "paths:\n  /a/{b}:\n    get: {responses: {}}\n  /c: {$ref: '#/paths/~1a~1%7Bb%7D'}\n", 2},
		{"ref into a list", head30 + "paths:\n  /x:\n    get: {parameters: [{$ref: '#/x-params/1'}]}\nx-params: [{name: a, in: query}, {name: b, in: query}]\n", 1},
		{"anchors and merge keys", head30 + "x-op: &op\n  responses: {'200': {description: ok}}\npaths:\n  /a:\n    get:\n      <<: *op\n      operationId: a\n  /b:\n    get:\n      <<: *op\n      operationId: b\n", 2},
		{"merge of a list of mappings", head30 + "x-a: &a {operationId: a}\nx-b: &b {summary: s}\npaths:\n  /a:\n    get:\n      <<: [*a, *b]\n", 1},
		{"nesting at MaxDepth", `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{},"x-deep":` + nested("[", "]", openapi.MaxDepth-1) + `}`, 0},
		{"3.1 without paths", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\ncomponents: {}\n", 0},
		{"numbers as text", "openapi: 3.0\ninfo: {title: 2024, version: 1.0}\npaths: {}\n", 0},
		{"swagger without host", "swagger: '2.0'\ninfo: {title: t, version: '1'}\nbasePath: /v1\npaths:\n  /x: {get: {responses: {'200': {description: ok}}}}\n", 1},
		{"document markers", "# a comment\n---\n" + head30 + "paths: {}\n...\n# the end\n", 0},
		{"marker-like lines in a block scalar", head30 + "x-text: |\n  ---\n  ...\n  --- x\npaths: {}\n", 0},
		{"a BOM", "\xef\xbb\xbf" + `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{}}`, 0},
		{"extension paths", head30 + "paths:\n  x-note: {a: b}\n  /x: {get: {}}\n", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := openapi.Parse([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Operations) != c.ops {
				t.Errorf("%d operations, want %d: %+v", len(s.Operations), c.ops, s.Operations)
			}
			checkSpec(t, s)
		})
	}
}

// refChain is a document of n schemas in components, each a $ref to the
// next (in runs of 30, the last of each a string): every $ref points to
// a distinct place in one mapping of n entries.
func refChain(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.1.0","info":{"title":"chain","version":"1"},"paths":{},"components":{"schemas":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%30 == 29 || i == n-1 {
			fmt.Fprintf(&b, `"s%d":{"type":"string"}`, i)
		} else {
			fmt.Fprintf(&b, `"s%d":{"$ref":"#/components/schemas/s%d"}`, i, i+1)
		}
	}
	b.WriteString(`}}}`)
	return []byte(b.String())
}

// TestRefScan: a document whose $refs each point to a distinct schema of
// a large components mapping made the parser scan the mapping once per
// $ref (a probe's 5 MB document of 100,000 such schemas: 3 minutes of
// CPU and 1 GB at import). Such a document is refused before the parser
// builds its model, naming the bound; one of 2,000 schemas is taken.
func TestRefScan(t *testing.T) {
	start := time.Now()
	_, err := openapi.Parse(refChain(100_000))
	t.Logf("100,000 chained schemas refused in %v", time.Since(start))
	if err == nil || !strings.Contains(err.Error(), "$refs point into mappings so large") {
		t.Errorf("100,000 chained schemas: %v", err)
	}
	if _, err := openapi.Parse(refChain(2000)); err != nil {
		t.Errorf("2,000 chained schemas: %v", err)
	}
}
