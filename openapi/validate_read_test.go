package openapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico/openapi"
)

// readDoc is an OpenAPI 3.1 document whose operations take each part of
// a request the validator used to let through unchecked.
const readDoc = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
"/items":{"get":{"parameters":[
	{"name":"filter","in":"query","style":"deepObject","schema":{"type":"object","additionalProperties":false,
		"properties":{"color":{"type":"string","enum":["red","blue"]},"size":{"type":"integer","maximum":10}}}},
	{"name":"q","in":"query","content":{"application/json":{"schema":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}}}},
	{"name":"t","in":"query","content":{"text/plain":{"schema":{"type":"string","maxLength":3}}}}],"responses":{}}},
"/points":{"get":{"parameters":[
	{"name":"point","in":"query","required":true,"schema":{"type":"object","required":["x","y"],"properties":{"x":{"type":"integer"},"y":{"type":"integer"}}}},
	{"name":"page","in":"query","schema":{"type":"integer"}}],"responses":{}}},
"/label/{ids}":{"get":{"parameters":[{"name":"ids","in":"path","required":true,"style":"label","explode":true,"schema":{"type":"array","items":{"type":"integer"}}}],"responses":{}}},
"/matrix/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"style":"matrix","schema":{"type":"integer"}}],"responses":{}}},
"/form":{"post":{"requestBody":{"required":true,"content":{
	"application/x-www-form-urlencoded":{"schema":{"$ref":"#/components/schemas/Person"}},
	"multipart/form-data":{"schema":{"$ref":"#/components/schemas/Person"}}}},"responses":{}}},
"/text":{"post":{"requestBody":{"content":{
	"text/plain":{"schema":{"type":"string","maxLength":5,"pattern":"^[a-z]+$"}},
	"application/octet-stream":{"schema":{"type":"string","format":"binary","maxLength":10}},
	"application/xml":{"schema":{"$ref":"#/components/schemas/Person"}}}},"responses":{}}},
"/range":{"post":{"requestBody":{"content":{"application/*":{"schema":{"type":"object","required":["a"]}}}},"responses":{}}},
"/any":{"post":{"requestBody":{"content":{"*/*":{"schema":{"type":"object","required":["a"]}}}},"responses":{}}},
"/upload":{"post":{"requestBody":{"content":{"*/*":{"schema":{"type":"string","format":"binary","maxLength":4}}}},"responses":{}}},
"/formats":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object","properties":{
	"dt":{"type":"string","format":"date-time"},"d":{"type":"string","format":"date"},"e":{"type":"string","format":"email"},
	"u":{"type":"string","format":"uuid"},"uri":{"type":"string","format":"uri"},"v4":{"type":"string","format":"ipv4"},
	"v6":{"type":"string","format":"ipv6"},"i32":{"type":"integer","format":"int32"},"i64":{"type":"integer","format":"int64"},
	"pw":{"type":"string","format":"password"}}}}}},"responses":{}}}},
