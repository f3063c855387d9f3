package openapi_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// FuzzParse feeds documents to Parse. It must not panic; it must refuse
// only with an *openapi.Error; and what it accepts must hold what
// checkSpec checks, read the same from its Document, and export to a
// document that parses with the same operations.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"petstore-swagger2.yaml", "petstore-expanded-swagger2.json", "petstore-openapi30.yaml",
		"petstore-expanded-openapi30.yaml", "petstore-openapi31.json", "webhook-example-openapi31.yaml"} {
		doc, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	for _, r := range refusals {
		if len(r.doc) < 4<<10 {
			f.Add([]byte(r.doc))
		}
	}
	for _, doc := range []string{
		head30 + "x-op: &op\n  responses: {'200': {description: ok}}\npaths:\n  /a:\n    get:\n      <<: *op\n      operationId: a\n",
		head30 + "paths:\n  /a/{b}:\n    get: {responses: {}}\n  /c: {$ref: '#/paths/~1a~1%7Bb%7D'}\n",
		"swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  /p/{id}:\n    parameters: [{name: id, in: path, type: string}]\n" +
			"    post: {parameters: [{name: f, in: formData, type: file}, {$ref: '#/parameters/B'}], responses: {'200': {description: ok, schema: {type: file}}}}\n" +
			"parameters: {B: {name: b, in: body, schema: {type: object}}}\n",
		`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"a/b":{"schema":{"type":["string","null"]}}}}}}}}}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := openapi.Parse(doc)
		if err != nil {
			var e *openapi.Error
			if !errors.As(err, &e) || e.Message == "" || (e.Code != portico.EInvalid && e.Code != portico.ETooLarge) {
				t.Fatalf("refused with %#v", err)
			}
			return
		}
		checkSpec(t, s)
		again, err := openapi.Parse(s.Document)
		if err != nil {
			t.Fatalf("the Document does not parse: %v\n%s", err, s.Document)
		}
		if !bytes.Equal(summarize(again, nil), summarize(s, nil)) {
			t.Fatalf("the Document parses otherwise:\n%s\nwant\n%s", summarize(again, nil), summarize(s, nil))
		}
		out, err := openapi.Export(openapi.ExportInput{
			API:       petsAPI(portico.AuthAPIKey, portico.AuthBasic, portico.AuthJWT, portico.AuthOAuth2),
			FrontDoor: "https://gw.example.com",
			Document:  s.Document,
		})
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		exported, err := openapi.Parse(out)
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%s", err, out)
		}
		if want := opKeys(s); len(want) > 0 && !slices.Equal(opKeys(exported), want) {
			t.Fatalf("the export's operations %q, want %q", opKeys(exported), want)
		}
	})
}
