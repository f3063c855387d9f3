package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// TestContextNesting: a publisher cannot place an API under or over
// another publisher's (it would receive that publisher's traffic), on
// create or update, nor an admin by changing an owner; a publisher nests
// its own APIs; only an admin nests across owners, with allow_nested.
func TestContextNesting(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, pubID := e.addUser("pub", portico.RolePublisher)
	pub2, pub2ID := e.addUser("pub2", portico.RolePublisher)
	api := func(ctx string, extra map[string]any) map[string]any {
		b := weatherAPI(ctx)
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	theirs := pub.do("POST", "/api/v1/apis", api("/theirs/v1", nil)).want(http.StatusCreated).str("id")

	// Another owner: not under, not over, not the same.
	for _, ctx := range []string{"/theirs/v1/orders", "/theirs/v1/orders/x", "/theirs", "/theirs/v1"} {
		res := pub2.do("POST", "/api/v1/apis", api(ctx, nil)).wantErr(http.StatusConflict, "context")
		if !strings.Contains(string(res.body), ctx) {
			t.Errorf("%s: %s", ctx, res.body)
		}
	}
	// Segment by segment: neighbours are fine.
	mine := pub2.do("POST", "/api/v1/apis", api("/theirs/v1x", nil)).want(http.StatusCreated).str("id")
	pub2.do("POST", "/api/v1/apis", api("/theirsx", nil)).want(http.StatusCreated)
	// Not by an update either.
	pub2.do("PUT", "/api/v1/apis/"+mine, api("/theirs/v1/x", nil)).wantErr(http.StatusConflict, "context")
	pub2.do("PUT", "/api/v1/apis/"+mine, api("/theirs", nil)).wantErr(http.StatusConflict, "context")
	// A publisher may not ask to nest.
	pub2.do("POST", "/api/v1/apis", api("/theirs/v1/orders", map[string]any{"allow_nested": true})).
		wantErr(http.StatusForbidden, "allow_nested")

	// The same owner nests its own APIs.
	orders := pub.do("POST", "/api/v1/apis", api("/theirs/v1/orders", nil)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis", api("/theirs/v1/orders/deep", nil)).want(http.StatusCreated)
	// But not over pub2's /theirs/v1x.
	pub.do("POST", "/api/v1/apis", api("/theirs", nil)).wantErr(http.StatusConflict, "context")

	// An admin giving a nested API to another owner needs allow_nested.
	adm.do("PUT", "/api/v1/apis/"+orders, api("/theirs/v1/orders", map[string]any{"owner": pub2ID})).
		wantErr(http.StatusConflict, "context")
	adm.do("POST", "/api/v1/apis", api("/theirs/v1/admin", map[string]any{"owner": pub2ID})).
		wantErr(http.StatusConflict, "context")
	adm.do("PUT", "/api/v1/apis/"+orders, api("/theirs/v1/orders", map[string]any{"owner": pub2ID, "allow_nested": true})).
		want(http.StatusOK)
	if got := e.cv.Load().APIs.Get(orders).Owner; got != pub2ID {
		t.Fatalf("owner %s, want pub2", got)
	}
	// Nesting allowed once stays: both owners edit other fields freely.
	pub2.do("PUT", "/api/v1/apis/"+orders, api("/theirs/v1/orders", map[string]any{"description": "pub2's"})).want(http.StatusOK)
	pub.do("PUT", "/api/v1/apis/"+theirs, api("/theirs/v1", map[string]any{"description": "pub's"})).want(http.StatusOK)
	// But pub nests nothing new under pub2's API.
	pub.do("POST", "/api/v1/apis", api("/theirs/v1/orders/mine", nil)).wantErr(http.StatusConflict, "context")
	if got := e.cv.Load().APIs.Get(theirs).Owner; got != pubID {
		t.Fatalf("owner of /theirs/v1 %s", got)
	}
}

// TestContextNestingHidden: a clash with an API the caller may not see (a
// draft) is refused without naming it.
func TestContextNestingHidden(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	pub2, _ := e.addUser("pub2", portico.RolePublisher)
	pub.do("POST", "/api/v1/apis", weatherAPI("/zone/secret-draft")).want(http.StatusCreated)
	res := pub2.do("POST", "/api/v1/apis", weatherAPI("/zone")).wantErr(http.StatusConflict, "context")
	if strings.Contains(string(res.body), "secret-draft") || strings.Contains(string(res.body), "weather") {
		t.Errorf("the answer names a draft the caller cannot see: %s", res.body)
	}
}
