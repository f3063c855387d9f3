package openapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/openapi"
)

// ordersDocs are one API described in the three versions the gateway
// imports; every case of TestValidate holds for each.
var ordersDocs = []string{"orders-openapi31.yaml", "orders-openapi30.yaml", "orders-swagger2.yaml"}

// newValidator compiles a testdata document as the gateway does: from
// the Document that Parse made of it.
func newValidator(tb testing.TB, file string) *openapi.Validator {
	tb.Helper()
	doc, err := os.ReadFile("testdata/validate/" + file)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := openapi.Parse(doc)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := openapi.NewValidator(s.Document)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// validBody is a 2 KiB order that the documents accept.
func validBody() []byte {
	var b strings.Builder
	b.WriteString(`{"customer":"Ada Lovelace","note":null,"email":"ada@example.com","items":[`)
	for i := 0; b.Len() < 1950; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"ABC-%04d","qty":%d,"price":%d.99,"tags":["gift","fragile"]}`, i, i+1, i+9)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

type vcase struct {
	name         string
	method, url  string
	header       map[string]string
	body         string
	want         []string // "in name", in order; none: valid
	msg          string   // a part of the first problem's message
	openapi3Only bool     // cookies: Swagger 2.0 has none
	swaggerOnly  bool     // its conversion gives every media type the body's schema
}

func validateCases() []vcase {
	order := string(validBody())
	put := func(name, url string, h map[string]string, body string, want []string, msg string) vcase {
		if h == nil {
			h = map[string]string{"Content-Type": "application/json", "X-Trace": "deadbeef"}
		}
		return vcase{name: name, method: "PUT", url: url, header: h, body: body, want: want, msg: msg}
	}
	json := map[string]string{"Content-Type": "application/json"}
	return []vcase{
		put("valid", "/orders/12?dry_run=true", nil, order, nil, ""),
		put("valid with charset", "/orders/12?dry_run=false", map[string]string{"Content-Type": "application/json; charset=utf-8"}, order, nil, ""),
		put("path parameter not an integer", "/orders/x?dry_run=true", nil, order, []string{"path id"}, "want integer"),
		put("path parameter under its minimum", "/orders/0?dry_run=true", nil, order, []string{"path id"}, "minimum"),
		put("path parameter a leading zero", "/orders/012?dry_run=true", nil, order, []string{"path id"}, "want integer"),
		put("required query parameter missing", "/orders/12", nil, order, []string{"query dry_run"}, "missing"),
		put("query parameter not a boolean", "/orders/12?dry_run=yes", nil, order, []string{"query dry_run"}, "want boolean"),
		put("query parameter twice, one bad", "/orders/12?dry_run=true&dry_run=1", nil, order, []string{"query dry_run"}, "want boolean"),
		put("query that does not parse", "/orders/12?dry_run=true&x=%zz", nil, order, []string{"query "}, "does not parse"),
		put("query with a semicolon", "/orders/12?dry_run=true;dry_run=x", nil, order, []string{"query ", "query dry_run"}, "does not parse"),
		put("header against its pattern", "/orders/12?dry_run=true", map[string]string{"Content-Type": "application/json", "X-Trace": "nothex!!"}, order,
			[]string{"header X-Trace"}, "does not match pattern"),
		put("header in another case", "/orders/12?dry_run=true", map[string]string{"content-type": "application/json", "x-trace": "DEADBEEF"}, order,
			[]string{"header X-Trace"}, "does not match pattern"),
		put("body against its schema", "/orders/12?dry_run=true", json,
			`{"customer":"","items":[{"sku":"bad"},{"sku":"ABC-0001","qty":0,"price":0}],"extra":1}`,
			[]string{"body ", "body /customer", "body /items/0", "body /items/0/sku", "body /items/1/price", "body /items/1/qty"}, "additional properties"),
		put("body of the wrong type", "/orders/12?dry_run=true", json, `[1,2]`, []string{"body "}, "want object"),
		put("body null where the type has null", "/orders/12?dry_run=true", json, `{"customer":"a","items":[],"note":null}`, nil, ""),
		put("body null where it has not", "/orders/12?dry_run=true", json, `{"customer":null,"items":[]}`, []string{"body /customer"}, "want string"),
		put("body not JSON", "/orders/12?dry_run=true", json, `{"customer":`, []string{"body "}, "not valid JSON"),
		put("body with trailing data", "/orders/12?dry_run=true", json, `{"customer":"a","items":[]} {}`, []string{"body "}, "more than one"),
		put("body with a key twice", "/orders/12?dry_run=true", json, `{"customer":"a","items":[],"customer":""}`, []string{"body "}, "twice"),
		put("body with a key not UTF-8", "/orders/12?dry_run=true", json, "{\"customer\":\"a\",\"items\":[],\"customer\xff\":1}", []string{"body "}, "not UTF-8"),
		put("body with a lone surrogate", "/orders/12?dry_run=true", json, `{"customer":"a\ud800","items":[]}`, []string{"body "}, "surrogate"),
		put("body after a byte order mark", "/orders/12?dry_run=true", json, "\xef\xbb\xbf"+`{"customer":"a","items":[]}`, []string{"body "}, "byte order mark (EF BB BF) where a JSON value begins at byte 0"),
		put("body with a byte not UTF-8", "/orders/12?dry_run=true", json, "\xff", []string{"body "}, "invalid byte 0xFF where a JSON value begins at byte 0"),
		put("body with U+FFFD itself", "/orders/12?dry_run=true", json, `{"customer":"a\uFFFD\ud83d\ude00 �","items":[]}`, nil, ""),
		put("body nested too deep", "/orders/12?dry_run=true", json, `{"customer":"a","items":[],"note":`+strings.Repeat("[", 101)+strings.Repeat("]", 101)+`}`,
			[]string{"body "}, "deeper than 100"),
		put("body with a costly number", "/orders/12?dry_run=true", json, `{"customer":"a","items":[{"sku":"ABC-0001","qty":1e1000000}]}`,
			[]string{"body "}, "exponent"),
		put("body with a long number", "/orders/12?dry_run=true", json, `{"customer":"a","items":[{"sku":"ABC-0001","qty":1`+strings.Repeat("0", 1000)+`}]}`,
			[]string{"body "}, "over 1000 characters"),
		put("body of another type", "/orders/12?dry_run=true", map[string]string{"Content-Type": "text/plain"}, order,
			[]string{"header Content-Type"}, "takes no text/plain body"),
		put("body without a type", "/orders/12?dry_run=true", map[string]string{}, order, []string{"header Content-Type"}, "needs one Content-Type"),
		put("body with two types", "/orders/12?dry_run=true", map[string]string{"Content-Type": "application/json", "content-TYPE": "application/json"}, order,
			[]string{"header Content-Type"}, "needs one Content-Type"),
		put("body with a bad type", "/orders/12?dry_run=true", map[string]string{"Content-Type": "application/json; ; x"}, order,
			[]string{"header Content-Type"}, "not a media type"),
		put("body required, none sent", "/orders/12?dry_run=true", json, "", []string{"body "}, "requires a request body"),
		put("problems in every place", "/orders/0?dry_run=maybe", map[string]string{"Content-Type": "application/json", "X-Trace": "x"}, `{"items":[]}`,
			[]string{"path id", "query dry_run", "header X-Trace", "body "}, "minimum"),
		put("at most ten problems", "/orders/12?dry_run=true", json, `{"customer":"a","items":[`+strings.Repeat(`{"qty":0},`, 20)+`{}]}`,
			[]string{"body /items/0", "body /items/0/qty", "body /items/1", "body /items/1/qty", "body /items/10", "body /items/10/qty",
				"body /items/11", "body /items/11/qty", "body /items/12", "body /items/12/qty"}, "missing"),
		{name: "a text body of a media type without a schema", method: "POST", url: "/orders", header: map[string]string{"Content-Type": "text/plain"}, body: "anything",
			openapi3Only: true},
		{name: "a text body against an object schema", method: "POST", url: "/orders", header: map[string]string{"Content-Type": "text/plain"}, body: "anything",
			want: []string{"body "}, msg: "want object", swaggerOnly: true},
		{name: "a JSON body of a POST", method: "POST", url: "/orders", header: json, body: `{"customer":"a"}`, want: []string{"body "}, msg: "missing property 'items'"},
		{name: "unknown operation", method: "DELETE", url: "/orders/12", want: []string{"path "}, msg: "no operation DELETE /orders/12 in the API's document"},
		{name: "unknown path", method: "GET", url: "/nowhere/1", want: []string{"path "}, msg: "no operation GET /nowhere/1"},
		{name: "the root", method: "GET", url: "/", want: []string{"path "}, msg: "no operation GET /"},
		{name: "a trailing slash", method: "GET", url: "/orders/", want: []string{"path "}, msg: "no operation GET /orders/"},
		{name: "a literal path before a template", method: "GET", url: "/orders/latest"},
		{name: "the template", method: "GET", url: "/orders/7"},
		{name: "HEAD as GET", method: "HEAD", url: "/orders/7"},
		{name: "HEAD as GET, checked", method: "HEAD", url: "/orders/x", want: []string{"path id"}},
		{name: "exploded array", method: "GET", url: "/orders?status=open&status=closed"},
		{name: "exploded array, an item bad", method: "GET", url: "/orders?status=open&status=lost", want: []string{"query status"}, msg: "at /1: value must be one of"},
		{name: "comma-separated array", method: "GET", url: "/orders?ids=1,2,3"},
		{name: "comma-separated array, an item bad", method: "GET", url: "/orders?ids=1,x,3", want: []string{"query ids"}, msg: "at /1: got string, want integer"},
		{name: "integer over its maximum", method: "GET", url: "/orders?limit=101", want: []string{"query limit"}, msg: "maximum"},
		{name: "a template inside a segment", method: "GET", url: "/files/abc.json"},
		{name: "a template inside a segment, too long", method: "GET", url: "/files/abcdef.json", want: []string{"path name"}, msg: "maxLength"},
		{name: "a template inside a segment, no match", method: "GET", url: "/files/abc.xml", want: []string{"path "}, msg: "no operation"},
		{name: "cookie", method: "GET", url: "/orders/7", header: map[string]string{"Cookie": "session=abcd"}, openapi3Only: true},
		{name: "cookie too short", method: "GET", url: "/orders/7", header: map[string]string{"Cookie": "session=abc"}, want: []string{"cookie session"},
			msg: "minLength", openapi3Only: true},
	}
}

func newRequest(c vcase) (*http.Request, []byte) {
	r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
	for k, v := range c.header {
		r.Header[k] = append(r.Header[k], v)
		if k != http.CanonicalHeaderKey(k) {
			r.Header[http.CanonicalHeaderKey(k)] = append(r.Header[http.CanonicalHeaderKey(k)], v)
			delete(r.Header, k)
		}
	}
	return r, []byte(c.body)
}

func TestValidate(t *testing.T) {
	for _, file := range ordersDocs {
		t.Run(file, func(t *testing.T) {
			v := newValidator(t, file)
			for _, c := range validateCases() {
				if c.openapi3Only && strings.Contains(file, "swagger") || c.swaggerOnly && !strings.Contains(file, "swagger") {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					r, body := newRequest(c)
					ps := v.Validate(r, r.URL.Path, body)
					var got []string
					for _, p := range ps {
						got = append(got, p.In+" "+p.Name)
					}
					if strings.Join(got, "|") != strings.Join(c.want, "|") {
						t.Fatalf("problems %q, want %q\n%+v", got, c.want, ps)
					}
					if c.msg != "" && !strings.Contains(ps[0].Message, c.msg) {
						t.Errorf("first message %q, want it to hold %q", ps[0].Message, c.msg)
					}
				})
			}
		})
	}
}

// TestValidateConcurrently runs the cases of one Validator from several
// goroutines at once (go test -race finds what they share).
func TestValidateConcurrently(t *testing.T) {
	v := newValidator(t, ordersDocs[0])
	cases := slices.DeleteFunc(validateCases(), func(c vcase) bool { return c.swaggerOnly })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range cases {
				c := cases[(i+g)%len(cases)]
				r, body := newRequest(c)
				if got := len(v.Validate(r, r.URL.Path, body)); got != len(c.want) {
					t.Errorf("%s: %d problems, want %d", c.name, got, len(c.want))
				}
			}
		})
	}
	wg.Wait()
}

// TestNewValidatorRefuses: documents the validator cannot use whole are
// refused with an *openapi.Error naming the place.
func TestNewValidatorRefuses(t *testing.T) {
	head := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":{"schema":`
	tail := `}}},"responses":{}}}}}`
	for _, c := range []struct{ name, doc, pointer, msg string }{
		{"not JSON", `openapi: 3.1.0`, "", "not a JSON object"},
		{"an array", `[]`, "", "not a JSON object"},
		{"a pattern Go's regexp does not take", head + `{"type":"string","pattern":"^(?=a)"}` + tail,
			"/paths/~1a/post/requestBody/content/application~1json/schema/pattern", "is not valid regex"},
		{"a schema $ref to nothing", head + `{"$ref":"#/components/schemas/Nothing"}` + tail,
			"/paths/~1a/post/requestBody/content/application~1json/schema", "points to nothing in the document"},
		{"a schema $ref outside", head + `{"$ref":"https://example.com/s.json"}` + tail,
			"/paths/~1a/post/requestBody/content/application~1json/schema", "is not a pointer into the document"},
		{"a parameter $ref to nothing", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"$ref":"#/components/parameters/P"}],"responses":{}}}}}`,
			"/paths/~1a/get/parameters/0", "points to nothing"},
		{"a $ref cycle", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"$ref":"#/components/parameters/P"}],"responses":{}}}},` +
			`"components":{"parameters":{"P":{"$ref":"#/components/parameters/Q"},"Q":{"$ref":"#/components/parameters/P"}}}}`, "", "chain of more than 32"},
		{"a bad template", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a/{b":{"get":{"responses":{}}}}}`, "/paths/~1a~1{b", "no \"}\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := openapi.NewValidator([]byte(c.doc))
			var e *openapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("NewValidator = %v, %v; want an *openapi.Error", v, err)
			}
			if !strings.Contains(e.Message, c.msg) || (c.pointer != "" && e.Pointer != c.pointer) {
				t.Errorf("error %q at %q, want %q at %q", e.Message, e.Pointer, c.msg, c.pointer)
			}
		})
	}
}

