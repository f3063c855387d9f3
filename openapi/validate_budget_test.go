package openapi_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/openapi"
)

// bodyDoc returns an OpenAPI 3.1 document whose POST /a takes a JSON
// body of schema, with components' schemas (a JSON object's members).
func bodyDoc(schema, schemas string) string {
	return `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":` +
		`{"schema":` + schema + `}}},"responses":{}}}},"components":{"schemas":{` + schemas + `}}}`
}

// fanOutDoc is the probe's document: schemas L0…Ldepth, each an anyOf
// of width $refs to the next, so that one value meets width^depth
// schemas (a 4-byte body cost 9 s and 1.8 GB at depth 13 before the
// budget).
func fanOutDoc(depth, width int) string {
	var b strings.Builder
	for i := range depth {
		refs := make([]string, width)
		for j := range refs {
			refs[j] = fmt.Sprintf(`{"$ref":"#/components/schemas/L%d"}`, i+1)
		}
		fmt.Fprintf(&b, `"L%d":{"anyOf":[%s]},`, i, strings.Join(refs, ","))
	}
	fmt.Fprintf(&b, `"L%d":{"type":"string"}`, depth)
	return bodyDoc(`{"$ref":"#/components/schemas/L0"}`, b.String())
}

// nestedFanOutDoc fans out through the value's nesting: each member n
// of a Node is checked against three Nodes.
func nestedFanOutDoc() string {
	return bodyDoc(`{"$ref":"#/components/schemas/Node"}`,
		`"Node":{"type":"object","properties":{"n":{"anyOf":[{"$ref":"#/components/schemas/Node"},{"$ref":"#/components/schemas/Node"},{"$ref":"#/components/schemas/Node"}]}}}`)
}

// probePattern is the probe's pattern: 100 bounded repeats in a row, 17 s
// on a 2 KB string before the budget.
var probePattern = "^" + strings.Repeat(".{1,1000}", 100) + "z$"

func numbers(n int) string {
	ns := make([]string, n)
	for i := range ns {
		ns[i] = fmt.Sprint(i * 7)
	}
	return strings.Join(ns, ",")
}

func names(n int) string {
	ns := make([]string, n)
	for i := range ns {
		ns[i] = fmt.Sprintf(`"field_%d"`, i)
	}
	return strings.Join(ns, ",")
}

