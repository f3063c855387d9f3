package admin_test

import (
	"net/http"
	"testing"

	"github.com/portico-gw/portico"
)

// TestNamesWithoutControls: names and versions of applications, plans and
// APIs refuse control characters and bidirectional overrides, naming the
// field; descriptions take tabs and line breaks only. (Invalid
// UTF-8 in a JSON body reads as U+FFFD.)
func TestNamesWithoutControls(t *testing.T) {
	e := newEnv(t)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	for _, bad := range []string{"ctl\x01x", "esc\x1b[31mred", "bell\x07", "two\r\nlines", "tab\tname", "nul\x00", "del\x7f", "c1\u0085",
		"rlo\u202Eevil", "lri\u2066x"} {
		sub.do("POST", "/api/v1/applications", `{"name":"`+jsonEscape(bad)+`"}`).wantErr(http.StatusBadRequest, "name")
		plan := goldPlan(bad)
		pub.do("POST", "/api/v1/plans", plan).wantErr(http.StatusBadRequest, "name")
		api := weatherAPI("/w")
		api["version"] = bad
		pub.do("POST", "/api/v1/apis", api).wantErr(http.StatusBadRequest, "version")
	}
	sub.do("POST", "/api/v1/applications", map[string]any{"name": "ok", "description": "two\r\nlines\tand a tab"}).want(http.StatusCreated)
	sub.do("POST", "/api/v1/applications", map[string]any{"name": "ok2", "description": "esc\x1b[31m"}).wantErr(http.StatusBadRequest, "description")
	sub.do("POST", "/api/v1/applications", map[string]any{"name": "Überwetter ☀ 天气"}).want(http.StatusCreated)
}

// jsonEscape writes s into a JSON string literal byte for byte, so that
// invalid UTF-8 reaches the server as it is.
func jsonEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, []byte(`\u00`)...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
