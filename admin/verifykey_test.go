package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// TestVerifyKey: the owner of an application learns which of its keys a
// text is; a key of another application, a made-up one, an empty or
// oversized one, and a caller who does not manage the application learn
// nothing.
func TestVerifyKey(t *testing.T) {
	e := newEnv(t)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	other, _ := e.addUser("other", portico.RoleSubscriber)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	otherApp := other.do("POST", "/api/v1/applications", map[string]any{"name": "theirs"}).want(http.StatusCreated).str("id")
	k1 := sub.do("POST", "/api/v1/applications/"+app+"/keys", nil).want(http.StatusCreated).obj()
	k2 := sub.do("POST", "/api/v1/applications/"+app+"/keys", nil).want(http.StatusCreated).obj()
	theirs := other.do("POST", "/api/v1/applications/"+otherApp+"/keys", nil).want(http.StatusCreated).str("key")
	verify := "/api/v1/applications/" + app + "/keys/verify"

	for _, k := range []map[string]any{k1, k2} {
		got := sub.do("POST", verify, map[string]any{"key": k["key"]}).want(http.StatusOK).obj()
		if got["id"] != k["id"] || got["key"] != nil || got["hash"] != nil {
			t.Errorf("verify %v: %v", k["id"], got)
		}
	}
	e.admin().do("POST", verify, map[string]any{"key": k1["key"]}).want(http.StatusOK)
	// A revoked key is still the application's: the answer says so.
	sub.do("DELETE", "/api/v1/applications/"+app+"/keys/"+k2["id"].(string), nil).want(http.StatusNoContent)
	if got := sub.do("POST", verify, map[string]any{"key": k2["key"]}).want(http.StatusOK).obj(); got["revoked_at"] == nil {
		t.Errorf("a revoked key verified as %v, without revoked_at", got)
	}

	sub.do("POST", verify, map[string]any{"key": theirs}).wantErr(http.StatusNotFound, "key")
	sub.do("POST", verify, map[string]any{"key": k1["key"].(string) + "x"}).wantErr(http.StatusNotFound, "key")
	sub.do("POST", verify, map[string]any{"key": k1["prefix"]}).wantErr(http.StatusNotFound, "key")
	sub.do("POST", verify, map[string]any{"key": ""}).wantErr(http.StatusBadRequest, "key")
	sub.do("POST", verify, map[string]any{"key": strings.Repeat("k", 257)}).wantErr(http.StatusBadRequest, "key")
	sub.do("POST", verify, map[string]any{"key": k1["key"], "extra": 1}).want(http.StatusBadRequest)
	// Someone else's application: not found, whatever the key.
	other.do("POST", verify, map[string]any{"key": k1["key"]}).wantErr(http.StatusNotFound, "")
	e.anon().do("POST", verify, map[string]any{"key": k1["key"]}).want(http.StatusUnauthorized)
}
