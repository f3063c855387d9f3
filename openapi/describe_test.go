package openapi

import (
	"os"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// describeFile parses a testdata document, exports it as the gateway
// publishes it and describes the export, as the developer portal does.
func describeFile(t *testing.T, name string) *Reference {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	a := &portico.API{Name: spec.Title, Version: spec.Version, Context: "/pets", Auth: portico.AuthMethods{portico.AuthAPIKey}}
	doc, err := Export(ExportInput{API: a, Document: spec.Document})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Describe(doc)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestDescribe(t *testing.T) {
	for _, name := range []string{"petstore-openapi30.yaml", "petstore-swagger2.yaml"} {
		t.Run(name, func(t *testing.T) {
			ref := describeFile(t, name)
			if len(ref.Operations) != 3 {
				t.Fatalf("%d operations, want 3", len(ref.Operations))
			}
			list, create, show := ref.Operations[0], ref.Operations[1], ref.Operations[2]
			if list.Method != "GET" || list.Path != "/pets" || list.OperationID != "listPets" || list.Summary != "List all pets" {
				t.Errorf("first operation %+v", list)
			}
			if len(list.Parameters) != 1 || list.Parameters[0].Name != "limit" || list.Parameters[0].In != "query" ||
				list.Parameters[0].Required || list.Parameters[0].Type != "integer (int32)" {
				t.Errorf("listPets parameters %+v", list.Parameters)
			}
			if len(show.Parameters) != 1 || show.Parameters[0].In != "path" || !show.Parameters[0].Required {
				t.Errorf("showPetById parameters %+v", show.Parameters)
			}
			var ok *ResponseDoc
			for i := range show.Responses {
				if show.Responses[i].Status == "200" {
					ok = &show.Responses[i]
				}
			}
			if ok == nil || len(ok.Bodies) == 0 || ok.Bodies[0].Type != "application/json" ||
				!strings.Contains(ok.Bodies[0].Schema, `"required"`) || strings.Contains(ok.Bodies[0].Schema, "$ref") {
				t.Errorf("showPetById's 200 is not described with its schema inlined: %+v", ok)
			}
			if create.Method != "POST" {
				t.Errorf("second operation %+v", create)
			}
		})
	}
}

// TestDescribeRecursive: a schema that refers to itself is inlined once,
// then left a $ref; a chain of schemas stops at the depth bound.
func TestDescribeRecursive(t *testing.T) {
	doc := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/n":{"get":{"responses":{"200":{"description":"ok",
"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Node"},"example":{"name":"a","children":[]}}}}}}}},
"components":{"schemas":{"Node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}}}}}`)
	ref, err := Describe(doc)
	if err != nil {
		t.Fatal(err)
	}
	b := ref.Operations[0].Responses[0].Bodies[0]
	if strings.Count(b.Schema, `"$ref": "#/components/schemas/Node"`) != 1 || !strings.Contains(b.Schema, `"name"`) {
		t.Errorf("recursive schema:\n%s", b.Schema)
	}
	if !strings.Contains(b.Example, `"children": []`) {
		t.Errorf("example:\n%s", b.Example)
	}
	if _, err := Describe([]byte(`[1]`)); portico.ErrorCodeOf(err) != portico.EInvalid {
		t.Errorf("a document that is not an object: %v", err)
	}
}

// TestDescribeBounds: a schema whose $refs fan out is inlined up to the
// node budget and the depth bound, then left $refs, and its text is cut.
func TestDescribeBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/S0"}}}}}}}},"components":{"schemas":{`)
	for i := range 50 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"S` + itoa(i) + `":{"type":"object","properties":{`)
		for p := range 10 {
			if p > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"p` + itoa(p) + `":{"$ref":"#/components/schemas/S` + itoa(i+1) + `"}`)
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`,"S50":{"type":"string"}}}}`)
	ref, err := Describe([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	s := ref.Operations[0].Responses[0].Bodies[0].Schema
	if !strings.Contains(s, `"$ref"`) || len(s) > maxDocText+10 {
		t.Errorf("a fanning schema: %d bytes, $ref left: %v", len(s), strings.Contains(s, `"$ref"`))
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestDescribeFanOut: one large schema that a thousand operations refer
// to (the shape a probe used to make the portal spend 40 s and 90 MB on
// one page) is written within the document's bound: every schema cut at
// maxInlineNodes, all of them together at maxReferenceNodes.
func TestDescribeFanOut(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"/x` + itoa(i) + `":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Big"}}}},` +
			`"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Big"}}}}}}}`)
	}
	b.WriteString(`},"components":{"schemas":{"Big":{"type":"object","properties":{`)
	for p := range 15000 {
		if p > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"p` + itoa(p) + `":{"type":"string","description":"a property"}`)
	}
	b.WriteString(`}}}}}`)
	ref, err := Describe([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	total, empty := 0, 0
	for _, o := range ref.Operations {
		for _, m := range o.Requests {
			total += len(m.Schema)
			if m.Schema == "" {
				empty++
				if !m.LeftOut {
					t.Fatal("a schema left out is not said to be")
				}
			}
			if len(m.Schema) > maxDocText+10 {
				t.Fatalf("a schema of %d bytes", len(m.Schema))
			}
		}
		for _, r := range o.Responses {
			for _, m := range r.Bodies {
				total += len(m.Schema)
			}
		}
	}
	t.Logf("%d operations, %d bytes of schemas, %d request schemas left out", len(ref.Operations), total, empty)
	if total > 8<<20 || empty == 0 {
		t.Errorf("%d bytes of schemas and %d left out: the document's bound does not hold", total, empty)
	}
}
