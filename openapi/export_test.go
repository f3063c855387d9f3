package openapi_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// petsAPI is the API the export tests publish.
func petsAPI(auth ...portico.AuthType) *portico.API {
	return &portico.API{
		Name: "Pets", Version: "2.0.0", Context: "/pets", Description: "Pets, through Portico.",
		Auth: auth, Plans: []string{"gold", "silver"},
	}
}

// decode reads an exported document for the tests to look into.
func decode(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("the export is not JSON: %v", err)
	}
	return m
}

// at returns the value at a path of keys in a decoded document, or nil.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// opKeys are the operations of a Spec by method, path and id.
func opKeys(s *openapi.Spec) []string {
	var out []string
	for _, o := range s.Operations {
		out = append(out, o.Method+" "+o.Path+" "+o.OperationID)
	}
	return out
}

// TestExportGolden exports each document of testdata as an imported API
// and checks that the export is OpenAPI 3.1 with the gateway's server and
// security and the document's operations, and compares it with its
// golden file (for the small ones). (The golden exports are valid OpenAPI
// 3.1 by kin-openapi's validation too, but for components.pathItems,
// which it does not know.)
func TestExportGolden(t *testing.T) {
	for _, file := range documents(t) {
		name := filepath.Base(file)
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := openapi.Parse(doc)
		if err != nil {
			continue // refused: TestParseGolden says why
		}
		t.Run(name, func(t *testing.T) {
			out, err := openapi.Export(openapi.ExportInput{
				API:       petsAPI(portico.AuthAPIKey, portico.AuthBasic, portico.AuthJWT, portico.AuthOAuth2),
				FrontDoor: "https://gw.example.com/",
				Document:  spec.Document,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(doc) <= 64<<10 { // no golden copy of large documents
				golden(t, strings.TrimSuffix(name, filepath.Ext(name))+".export.json", out)
			}
			again, err := openapi.Parse(out)
			if err != nil {
				t.Fatalf("the export does not parse: %v", err)
			}
			checkSpec(t, again)
			if again.OpenAPI != "3.1.0" || again.Title != "Pets" || again.Version != "2.0.0" || again.Description != "Pets, through Portico." {
				t.Errorf("openapi %q, info %q %q %q", again.OpenAPI, again.Title, again.Version, again.Description)
			}
			if !slices.Equal(again.Servers, []string{"https://gw.example.com/pets"}) {
				t.Errorf("servers %q", again.Servers)
			}
			want := opKeys(spec)
			if len(want) == 0 { // the catch-all path
				want = []string{"GET /{path} get", "PUT /{path} put", "POST /{path} post", "DELETE /{path} delete", "PATCH /{path} patch"}
			}
			if !slices.Equal(opKeys(again), want) {
				t.Errorf("operations\n%q\nwant\n%q", opKeys(again), want)
			}
			m := decode(t, out)
			if got := keys(at(m, "components", "securitySchemes")); !slices.Equal(got, []string{"api_key", "api_key_query", "basic", "jwt", "oauth2"}) {
				t.Errorf("security schemes %q", got)
			}
			paths, _ := at(m, "paths").(map[string]any)
			for p, item := range paths {
				if at(item, "servers") != nil {
					t.Errorf("%s keeps its servers", p)
				}
				for method, op := range item.(map[string]any) {
					if at(op, "security") != nil {
						t.Errorf("%s %s keeps its security", method, p)
					}
				}
			}
		})
	}
}

func TestExportSecurity(t *testing.T) {
	for _, c := range []struct {
		name      string
		auth      portico.AuthMethods
		frontDoor string
		schemes   []string
		security  []string
	}{
		{"default is api_key", nil, "https://gw.example.com", []string{"api_key", "api_key_query"}, []string{"api_key", "api_key_query"}},
		{"open", portico.AuthMethods{portico.AuthNone}, "https://gw.example.com", nil, nil},
		{"basic and jwt", portico.AuthMethods{portico.AuthJWT, portico.AuthBasic}, "", []string{"basic", "jwt"}, []string{"jwt", "basic"}},
		{"oauth2", portico.AuthMethods{portico.AuthOAuth2}, "http://localhost:8080/", []string{"oauth2"}, []string{"oauth2"}},
		{"oauth2 without a front door", portico.AuthMethods{portico.AuthOAuth2}, "", []string{"oauth2"}, []string{"oauth2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := petsAPI(c.auth...)
			out, err := openapi.Export(openapi.ExportInput{API: a, FrontDoor: c.frontDoor})
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, out)
			if got := keys(at(m, "components", "securitySchemes")); !slices.Equal(got, c.schemes) {
				t.Errorf("schemes %q, want %q", got, c.schemes)
			}
			var security []string
			list, _ := m["security"].([]any)
			for _, req := range list {
				security = append(security, keys(req)...)
			}
			if !slices.Equal(security, c.security) {
				t.Errorf("security %q, want %q", security, c.security)
			}
			base := strings.TrimRight(c.frontDoor, "/")
			if got := at(m, "servers").([]any)[0].(map[string]any)["url"]; got != base+"/pets" {
				t.Errorf("server %v", got)
			}
			if slices.Contains(c.schemes, "api_key") {
				if at(m, "components", "securitySchemes", "api_key", "name") != "X-Api-Key" ||
					at(m, "components", "securitySchemes", "api_key", "in") != "header" ||
					at(m, "components", "securitySchemes", "api_key_query", "name") != "api_key" {
					t.Errorf("api key schemes %v", at(m, "components", "securitySchemes"))
				}
			}
			if slices.Contains(c.schemes, "oauth2") {
				cc := at(m, "components", "securitySchemes", "oauth2", "flows", "clientCredentials")
				if at(cc, "tokenUrl") != base+portico.TokenEndpointPath || !reflect.DeepEqual(keys(at(cc, "scopes")), []string{"gold", "silver"}) {
					t.Errorf("client credentials %v", cc)
				}
			}
			if slices.Contains(c.schemes, "jwt") && at(m, "components", "securitySchemes", "jwt", "bearerFormat") != "JWT" {
				t.Errorf("jwt %v", at(m, "components", "securitySchemes", "jwt"))
			}
			if _, err := openapi.Parse(out); err != nil {
				t.Errorf("the export does not parse: %v", err)
			}
		})
	}
}

func TestExportOperations(t *testing.T) {
	ops := []openapi.Operation{
		{Method: "GET", Path: "/pets", OperationID: "listPets", Summary: "List"},
		{Method: "POST", Path: "/pets"},
		{Method: "get", Path: "/pets/{id}/photos/{photo}.{format}", OperationID: "photo"},
		{Method: "GET", Path: "/pets", OperationID: "again"}, // the first one counts
	}
	out, err := openapi.Export(openapi.ExportInput{API: petsAPI(), FrontDoor: "https://gw.example.com", Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "operations.export.json", out)
	s, err := openapi.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := opKeys(s); !slices.Equal(got, []string{"GET /pets listPets", "POST /pets ", "GET /pets/{id}/photos/{photo}.{format} photo"}) {
		t.Errorf("operations %q", got)
	}
	m := decode(t, out)
	params := at(m, "paths", "/pets/{id}/photos/{photo}.{format}", "parameters").([]any)
	if len(params) != 3 || at(params[2], "name") != "format" || at(params[2], "in") != "path" || at(params[2], "required") != true {
		t.Errorf("parameters %v", params)
	}
	if at(m, "paths", "/pets", "get", "responses", "429") == nil {
		t.Errorf("no 429 for an API with auth")
	}

	// No operations: one catch-all path.
	out, err = openapi.Export(openapi.ExportInput{API: petsAPI(portico.AuthNone)})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "catch-all.export.json", out)
	s, err = openapi.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Operations) != 5 || s.Operations[0].Path != "/{path}" || s.Operations[0].Pattern != "/*" {
		t.Errorf("catch-all %+v", s.Operations)
	}
	if m := decode(t, out); at(m, "paths", "/{path}", "get", "responses", "401") != nil || m["security"] != nil {
		t.Errorf("an open API with gateway auth answers")
	}
}

func TestExportRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    openapi.ExportInput
		field string
	}{
		{"no API", openapi.ExportInput{}, ""},
		{"a document that is not JSON", openapi.ExportInput{API: petsAPI(), Document: []byte("openapi: 3.0.0\n")}, "document"},
		{"a document that is a list", openapi.ExportInput{API: petsAPI(), Document: []byte(`[1]`)}, "document"},
		{"a document of two values", openapi.ExportInput{API: petsAPI(), Document: []byte(`{} {}`)}, "document"},
		{"a document too deep", openapi.ExportInput{API: petsAPI(), Document: []byte(`{"a":` + nested("[", "]", 200) + `}`)}, "document"},
		{"a bad method", openapi.ExportInput{API: petsAPI(), Operations: []openapi.Operation{{Method: "GET", Path: "/a"}, {Method: "FETCH", Path: "/a"}}}, "operations[1].method"},
		{"a path without a slash", openapi.ExportInput{API: petsAPI(), Operations: []openapi.Operation{{Method: "GET", Path: "a"}}}, "operations[0].path"},
		{"a bad template", openapi.ExportInput{API: petsAPI(), Operations: []openapi.Operation{{Method: "GET", Path: "/a/{b"}}}, "operations[0].path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := openapi.Export(c.in)
			var e *portico.Error
			if portico.ErrorCodeOf(err) != portico.EInvalid || !errors.As(err, &e) || e.Field != c.field {
				t.Errorf("%#v", err)
			}
		})
	}
}

