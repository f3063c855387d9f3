package openapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico/openapi"
)

// FuzzValidate sends requests of every kind to a Validator of the
// orders document and one of readDoc (parameter styles, forms, multipart,
// text and binary bodies). Validate must not panic, must list at most
// MaxProblems problems, each in a known place with a message, and must
// never take for JSON a body that is not (the orders PUT's body is JSON).
func FuzzValidate(f *testing.F) {
	v := newValidator(f, ordersDocs[0])
	reads, err := openapi.NewValidator([]byte(readDoc))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range validateCases() {
		u, _ := url.Parse(c.url)
		f.Add(c.method, u.Path, u.RawQuery, c.header["X-Trace"], c.header["Content-Type"], []byte(c.body))
	}
	f.Add("PUT", "/orders/1", "dry_run=true", "", "application/json", []byte(`{"customer":"\ud800","items":[]}`))
	f.Add("PUT", "/orders/1", "dry_run=true", "", "application/json", []byte("{\"customer\":\"\xff\",\"items\":[]}"))
	f.Add("GET", "/files/{name}.json", "", "", "", []byte(nil))
	f.Add("GET", "/items", "filter[color]=red&filter[size]=3&q=%7B%22n%22%3A1%7D", "", "", []byte(nil))
	f.Add("GET", "/points", "x=1&y=2&page=3", "", "", []byte(nil))
	f.Add("GET", "/label/.1.2", "", "", "", []byte(nil))
	f.Add("GET", "/matrix/;id=5", "", "", "", []byte(nil))
	f.Add("POST", "/form", "", "", "application/x-www-form-urlencoded", []byte("name=ada&age=3&tags=a&tags=b&meta=%7B%7D"))
	f.Add("POST", "/form", "", "", "multipart/form-data; boundary=B",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nada\r\n--B\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"k\":1}\r\n--B--\r\n"))
	f.Add("POST", "/text", "", "", "text/plain; charset=utf-8", []byte("abc"))
	f.Add("POST", "/upload", "", "", "image/png", []byte("\x89PNG"))
	f.Fuzz(func(t *testing.T, method, path, query, trace, ct string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method = method
		r.URL.Path, r.URL.RawQuery = path, query
		if trace != "" {
			r.Header["X-Trace"] = []string{trace}
		}
		if ct != "" {
			r.Header["Content-Type"] = []string{ct}
		}
		for _, v := range []*openapi.Validator{reads, v} {
			ps := v.Validate(r, path, body)
			if len(ps) > openapi.MaxProblems {
				t.Fatalf("%d problems", len(ps))
			}
			for _, p := range ps {
				if !slices.Contains([]string{"path", "query", "header", "cookie", "body"}, p.In) || p.Message == "" {
					t.Fatalf("problem %+v", p)
				}
			}
		}
		ps := v.Validate(r, path, body)
		if method == "PUT" && len(body) > 0 && strings.HasPrefix(ct, "application/json") && !json.Valid(body) && len(ps) < openapi.MaxProblems &&
			strings.HasPrefix(path, "/orders/") && strings.Count(path, "/") == 2 && path != "/orders/" && path != "/orders/latest" {
			if !slices.ContainsFunc(ps, func(p openapi.Problem) bool { return p.In == "body" || p.Name == "Content-Type" }) {
				t.Fatalf("a body that is not JSON passed: %q %+v", body, ps)
			}
		}
	})
}