"components":{"schemas":{"Person":{"type":"object","required":["name"],"properties":{
	"name":{"type":"string","maxLength":5},"age":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"type":"string"}},
	"meta":{"type":"object","properties":{"k":{"type":"integer"}}},"photo":{"type":"string","format":"binary","maxLength":4}}}}}}`

// swaggerForm is a Swagger 2.0 document with form fields, converted to a
// form body with their collectionFormat.
const swaggerForm = `{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{
"/form":{"post":{"consumes":["application/x-www-form-urlencoded"],"parameters":[
	{"name":"name","in":"formData","required":true,"type":"string"},
	{"name":"ids","in":"formData","type":"array","items":{"type":"integer"}},
	{"name":"ssv","in":"formData","type":"array","collectionFormat":"ssv","items":{"type":"integer"}}],"responses":{"200":{"description":"ok"}}}},
"/p/{ids}":{"get":{"parameters":[{"name":"ids","in":"path","required":true,"type":"array","collectionFormat":"pipes","items":{"type":"integer"}}],
	"responses":{"200":{"description":"ok"}}}},
"/file":{"post":{"consumes":["multipart/form-data"],"parameters":[
	{"name":"file","in":"formData","type":"file","required":true},
	{"name":"n","in":"formData","type":"integer"}],"responses":{"200":{"description":"ok"}}}}}}`

type readCase struct {
	name        string
	method, url string
	ct          string
	body        string
	want        []string // "in name", in order; none: valid
	msg         string   // a part of the first problem's message
}

func multipartBody(t *testing.T, parts [][3]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts { // name, content type, content
		h := map[string][]string{"Content-Disposition": {`form-data; name="` + p[0] + `"`}}
		if p[1] != "" {
			h["Content-Type"] = []string{p[1]}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[2]))
	}
	w.Close()
	return w.FormDataContentType(), b.String()
}

func runReadCases(t *testing.T, v *openapi.Validator, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
			if c.ct != "" {
				r.Header.Set("Content-Type", c.ct)
			}
			ps := v.Validate(r, r.URL.Path, []byte(c.body))
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
}

// TestValidateReads: each part of a request that Validate let through
// unchecked (parameters in deepObject, exploded form, label and matrix
// styles or by content; form, multipart, text and binary bodies; media
// ranges; a body where the document declares none; formats) is now read
// and checked, or refused.
func TestValidateReads(t *testing.T) {
	v, err := openapi.NewValidator([]byte(readDoc))
	if err != nil {
		t.Fatal(err)
	}
	q := url.QueryEscape
	mpValid, mpValidBody := multipartBody(t, [][3]string{{"name", "", "ada"}, {"age", "", "3"}, {"tags", "", "a"}, {"tags", "", "b"},
		{"meta", "application/json", `{"k":1}`}, {"photo", "image/png", "\x89PNG"}})
	mpBad, mpBadBody := multipartBody(t, [][3]string{{"name", "", "ada"}, {"age", "", "x"}, {"meta", "", `{"k":"x"}`}, {"photo", "", "12345"}})
	mpNoJSON, mpNoJSONBody := multipartBody(t, [][3]string{{"name", "", "ada"}, {"meta", "", `{"k":`}})
	mpXML, mpXMLBody := multipartBody(t, [][3]string{{"name", "", "ada"}, {"meta", "application/xml", `<k>1</k>`}})
	cases := []readCase{
		{"deepObject", "GET", "/items?filter[color]=red&filter[size]=3", "", "", nil, ""},
		{"deepObject, a member not in its enum", "GET", "/items?filter[color]=green", "", "", []string{"query filter"}, "value must be one of"},
		{"deepObject, a member over its maximum", "GET", "/items?filter[size]=30", "", "", []string{"query filter"}, "maximum"},
		{"deepObject, a member not declared", "GET", "/items?filter[shape]=x", "", "", []string{"query filter"}, "additional properties"},
		{"deepObject, nested", "GET", "/items?filter[a][b]=1", "", "", []string{"query filter"}, "one level"},
		{"content JSON", "GET", "/items?q=" + q(`{"n":1}`), "", "", nil, ""},
		{"content JSON against its schema", "GET", "/items?q=" + q(`{"n":"x"}`), "", "", []string{"query q"}, "want integer"},
		{"content JSON that is not JSON", "GET", "/items?q=" + q(`{"n":`), "", "", []string{"query q"}, "not valid JSON"},
		{"content text", "GET", "/items?t=abcd", "", "", []string{"query t"}, "maxLength"},
		{"exploded form object", "GET", "/points?x=1&y=2&page=3", "", "", nil, ""},
		{"exploded form object, a member of the wrong type", "GET", "/points?x=1&y=a&page=3", "", "", []string{"query point"}, "want integer"},
		{"exploded form object, a member missing", "GET", "/points?x=1", "", "", []string{"query point"}, "missing property 'y'"},
		{"exploded form object, missing", "GET", "/points?page=1", "", "", []string{"query point"}, "missing"},
		{"label", "GET", "/label/.1.2.3", "", "", nil, ""},
		{"label, an item bad", "GET", "/label/.1.x", "", "", []string{"path ids"}, "at /1: got string, want integer"},
		{"label without its dot", "GET", "/label/1", "", "", []string{"path ids"}, "starts with"},
		{"matrix", "GET", "/matrix/;id=5", "", "", nil, ""},
		{"matrix, bad", "GET", "/matrix/;id=x", "", "", []string{"path id"}, "want integer"},
		{"matrix without its name", "GET", "/matrix/5", "", "", []string{"path id"}, "matrix-style"},
		{"form", "POST", "/form", "application/x-www-form-urlencoded", "name=ada&age=3&tags=a&tags=b&meta=" + q(`{"k":1}`), nil, ""},
		{"form against its schema", "POST", "/form", "application/x-www-form-urlencoded", "name=adalovelace&age=-1",
			[]string{"body /age", "body /name"}, "minimum"},
		{"form without a required field", "POST", "/form", "application/x-www-form-urlencoded", "age=3", []string{"body "}, "missing property 'name'"},
		{"form with a field twice", "POST", "/form", "application/x-www-form-urlencoded", "name=a&name=b", []string{"body /name"}, "given 2 times"},
		{"form with an object field not JSON", "POST", "/form", "application/x-www-form-urlencoded", "name=a&meta=x", []string{"body /meta"}, "not valid JSON"},
		{"form that does not parse", "POST", "/form", "application/x-www-form-urlencoded", "name=%zz", []string{"body "}, "does not parse"},
		{"multipart", "POST", "/form", mpValid, mpValidBody, nil, ""},
		{"multipart against its schema", "POST", "/form", mpBad, mpBadBody, []string{"body /age", "body /meta/k", "body /photo"}, "want integer"},
		{"multipart with a JSON part that is not JSON", "POST", "/form", mpNoJSON, mpNoJSONBody, []string{"body /meta"}, "not valid JSON"},
		{"multipart with an XML part for a JSON field", "POST", "/form", mpXML, mpXMLBody, []string{"body /meta"}, "cannot check"},
		{"multipart without its boundary", "POST", "/form", "multipart/form-data", mpValidBody, []string{"header Content-Type"}, "boundary"},
		{"multipart that does not parse", "POST", "/form", mpValid, "--nothing", []string{"body "}, "does not parse"},
		{"text", "POST", "/text", "text/plain", "abc", nil, ""},
		{"text against its schema", "POST", "/text", "text/plain; charset=utf-8", "ABCDEF", []string{"body ", "body "}, "maxLength"},
		{"text in another charset", "POST", "/text", "text/plain; charset=iso-8859-1", "abc", []string{"header Content-Type"}, "UTF-8"},
		{"text that is not UTF-8", "POST", "/text", "text/plain", "ab\xff", []string{"body "}, "not UTF-8"},
		{"binary", "POST", "/text", "application/octet-stream", "\x00\x01\x02", nil, ""},
		{"binary over its maxLength", "POST", "/text", "application/octet-stream", "01234567890", []string{"body "}, "over the 10 of maxLength"},
		{"XML against a schema", "POST", "/text", "application/xml", "<name>a</name>", []string{"body "}, "cannot check a application/xml body"},
		{"a range in the document", "POST", "/range", "application/json", `{}`, []string{"body "}, "missing property 'a'"},
		{"a range in the document, conforming", "POST", "/range", "application/vnd.x+json", `{"a":1}`, nil, ""},
		{"*/* in the document", "POST", "/any", "application/json", `{"b":1}`, []string{"body "}, "missing property 'a'"},
		{"*/* in the document, text", "POST", "/any", "text/plain", `a`, []string{"body "}, "want object"},
		{"*/* binary", "POST", "/upload", "image/png", "\x89PNG", nil, ""},
		{"*/* binary over its maxLength", "POST", "/upload", "application/json", `{"a":1}`, []string{"body "}, "over the 4"},
		{"a range as the request's type", "POST", "/range", "application/*", `{"a":1}`, []string{"header Content-Type"}, "is a range"},
		{"a body where the document declares none", "GET", "/items", "application/json", `{}`, []string{"body "}, "takes no body"},
		{"formats", "POST", "/formats", "application/json", `{"dt":"2024-02-29T12:00:00Z","d":"2024-02-29","e":"ada@example.com",` +
			`"u":"123e4567-e89b-12d3-a456-426614174000","uri":"https://example.com/a","v4":"192.0.2.1","v6":"2001:db8::1",` +
			`"i32":2147483647,"i64":-9223372036854775808,"pw":"anything"}`, nil, ""},
		{"formats broken", "POST", "/formats", "application/json", `{"dt":"2024-02-30T12:00:00Z","d":"2024-13-01","e":"ada.example.com",` +
			`"u":"123e4567","uri":"/relative","v4":"192.0.2.256","v6":"2001:db8:::1","i32":2147483648,"i64":9223372036854775808}`,
			[]string{"body /d", "body /dt", "body /e", "body /i32", "body /i64", "body /u", "body /uri", "body /v4", "body /v6"}, "not a valid date"},
	}
	runReadCases(t, v, cases)
}

// TestValidateSwaggerForm: Swagger 2.0 form fields are checked as the
// form body they become, arrays by their collectionFormat (csv when not
// given), a file field in a multipart body; a path array keeps its
// collectionFormat.
func TestValidateSwaggerForm(t *testing.T) {
	s, err := openapi.Parse([]byte(swaggerForm))
	if err != nil {
		t.Fatal(err)
	}
	v, err := openapi.NewValidator(s.Document)
	if err != nil {
		t.Fatal(err)
	}
	file, fileBody := multipartBody(t, [][3]string{{"file", "application/octet-stream", "\x00\x01"}, {"n", "", "2"}})
	badN, badNBody := multipartBody(t, [][3]string{{"file", "", "x"}, {"n", "", "two"}})
	noFile, noFileBody := multipartBody(t, [][3]string{{"n", "", "2"}})
	form := "application/x-www-form-urlencoded"
	runReadCases(t, v, []readCase{
		{"csv array", "POST", "/form", form, "name=a&ids=1,2,3&ssv=" + url.QueryEscape("4 5"), nil, ""},
		{"csv array, an item bad", "POST", "/form", form, "name=a&ids=1,x", []string{"body /ids/1"}, "want integer"},
		{"ssv array, an item bad", "POST", "/form", form, "name=a&ssv=" + url.QueryEscape("4 y"), []string{"body /ssv/1"}, "want integer"},
		{"a required field missing", "POST", "/form", form, "ids=1", []string{"body "}, "missing property 'name'"},
		{"as JSON", "POST", "/form", "application/json", `{"name":"a"}`, []string{"header Content-Type"}, "takes no application/json body"},
		{"a path array in pipes", "GET", "/p/1|2", "", "", nil, ""},
		{"a path array in pipes, an item bad", "GET", "/p/1|x", "", "", []string{"path ids"}, "at /1: got string, want integer"},
		{"file", "POST", "/file", file, fileBody, nil, ""},
		{"file, another field bad", "POST", "/file", badN, badNBody, []string{"body /n"}, "want integer"},
		{"file missing", "POST", "/file", noFile, noFileBody, []string{"body "}, "missing property 'file'"},
	})
}

// TestValidateCancelled: a request whose context is done is not checked
// further, and is not taken as conforming.
func TestValidateCancelled(t *testing.T) {
	v, err := openapi.NewValidator([]byte(readDoc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/form", strings.NewReader("name=a"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ps := v.Validate(r, "/form", []byte("name=a"))
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "ended before it was checked") {
		t.Errorf("problems %+v, want the request's end", ps)
	}
}