// TestExportConverts checks what the conversion to OpenAPI 3.1 changes:
// OpenAPI 3.0's nullable and boolean bounds; Swagger 2.0's body and form
// parameters, files, collection formats, x-nullable and discriminators.
func TestExportConverts(t *testing.T) {
	v30 := `openapi: 3.0.3
info: {title: t, version: '1'}
servers: [{url: 'https://backend.example.com/v1'}]
security: [{backend: []}]
paths:
  /a:
    servers: [{url: 'https://other.example.com'}]
    get:
      security: [{backend: []}]
      servers: [{url: 'https://third.example.com'}]
      parameters:
        - {name: n, in: query, schema: {type: integer, minimum: 1, exclusiveMinimum: true, maximum: 9, exclusiveMaximum: false}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/A'}
              example: {nullable: true}
components:
  securitySchemes:
    backend: {type: http, scheme: basic}
  schemas:
    A:
      type: object
      properties:
        s: {type: string, nullable: true}
        l: {type: array, items: {type: integer, nullable: true}}
        o: {allOf: [{$ref: '#/components/schemas/B'}], nullable: true}
    B: {type: object, additionalProperties: {type: string, nullable: true}}
`
	m := export(t, v30)
	if list, _ := m["security"].([]any); at(m, "openapi") != "3.1.0" || len(list) != 2 {
		t.Errorf("openapi %v, security %v", m["openapi"], m["security"])
	}
	n := at(m, "paths", "/a", "get", "parameters").([]any)[0]
	if s := at(n, "schema"); !reflect.DeepEqual(s, map[string]any{"type": "integer", "exclusiveMinimum": 1.0, "maximum": 9.0}) {
		t.Errorf("bounds %v", s)
	}
	props := at(m, "components", "schemas", "A", "properties")
	if got := at(props, "s", "type"); !reflect.DeepEqual(got, []any{"string", "null"}) {
		t.Errorf("nullable string %v", got)
	}
	if got := at(props, "l", "items", "type"); !reflect.DeepEqual(got, []any{"integer", "null"}) {
		t.Errorf("nullable items %v", got)
	}
	if got := at(props, "o"); at(got, "nullable") != nil {
		t.Errorf("nullable without a type stays %v", got)
	}
	if got := at(m, "components", "schemas", "B", "additionalProperties", "type"); !reflect.DeepEqual(got, []any{"string", "null"}) {
		t.Errorf("additionalProperties %v", got)
	}
	if got := at(m, "paths", "/a", "get", "responses", "200", "content", "application/json", "example"); !reflect.DeepEqual(got, map[string]any{"nullable": true}) {
		t.Errorf("an example was changed: %v", got)
	}
	if at(m, "paths", "/a", "servers") != nil || at(m, "paths", "/a", "get", "servers") != nil || at(m, "paths", "/a", "get", "security") != nil ||
		at(m, "components", "securitySchemes", "backend") != nil {
		t.Errorf("the backend's servers or security are left: %v", m)
	}

	v2 := `swagger: '2.0'
info: {title: t, version: '1'}
host: backend.example.com
consumes: [application/json, application/xml]
produces: [application/json]
securityDefinitions: {backend: {type: basic}}
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, type: integer}
      - {name: trace, in: header, type: string}
    put:
      operationId: put
      parameters:
        - {name: trace, in: header, type: string, description: overridden}
        - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: multi}
        - {name: body, in: body, required: true, schema: {$ref: '#/definitions/Pet'}}
      responses:
        '200':
          description: ok
          schema: {$ref: '#/definitions/Pet'}
          headers: {X-Rate: {type: integer, description: rate}}
          examples: {application/json: {name: Rex}}
        default: {$ref: '#/responses/Error'}
  /pets/{id}/photo:
    post:
      consumes: [multipart/form-data]
      parameters:
        - {name: id, in: path, required: true, type: integer}
        - {name: file, in: formData, type: file, required: true}
        - {name: note, in: formData, type: string}
        - {$ref: '#/parameters/Body'}
      responses: {'204': {description: done}}
parameters:
  Body: {name: b, in: body, schema: {type: object}}
  Limit: {name: limit, in: query, type: integer, maximum: 100, exclusiveMaximum: true}
responses:
  Error: {description: error, schema: {$ref: '#/definitions/Error'}}
definitions:
  Pet:
    type: object
    discriminator: kind
    required: [kind]
    properties:
      kind: {type: string}
      name: {type: string, x-nullable: true}
      tuple: {type: array, items: [{type: string}, {type: integer}]}
  Error: {type: object}
`
	m = export(t, v2)
	put := at(m, "paths", "/pets/{id}", "put")
	var params []string
	for _, p := range at(put, "parameters").([]any) {
		params = append(params, at(p, "in").(string)+":"+at(p, "name").(string))
	}
	if !slices.Equal(params, []string{"path:id", "header:trace", "query:tags"}) {
		t.Errorf("parameters %q", params)
	}
	ps := at(put, "parameters").([]any)
	if at(ps[1], "description") != "overridden" || at(ps[2], "explode") != true || at(ps[2], "style") != "form" || at(ps[0], "required") != true {
		t.Errorf("parameters %v", ps)
	}
	if got := keys(at(put, "requestBody", "content")); !slices.Equal(got, []string{"application/json", "application/xml"}) {
		t.Errorf("body media types %q", got)
	}
	if at(put, "requestBody", "required") != true || at(put, "requestBody", "content", "application/json", "schema", "$ref") != "#/components/schemas/Pet" {
		t.Errorf("body %v", at(put, "requestBody"))
	}
	r200 := at(put, "responses", "200")
	if at(r200, "content", "application/json", "schema", "$ref") != "#/components/schemas/Pet" ||
		!reflect.DeepEqual(at(r200, "content", "application/json", "example"), map[string]any{"name": "Rex"}) ||
		at(r200, "headers", "X-Rate", "schema", "type") != "integer" {
		t.Errorf("response %v", r200)
	}
	if at(put, "responses", "default", "$ref") != "#/components/responses/Error" {
		t.Errorf("default %v", at(put, "responses", "default"))
	}
	photo := at(m, "paths", "/pets/{id}/photo", "post")
	form := at(photo, "requestBody", "content", "multipart/form-data", "schema")
	if at(form, "properties", "file", "format") != "binary" || at(form, "properties", "file", "type") != "string" ||
		!reflect.DeepEqual(at(form, "required"), []any{"file"}) {
		t.Errorf("form %v", at(photo, "requestBody"))
	}
	pet := at(m, "components", "schemas", "Pet")
	if !reflect.DeepEqual(at(pet, "discriminator"), map[string]any{"propertyName": "kind"}) ||
		!reflect.DeepEqual(at(pet, "properties", "name", "type"), []any{"string", "null"}) ||
		at(pet, "properties", "tuple", "prefixItems") == nil || at(pet, "properties", "tuple", "items") != nil {
		t.Errorf("schema %v", pet)
	}
	if at(m, "components", "requestBodies", "Body") == nil || at(m, "components", "parameters", "Body") != nil ||
		!reflect.DeepEqual(at(m, "components", "parameters", "Limit", "schema"), map[string]any{"type": "integer", "exclusiveMaximum": 100.0}) ||
		at(m, "components", "responses", "Error", "content", "application/json", "schema", "$ref") != "#/components/schemas/Error" {
		t.Errorf("components %v", at(m, "components"))
	}
	for _, k := range []string{"swagger", "host", "consumes", "produces", "securityDefinitions", "definitions", "parameters", "responses"} {
		if m[k] != nil {
			t.Errorf("%s is left", k)
		}
	}
}

