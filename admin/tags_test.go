package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// TestAPITags: an API's tags are checked, shown to who sees the API (also
// anonymously), searched by ?q= and filtered by ?tag=, in any case.
func TestAPITags(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	plan := pub.do("POST", "/api/v1/plans", goldPlan("gold")).want(http.StatusCreated).str("id")
	body := weatherAPI("/weather", plan)
	for _, c := range []struct {
		tags  []string
		field string
	}{
		{[]string{""}, "tags[0]"},
		{[]string{"ok", " padded"}, "tags[1]"},
		{[]string{"weather", "Weather"}, "tags[1]"},
		{[]string{"semi;colon"}, "tags[0]"},
		{[]string{"line\nbreak"}, "tags[0]"},
		{[]string{"<script>"}, "tags[0]"},
		{[]string{strings.Repeat("x", portico.MaxTagLength+1)}, "tags[0]"},
		{strings.Split(strings.Repeat("t,", portico.MaxTags+1)[:2*(portico.MaxTags+1)-1], ","), "tags"},
	} {
		body["tags"] = c.tags
		pub.do("POST", "/api/v1/apis", body).wantErr(http.StatusBadRequest, c.field)
	}
	body["tags"] = []string{"Weather", "géo", "C#", "v1.2"}
	id := pub.do("POST", "/api/v1/apis", body).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(http.StatusOK)
	other := weatherAPI("/maps", plan)
	other["name"] = "maps"
	pub.do("POST", "/api/v1/apis", other).want(http.StatusCreated)

	got := e.anon().do("GET", "/api/v1/apis/"+id, nil).want(http.StatusOK).obj()
	if tags, _ := got["tags"].([]any); len(tags) != 4 || tags[1] != "géo" {
		t.Errorf("the tags as a visitor sees them: %v", got["tags"])
	}
	for q, want := range map[string]int{"?q=géo": 1, "?q=weather": 1, "?tag=weather": 1, "?tag=WEATHER": 1, "?tag=c%23": 1, "?tag=wea": 0, "?tag=maps": 0} {
		if l := items[map[string]any](pub.do("GET", "/api/v1/apis"+q, nil).want(http.StatusOK)); l.Total != want {
			t.Errorf("GET /apis%s: %d APIs, want %d", q, l.Total, want)
		}
	}
}