// TestNewValidatorBudget: a document whose schemas could make a request
// cost more than the bounds is refused, with the place in the document
// where the cost adds up and the bound; documents within them compile.
func TestNewValidatorBudget(t *testing.T) {
	tenParams := make([]string, 10)
	for i := range tenParams {
		tenParams[i] = fmt.Sprintf(`{"name":"f%d","in":"query","schema":{"type":"string","enum":[%s]}}`, i, names(1000))
	}
	pairOfPatterns := "^" + strings.Repeat(".{1,100}", 10) + "z$"
	for _, c := range []struct {
		name, doc, pointer, msg string
	}{
		{"the probe's anyOf fan-out", fanOutDoc(13, 3), "/components/schemas/L8/anyOf", "openapi.MaxValueCost"},
		{"anyOf fan-out five deep", fanOutDoc(5, 3), "/components/schemas/L0/anyOf", "727 schema evaluations"},
		{"anyOf fan-out through nesting", nestedFanOutDoc(), "/components/schemas/Node/properties/n", "nested 5 levels inside"},
		{"the probe's pattern", bodyDoc(`{"type":"string","pattern":"`+probePattern+`"}`, `"X":{}`),
			"/paths/~1a/post/requestBody/content/application~1json/schema/pattern", "openapi.MaxPatternSize"},
		{"a pattern of patternProperties", bodyDoc(`{"type":"object","patternProperties":{"`+probePattern+`":{}}}`, `"X":{}`),
			"/paths/~1a/post/requestBody/content/application~1json/schema/patternProperties", "openapi.MaxPatternSize"},
		{"patterns adding up on one value", bodyDoc(`{"allOf":[{"pattern":"`+pairOfPatterns+`"},{"pattern":"`+pairOfPatterns+`"}]}`, `"X":{}`),
			"/paths/~1a/post/requestBody/content/application~1json/schema/allOf", "openapi.MaxPatternWork"},
		{"an enum of 200 numbers", bodyDoc(`{"type":"array","items":{"enum":[`+numbers(200)+`]}}`, `"X":{}`),
			"/paths/~1a/post/requestBody/content/application~1json/schema/items/enum", "openapi.MaxValueCost"},
		{"a schema applied to its own value", bodyDoc(`{"$ref":"#/components/schemas/A"}`,
			`"A":{"allOf":[{"$ref":"#/components/schemas/B"}]},"B":{"anyOf":[{"$ref":"#/components/schemas/A"},{"type":"string"}]}`),
			"/components/schemas/A", "applies itself to the same value"},
		{"a $dynamicRef", bodyDoc(`{"$ref":"#/components/schemas/Tree"}`,
			`"Tree":{"$dynamicAnchor":"node","type":"object","properties":{"c":{"$dynamicRef":"#node"}}}`),
			"/components/schemas/Tree/properties/c/$dynamicRef", "does not take a $dynamicRef"},
		{"parameters adding up", `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[` +
			strings.Join(tenParams, ",") + `],"responses":{}}}}}`, "/paths/~1a/get/parameters", "openapi.MaxValueCost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := openapi.NewValidator([]byte(c.doc))
			var e *openapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("NewValidator = %v, %v; want an *openapi.Error", v, err)
			}
			t.Logf("%v", e)
			if !strings.HasPrefix(e.Pointer, c.pointer) || !strings.Contains(e.Message, c.msg) {
				t.Errorf("error %q at %q, want %q at %q", e.Message, e.Pointer, c.msg, c.pointer)
			}
			if s := e.Error(); strings.Contains(s, "mem:") || strings.Contains(s, "$defs") || len(s) > 1000 {
				t.Errorf("the error shows the validator's internals: %s", s)
			}
		})
	}
	for _, c := range []struct{ name, doc string }{
		{"anyOf fan-out four deep", fanOutDoc(4, 3)},
		{"a recursive tree", bodyDoc(`{"$ref":"#/components/schemas/Node"}`,
			`"Node":{"type":"object","required":["name"],"properties":{"name":{"type":"string","pattern":"^[a-z]{1,63}$"},`+
				`"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}},`+
				`"kind":{"oneOf":[{"const":"leaf"},{"const":"branch"}]}}}`)},
		{"a long bounded pattern", bodyDoc(`{"type":"string","pattern":"^.{1,1000}$"}`, `"X":{}`)},
		{"an enum of 100 numbers", bodyDoc(`{"type":"array","items":{"enum":[`+numbers(100)+`]}}`, `"X":{}`)},
		{"an enum of 5,000 names", bodyDoc(`{"type":"string","enum":[`+names(5000)+`]}`, `"X":{}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := openapi.NewValidator([]byte(c.doc)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNewValidatorErrorsSafe: no refusal shows the compiler's own names
// for the document (its resource URL, the "$defs" it is given).
func TestNewValidatorErrorsSafe(t *testing.T) {
	for _, doc := range []string{
		bodyDoc(`{"$ref":"#/components/schemas/Nothing"}`, `"X":{}`),
		bodyDoc(`{"type":"object","properties":{"a":{"$ref":"#/components/schemas/Nothing"}}}`, `"X":{}`),
		bodyDoc(`{"$ref":"#/components/schemas/X"}`, `"X":{"type":"string","pattern":"^(?=a)"}`),
		bodyDoc(`{"$ref":"#/components/schemas/X"}`, `"X":{"type":"strin"}`),
		bodyDoc(`{"$ref":"#/components/schemas/X"}`, `"X":{"$ref":"#/components/schemas/X/properties/none"}`),
		bodyDoc(`{"$ref":"#/components/schemas/X"}`, `"X":{"minimum":"one"}`),
		bodyDoc(`{"$ref":"#/components/schemas/X"}`, `"X":{"$id":"https://example.com/x","$ref":"other.json"}`),
	} {
		_, err := openapi.NewValidator([]byte(doc))
		var e *openapi.Error
		if !errors.As(err, &e) {
			t.Errorf("NewValidator = %v; want an *openapi.Error", err)
			continue
		}
		t.Logf("%v", e)
		if s := e.Error(); strings.Contains(s, "mem:") || strings.Contains(s, "$defs") || e.Pointer == "" {
			t.Errorf("error %q at %q: internals shown, or no place", s, e.Pointer)
		}
	}
}

// TestValidateRequestBudget: a body whose values would cost more than
// MaxRequestCost to check is refused before any schema runs; a smaller
// one is checked.
func TestValidateRequestBudget(t *testing.T) {
	alts := strings.Repeat(`{"type":"integer"},`, 150)
	v, err := openapi.NewValidator([]byte(bodyDoc(`{"type":"array","items":{"anyOf":[`+alts[:len(alts)-1]+`]}}`, `"X":{}`)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(items int) []openapi.Problem {
		body := []byte("[" + strings.TrimSuffix(strings.Repeat("1.5,", items), ",") + "]")
		r := httptest.NewRequest("POST", "/a", nil)
		r.Header.Set("Content-Type", "application/json")
		return v.Validate(r, "/a", body)
	}
	if ps := check(100); len(ps) != openapi.MaxProblems || !strings.Contains(ps[0].Message, "want integer") {
		t.Errorf("100 items: problems %+v, want the items'", ps)
	}
	if ps := check(5000); len(ps) != 1 || !strings.Contains(ps[0].Message, "too large to check") {
		t.Errorf("5,000 items: problems %+v, want the body too large to check", ps)
	}
}

// TestValidateUniqueItemsBudget: the schema library's uniqueItems hash
// writes strings without their length, so items that split one text
// apart differently ([1, …, "a", "a"] and [1, …, "a\u0004a"]) share a
// hash and are compared with each other, every number read as a big.Rat
// each time: quadratic. A probe's 1 MB body of such items cost 45 s of
// CPU; a 25 KB one is refused here before any schema runs, and a body of
// as many distinct items (with distinct hashes) is checked.
func TestValidateUniqueItemsBudget(t *testing.T) {
	v, err := openapi.NewValidator([]byte(bodyDoc(`{"type":"array","uniqueItems":true}`, `"X":{}`)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(body string) []openapi.Problem {
		r := httptest.NewRequest("POST", "/a", nil)
		r.Header.Set("Content-Type", "application/json")
		return v.Validate(r, "/a", []byte(body))
	}
	ones := strings.Repeat("1,", 50)
	var colliding, distinct []string
	for i := range 200 {
		// Item i splits "a\x04a\x04…" (9 a's) at the bits of i.
		var parts []string
		cur := "a"
		for bit := range 8 {
			if i&(1<<bit) != 0 {
				parts = append(parts, `"`+cur+`"`)
				cur = "a"
			} else {
				cur += `\u0004a`
			}
		}
		parts = append(parts, `"`+cur+`"`)
		colliding = append(colliding, "["+ones+strings.Join(parts, ",")+"]")
		distinct = append(distinct, "["+ones+strconv.Itoa(i)+"]")
	}
	if ps := check("[" + strings.Join(colliding, ",") + "]"); len(ps) != 1 || !strings.Contains(ps[0].Message, "too large to check") {
		t.Errorf("200 items sharing one hash: problems %+v, want the body too large to check", ps)
	}
	if ps := check("[" + strings.Join(distinct, ",") + "]"); len(ps) != 0 {
		t.Errorf("200 distinct items: problems %+v", ps)
	}
	if ps := check(`[[1,"a"],[1,"a"]]`); len(ps) != 1 || !strings.Contains(ps[0].Message, "are equal") {
		t.Errorf("a duplicate: problems %+v", ps)
	}
	if ps := check(`[[1,2,3],[1.0,2,30e-1]]`); len(ps) != 1 || !strings.Contains(ps[0].Message, "are equal") {
		t.Errorf("a duplicate written differently: problems %+v", ps)
	}
	// Up to 20 items the library compares every pair, each to where the
	// two first differ: 20 long arrays that differ at once are cheap to
	// check, 20 that differ at their ends are not.
	long := func(n, first, last int) string {
		return "[" + strconv.Itoa(first) + "," + strings.Repeat("7,", n-2) + strconv.Itoa(last) + "]"
	}
	var early, late []string
	for i := range 20 {
		early = append(early, long(1000, i, 0))
		late = append(late, long(5000, 0, i))
	}
	if ps := check("[" + strings.Join(early, ",") + "]"); len(ps) != 0 {
		t.Errorf("20 arrays of 1,000 numbers that differ at once: problems %+v", ps)
	}
	if ps := check("[" + strings.Join(late, ",") + "]"); len(ps) != 1 || !strings.Contains(ps[0].Message, "too large to check") {
		t.Errorf("20 arrays of 5,000 numbers that differ at their ends: problems %+v, want the body too large to check", ps)
	}
}