// export parses doc, exports it as petsAPI with every auth method, and
// checks that the export parses too.
func export(t *testing.T, doc string) map[string]any {
	t.Helper()
	s, err := openapi.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := openapi.Export(openapi.ExportInput{API: petsAPI(portico.AuthAPIKey), FrontDoor: "https://gw.example.com", Document: s.Document})
	if err != nil {
		t.Fatal(err)
	}
	again, err := openapi.Parse(out)
	if err != nil {
		t.Fatalf("the export does not parse: %v\n%s", err, out)
	}
	if !slices.Equal(opKeys(again), opKeys(s)) {
		t.Errorf("operations %q, want %q", opKeys(again), opKeys(s))
	}
	return decode(t, out)
}

// TestExportLinkServers: a link's server, which names a backend as the
// document's servers do, is not exported; the link is.
func TestExportLinkServers(t *testing.T) {
	doc := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok",
"links":{"next":{"operationId":"b","server":{"url":"http://10.7.7.7/link"}}}}}}},"/b":{"get":{"operationId":"b","responses":{"200":{"description":"ok"}}}}},
"components":{"links":{"L":{"operationRef":"#/paths/~1b/get","server":{"url":"http://10.8.8.8/"}}}}}`)
	spec, err := openapi.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := openapi.Export(openapi.ExportInput{API: &portico.API{Name: "t", Version: "1", Context: "/t"}, Document: spec.Document})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "10.7.7.7") || strings.Contains(string(out), "10.8.8.8") || !strings.Contains(string(out), `"next"`) {
		t.Errorf("export:\n%s", out)
	}
}
