package admin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestConfigApplyParseSlot: an apply reads its file in one of the node's
// parse slots, as an import reads its document: with every slot taken,
// it waits, and gives up with 503 when its request ends.
func TestConfigApplyParseSlot(t *testing.T) {
	s := &Server{}
	s.init()
	for range maxParses {
		release, err := s.parseSlot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	admin := &portico.User{ID: "u-admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}}
	c := &call{user: admin, cfg: portico.NewConfig().With(1, portico.Put(admin))}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/config/apply?dry_run=true", strings.NewReader("format_version: 1\nplans: []\n"))
	w := httptest.NewRecorder()
	err := s.applyConfig(w, r, c)
	if portico.ErrorCodeOf(err) != portico.EUnavailable || !strings.Contains(portico.ErrorMessageOf(err), "parsing other documents") {
		t.Fatalf("apply with every parse slot taken: %v", err)
	}
}
