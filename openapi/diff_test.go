package openapi_test

import (
	"slices"
	"testing"

	"github.com/portico-gw/portico/openapi"
)

func TestDiff(t *testing.T) {
	parse := func(paths string) *openapi.Spec {
		s, err := openapi.Parse([]byte(head30 + "paths:\n" + paths))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := parse("  /a: {get: {operationId: a}, post: {}}\n  /b/{id}: {get: {}}\n")
	cur := parse("  /a: {get: {operationId: renamed}, put: {}}\n  /b/{key}: {get: {}}\n  /c: {get: {}}\n")
	added, removed := openapi.Diff(old, cur)
	var got []string
	for _, o := range added {
		got = append(got, "+"+o.Method+" "+o.Path)
	}
	for _, o := range removed {
		got = append(got, "-"+o.Method+" "+o.Path)
	}
	if want := []string{"+PUT /a", "+GET /b/{key}", "+GET /c", "-POST /a", "-GET /b/{id}"}; !slices.Equal(got, want) {
		t.Errorf("diff %q, want %q", got, want)
	}
	if a, r := openapi.Diff(old, old); a != nil || r != nil {
		t.Errorf("a document against itself: %v %v", a, r)
	}
	if a, r := openapi.Diff(nil, old); len(a) != 3 || r != nil {
		t.Errorf("from nothing: %v %v", a, r)
	}
	if a, r := openapi.Diff(old, nil); a != nil || len(r) != 3 {
		t.Errorf("to nothing: %v %v", a, r)
	}
}