// TestValidateOAS31Dialect: a schema naming OpenAPI 3.1's dialect
// compiles (as JSON Schema 2020-12), without fetching it.
func TestValidateOAS31Dialect(t *testing.T) {
	doc := `{"openapi":"3.1.0","jsonSchemaDialect":"https://spec.openapis.org/oas/3.1/dialect/base","info":{"title":"t","version":"1"},` +
		`"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$schema":"https://spec.openapis.org/oas/3.1/dialect/base","type":"integer"}}}},"responses":{}}}}}`
	v, err := openapi.NewValidator([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/a", nil)
	r.Header.Set("Content-Type", "application/json")
	if ps := v.Validate(r, "/a", []byte(`"x"`)); len(ps) != 1 || ps[0].In != "body" {
		t.Errorf("problems %+v, want one in the body", ps)
	}
}

// TestValidateHostilePattern: a pattern that backtracking engines take
// exponential time on is linear with Go's regexp.
func TestValidateHostilePattern(t *testing.T) {
	doc := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":` +
		`{"schema":{"type":"string","pattern":"^(a+)+$"}}}},"responses":{}}}}}`
	v, err := openapi.NewValidator([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`"` + strings.Repeat("a", 100_000) + `!"`)
	r := httptest.NewRequest("POST", "/a", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if ps := v.Validate(r, "/a", body); len(ps) != 1 || !strings.Contains(ps[0].Message, "does not match pattern") {
		t.Errorf("problems %+v, want the pattern's", ps)
	}
}

// TestNewValidatorLarge compiles the 10 MB document of 1,000 operations
// (large_test.go) and validates requests of it. Its 250 schemas of 150
// properties all refer to each other: the compiler's work on one
// connected graph of schemas grows with its square (its queue is a
// list), so this worst case takes 10–20 s, once per document, off the
// request path; asana.yaml (325 KB) takes 0.1 s.
func TestNewValidatorLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a 10 MB document, measured without the race detector")
	}
	s, err := openapi.Parse(largeDocument(t, largeOps, largeBytes, false))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := openapi.NewValidator(s.Document)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes compiled in %v", len(s.Document), took)
	if took > 60*time.Second {
		t.Errorf("compiling took %v", took)
	}
	r := httptest.NewRequest("GET", "/r249/x?limit=ten", nil)
	if ps := v.Validate(r, "/r249/x", nil); len(ps) != 1 || ps[0].In+" "+ps[0].Name != "query limit" {
		t.Errorf("problems %+v, want the limit's", ps)
	}
	r = httptest.NewRequest("PUT", "/r249/x", nil)
	r.Header.Set("Content-Type", "application/json")
	if ps := v.Validate(r, "/r249/x", []byte(`{"p0":"a","p1":-1}`)); len(ps) != 1 || ps[0].Name != "/p1" {
		t.Errorf("problems %+v, want p1's", ps)
	}
}

// TestNewValidatorDocuments: every document of testdata that Parse takes
// compiles, and a request for no operation of it is refused.
func TestNewValidatorDocuments(t *testing.T) {
	files, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if f.IsDir() || !(strings.HasSuffix(f.Name(), ".yaml") || strings.HasSuffix(f.Name(), ".json")) {
			continue
		}
		doc, err := os.ReadFile("testdata/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		s, err := openapi.Parse(doc)
		if err != nil {
			continue // refused by the import already
		}
		v, err := openapi.NewValidator(s.Document)
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
			continue
		}
		n++
		r := httptest.NewRequest("GET", "/no/such/operation/here", nil)
		if ps := v.Validate(r, r.URL.Path, nil); len(ps) != 1 || ps[0].In != "path" {
			t.Errorf("%s: problems %+v, want no operation", f.Name(), ps)
		}
	}
	if n < 8 {
		t.Errorf("%d documents compiled, want the 8 or more of testdata", n)
	}
}
