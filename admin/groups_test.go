package admin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// groupOut is a group as the admin API shows it.
type groupOut struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     *[]string `json:"members"`
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, _ := e.addUser("pub", portico.RolePublisher)
	sub, subID := e.addUser("sub", portico.RoleSubscriber)
	_, annID := e.addUser("ann", portico.RoleSubscriber)

	var g groupOut
	adm.do("POST", "/api/v1/groups", map[string]any{"name": "Acme", "description": "partners", "members": []string{annID}}).
		want(http.StatusCreated).decode(&g)
	if g.ID == "" || g.Members == nil || !slices.Equal(*g.Members, []string{annID}) {
		t.Fatalf("created %+v", g)
	}
	path := "/api/v1/groups/" + g.ID

	t.Run("refusals", func(t *testing.T) {
		e := e.in(t)
		adm := e.admin()
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			field  string
		}{
			{"no name", map[string]any{"description": "x"}, http.StatusBadRequest, "name"},
			{"blank name", map[string]any{"name": "   "}, http.StatusBadRequest, "name"},
			{"long name", map[string]any{"name": strings.Repeat("n", 201)}, http.StatusBadRequest, "name"},
			{"long description", map[string]any{"name": "n", "description": strings.Repeat("d", 4001)}, http.StatusBadRequest, "description"},
			{"name taken in another case", map[string]any{"name": "ACME"}, http.StatusConflict, "name"},
			{"unknown member", map[string]any{"name": "n", "members": []string{annID, "nobody"}}, http.StatusBadRequest, "members[1]"},
			{"member twice", map[string]any{"name": "n", "members": []string{annID, annID}}, http.StatusBadRequest, "members[1]"},
			{"empty member", map[string]any{"name": "n", "members": []string{""}}, http.StatusBadRequest, "members[0]"},
			{"id", map[string]any{"name": "n", "id": "mine"}, http.StatusBadRequest, "id"},
			{"unknown field", map[string]any{"name": "n", "owner": "x"}, http.StatusBadRequest, "owner"},
			{"members not a list", map[string]any{"name": "n", "members": "ann"}, http.StatusBadRequest, "members"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.in(t).admin().do("POST", "/api/v1/groups", tc.body).wantErr(tc.status, tc.field)
			})
		}
		adm.do("PUT", path, map[string]any{"name": "acme", "id": "other"}).wantErr(http.StatusBadRequest, "id")
		adm.do("PUT", path, map[string]any{"name": ""}).wantErr(http.StatusBadRequest, "name")
		adm.do("PUT", "/api/v1/groups/nope", map[string]any{"name": "x"}).want(http.StatusNotFound)
		adm.do("GET", "/api/v1/groups/nope", nil).want(http.StatusNotFound)
		adm.do("DELETE", "/api/v1/groups/nope", nil).want(http.StatusNotFound)
		adm.do("POST", "/api/v1/groups/nope/members", map[string]any{"user": annID}).want(http.StatusNotFound)
		adm.do("POST", path+"/members", map[string]any{"user": "nobody"}).wantErr(http.StatusBadRequest, "user")
		adm.do("POST", path+"/members", map[string]any{}).wantErr(http.StatusBadRequest, "user")
		adm.do("DELETE", "/api/v1/groups/nope/members/"+annID, nil).want(http.StatusNotFound)
		adm.do("GET", "/api/v1/groups?q="+strings.Repeat("q", 201), nil).wantErr(http.StatusBadRequest, "q")
	})

	t.Run("non-admins", func(t *testing.T) {
		e := e.in(t)
		pub, sub := e.as("pub", "pub-secret"), e.as("sub", "sub-secret")
		// Subscribers see no group at all.
		sub.do("GET", "/api/v1/groups", nil).want(http.StatusForbidden)
		sub.do("GET", path, nil).want(http.StatusForbidden)
		e.anon().do("GET", "/api/v1/groups", nil).want(http.StatusUnauthorized)
		// Publishers see names, not members.
		l := items[groupOut](pub.do("GET", "/api/v1/groups", nil))
		if l.Total != 1 || l.Items[0].Name != "Acme" || l.Items[0].Members != nil {
			t.Errorf("publisher's list %+v", l)
		}
		var one groupOut
		pub.do("GET", path, nil).want(http.StatusOK).decode(&one)
		if one.Name != "Acme" || one.Members != nil {
			t.Errorf("publisher's group %+v", one)
		}
		// Neither changes groups.
		for _, c := range []*client{pub, sub} {
			c.do("POST", "/api/v1/groups", map[string]any{"name": "mine"}).want(http.StatusForbidden)
			c.do("PUT", path, map[string]any{"name": "mine"}).want(http.StatusForbidden)
			c.do("DELETE", path, nil).want(http.StatusForbidden)
			c.do("POST", path+"/members", map[string]any{"user": subID}).want(http.StatusForbidden)
			c.do("DELETE", path+"/members/"+annID, nil).want(http.StatusForbidden)
		}
		adm := e.admin()
		adm.do("GET", path, nil).want(http.StatusOK).decode(&one)
		if one.Name != "Acme" || !slices.Equal(*one.Members, []string{annID}) {
			t.Errorf("after refused changes: %+v", one)
		}
	})

	// Members: add by ID or username (twice changes nothing), remove.
	adm.do("POST", path+"/members", map[string]any{"user": subID}).want(http.StatusNoContent)
	adm.do("POST", path+"/members", map[string]any{"user": "sub"}).want(http.StatusNoContent)
	adm.do("GET", path, nil).want(http.StatusOK).decode(&g)
	if !slices.Equal(*g.Members, []string{annID, subID}) {
		t.Fatalf("members %v", *g.Members)
	}
	adm.do("DELETE", path+"/members/"+annID, nil).want(http.StatusNoContent)
	adm.do("DELETE", path+"/members/"+annID, nil).want(http.StatusNoContent)
	// A PUT without members keeps them; with members replaces them.
	adm.do("PUT", path, map[string]any{"name": "acme corp", "description": "d"}).want(http.StatusOK).decode(&g)
	if g.Name != "acme corp" || !slices.Equal(*g.Members, []string{subID}) {
		t.Fatalf("after PUT: %+v", g)
	}
	adm.do("PUT", path, map[string]any{"name": "acme corp", "members": []string{annID}}).want(http.StatusOK).decode(&g)
	if !slices.Equal(*g.Members, []string{annID}) {
		t.Fatalf("after PUT with members: %+v", g)
	}
	// Search.
	adm.do("POST", "/api/v1/groups", map[string]any{"name": "globex"}).want(http.StatusCreated)
	if l := items[groupOut](adm.do("GET", "/api/v1/groups?q=ACME", nil)); l.Total != 1 || l.Items[0].ID != g.ID {
		t.Errorf("q=ACME: %+v", l)
	}
	if l := items[groupOut](pub.do("GET", "/api/v1/groups", nil)); l.Total != 2 {
		t.Errorf("list: %+v", l)
	}

	// Deleting a user takes it out of its groups.
	adm.do("DELETE", "/api/v1/users/"+annID, nil).want(http.StatusNoContent)
	adm.do("GET", path, nil).want(http.StatusOK).decode(&g)
	if len(*g.Members) != 0 {
		t.Errorf("members after deleting the user: %v", *g.Members)
	}

	// A group an API lists cannot be deleted.
	plan := pub.do("POST", "/api/v1/plans", goldPlan("gold")).want(http.StatusCreated).str("id")
	body := weatherAPI("/partner", plan)
	body["visibility"], body["groups"] = "partner", []string{g.ID}
	api := pub.do("POST", "/api/v1/apis", body).want(http.StatusCreated).str("id")
	if !strings.Contains(string(adm.do("DELETE", path, nil).wantErr(http.StatusConflict, "").body), "weather") {
		t.Error("the 409 does not name the API")
	}
	// A PUT without groups keeps them; [] takes them off.
	delete(body, "groups")
	if gs, _ := pub.do("PUT", "/api/v1/apis/"+api, body).want(http.StatusOK).obj()["groups"].([]any); len(gs) != 1 || gs[0] != g.ID {
		t.Errorf("groups after a PUT without them: %v", gs)
	}
	adm.do("DELETE", path, nil).wantErr(http.StatusConflict, "")
	body["groups"] = []string{}
	pub.do("PUT", "/api/v1/apis/"+api, body).want(http.StatusOK)
	adm.do("DELETE", path, nil).want(http.StatusNoContent)
	adm.do("GET", path, nil).want(http.StatusNotFound)
	_ = sub
}

func TestAPIGroupsValidated(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, _ := e.addUser("pub", portico.RolePublisher)
	g := adm.do("POST", "/api/v1/groups", map[string]any{"name": "acme"}).want(http.StatusCreated).str("id")
	for _, tc := range []struct {
		name   string
		groups any
		field  string
	}{
		{"unknown", []string{g, "nope"}, "groups[1]"},
		{"twice", []string{g, g}, "groups[1]"},
		{"empty", []string{""}, "groups[0]"},
		{"not a list", g, "groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := weatherAPI("/w")
			body["visibility"], body["groups"] = "partner", tc.groups
			e.in(t).as("pub", "pub-secret").do("POST", "/api/v1/apis", body).wantErr(http.StatusBadRequest, tc.field)
		})
	}
	body := weatherAPI("/w")
	body["visibility"], body["groups"] = "partner", []string{g}
	res := pub.do("POST", "/api/v1/apis", body).want(http.StatusCreated)
	if gs, _ := res.obj()["groups"].([]any); len(gs) != 1 || gs[0] != g {
		t.Errorf("groups = %v", res.obj()["groups"])
	}
	body["groups"] = []string{g, "nope"}
	pub.do("PUT", "/api/v1/apis/"+res.str("id"), body).wantErr(http.StatusBadRequest, "groups[1]")
}

// TestVisibilityEnforced checks that an API a user may not see (by state,
// visibility and groups) is missing from every route: the list, a search,
// GET by id, a subscription, and the API name on subscriptions.
func TestVisibilityEnforced(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, pubID := e.addUser("pub", portico.RolePublisher)
	other, _ := e.addUser("otherpub", portico.RolePublisher)
	plain, _ := e.addUser("plain", portico.RoleSubscriber)
	internal, internalID := e.addUser("insider", portico.RoleSubscriber)
	partner, partnerID := e.addUser("partner", portico.RoleSubscriber)
	outsider, outsiderID := e.addUser("outsider", portico.RoleSubscriber)
	adm.do("PUT", "/api/v1/users/"+internalID, map[string]any{"internal": true}).want(http.StatusOK)
	acme := adm.do("POST", "/api/v1/groups", map[string]any{"name": "acme", "members": []string{partnerID}}).want(http.StatusCreated).str("id")
	adm.do("POST", "/api/v1/groups", map[string]any{"name": "globex", "members": []string{outsiderID}}).want(http.StatusCreated)

	auto := goldPlan("auto")
	auto["auto_approve"] = true
	plan := pub.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	mk := func(name, ctx string, vis portico.Visibility, groups ...string) string {
		body := weatherAPI(ctx, plan)
		body["name"], body["visibility"] = name, vis
		if groups != nil {
			body["groups"] = groups
		}
		id := pub.do("POST", "/api/v1/apis", body).want(http.StatusCreated).str("id")
		pub.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(http.StatusOK)
		return id
	}
	public := mk("pubapi", "/public", portico.Public)
	intranet := mk("intraapi", "/intranet", portico.Intranet)
	partnerAPI := mk("partnerapi", "/partner", portico.Partner, acme)
	draft := pub.do("POST", "/api/v1/apis", weatherAPI("/draft", plan)).want(http.StatusCreated).str("id")
	names := map[string]string{public: "pubapi", intranet: "intraapi", partnerAPI: "partnerapi", draft: "weather"}

	all := []string{public, intranet, partnerAPI, draft}
	for _, tc := range []struct {
		name string
		c    *client
		sees []string
	}{
		{"admin", adm, all},
		{"owner", pub, all},
		{"another publisher", other, []string{public}},
		{"plain subscriber", plain, []string{public}},
		{"internal subscriber", internal, []string{public, intranet}},
		{"partner", partner, []string{public, partnerAPI}},
		{"outsider of the API's groups", outsider, []string{public}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *tc.c
			c.e = e.in(t)
			var got []string
			for _, a := range items[map[string]any](c.do("GET", "/api/v1/apis?limit=100", nil)).Items {
				got = append(got, a["id"].(string))
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.sees))
			if !slices.Equal(got, want) {
				t.Errorf("list: %v, want %v", got, want)
			}
			app := c.do("POST", "/api/v1/applications", map[string]any{"name": "app-" + c.user}).want(http.StatusCreated).str("id")
			for _, id := range all {
				sees := slices.Contains(tc.sees, id)
				// Search by the API's name and by a filter.
				l := items[map[string]any](c.do("GET", "/api/v1/apis?q="+names[id], nil))
				found := false
				for _, a := range l.Items {
					found = found || a["id"] == id
				}
				if found != sees {
					t.Errorf("search %s: found %v, want %v", names[id], found, sees)
				}
				if id == partnerAPI {
					if n := items[map[string]any](c.do("GET", "/api/v1/apis?visibility=partner", nil)).Total; (n == 1) != sees {
						t.Errorf("visibility=partner: %d items, sees %v", n, sees)
					}
				}
				// GET by id.
				if sees {
					c.do("GET", "/api/v1/apis/"+id, nil).want(http.StatusOK)
				} else {
					c.do("GET", "/api/v1/apis/"+id, nil).wantErr(http.StatusNotFound, "")
				}
				// Subscribe: a hidden API is not found, named by "api".
				res := c.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": id, "plan": plan})
				switch {
				case id == draft && sees:
					res.wantErr(http.StatusConflict, "api") // seen, but takes no subscription
				case sees:
					res.want(http.StatusCreated)
				default:
					res.wantErr(http.StatusNotFound, "api")
					if strings.Contains(string(res.body), names[id]) {
						t.Errorf("the refusal names the hidden API: %s", res.body)
					}
				}
			}
		})
	}

	// An anonymous visitor (the portal's catalog) sees public APIs only,
	// without their endpoints, and the plans they offer; nothing else.
	anon := e.anon()
	l := items[map[string]any](anon.do("GET", "/api/v1/apis", nil).want(http.StatusOK))
	if l.Total != 1 || l.Items[0]["id"] != public {
		t.Fatalf("an anonymous visitor lists %+v, want the public API only", l)
	}
	for _, q := range []string{"?q=intraapi", "?q=partnerapi", "?visibility=partner", "?state=draft"} {
		if l := items[map[string]any](anon.do("GET", "/api/v1/apis"+q, nil).want(http.StatusOK)); l.Total != 0 {
			t.Errorf("an anonymous visitor finds %+v with %s", l.Items, q)
		}
	}
	got := anon.do("GET", "/api/v1/apis/"+public, nil).want(http.StatusOK).obj()
	if _, has := got["endpoint"]; has {
		t.Errorf("an anonymous visitor sees the endpoint: %v", got)
	}
	for _, id := range []string{intranet, partnerAPI, draft, "nope"} {
		anon.do("GET", "/api/v1/apis/"+id, nil).wantErr(http.StatusNotFound, "")
	}
	anon.do("GET", "/api/v1/plans/"+plan, nil).want(http.StatusOK)
	hidden := adm.do("POST", "/api/v1/plans", goldPlan("hidden")).want(http.StatusCreated).str("id")
	anon.do("GET", "/api/v1/plans/"+hidden, nil).wantErr(http.StatusNotFound, "")
	if l := items[map[string]any](anon.do("GET", "/api/v1/plans", nil).want(http.StatusOK)); l.Total != 1 || l.Items[0]["id"] != plan {
		t.Errorf("an anonymous visitor lists the plans %+v, want only the public API's", l.Items)
	}
	// Everything else still needs credentials; bad ones are refused, not
	// taken as a visitor.
	for _, p := range []string{"/api/v1/applications", "/api/v1/subscriptions", "/api/v1/users/me", "/api/v1/groups"} {
		anon.do("GET", p, nil).want(http.StatusUnauthorized)
	}
	anon.do("POST", "/api/v1/apis", weatherAPI("/anon")).want(http.StatusUnauthorized)
	e.as("nobody", "wrong-password").do("GET", "/api/v1/apis", nil).want(http.StatusUnauthorized)

	// Only admins make users internal; a user may echo its own value.
	plain.do("PUT", "/api/v1/users/me", map[string]any{"internal": true}).wantErr(http.StatusForbidden, "internal")
	plain.do("PUT", "/api/v1/users/me", map[string]any{"internal": false}).want(http.StatusOK)
	pub.do("PUT", "/api/v1/users/me", map[string]any{"internal": true}).wantErr(http.StatusForbidden, "internal")
	internal.do("PUT", "/api/v1/users/me", map[string]any{"internal": false}).wantErr(http.StatusForbidden, "internal")
	if !internal.do("GET", "/api/v1/users/me", nil).want(http.StatusOK).obj()["internal"].(bool) {
		t.Error("the internal user does not see its flag")
	}
	// Others never see it.
	for _, u := range items[map[string]any](pub.do("GET", "/api/v1/subscribers", nil)).Items {
		if _, ok := u["internal"]; ok {
			t.Errorf("a publisher sees internal of %v", u["username"])
		}
	}

	// Taken out of the group, the partner no longer sees the API; its
	// subscription stays, without the API's name.
	adm.do("DELETE", "/api/v1/groups/"+acme+"/members/"+partnerID, nil).want(http.StatusNoContent)
	partner.do("GET", "/api/v1/apis/"+partnerAPI, nil).want(http.StatusNotFound)
	subs := items[map[string]any](partner.do("GET", "/api/v1/subscriptions?api="+partnerAPI, nil))
	if subs.Total != 1 || subs.Items[0]["status"] != "approved" {
		t.Fatalf("partner's subscriptions: %+v", subs)
	}
	if _, ok := subs.Items[0]["api_name"]; ok {
		t.Errorf("the subscription shows the hidden API's name: %v", subs.Items[0])
	}
	if n := items[map[string]any](partner.do("GET", "/api/v1/subscriptions?q=partnerapi", nil)).Total; n != 0 {
		t.Errorf("a search by the hidden API's name finds %d subscriptions", n)
	}
	// The API's owner still sees it with its name.
	ownerSees := false
	for _, s := range items[map[string]any](pub.do("GET", "/api/v1/subscriptions?api="+partnerAPI, nil)).Items {
		ownerSees = ownerSees || s["id"] == subs.Items[0]["id"] && s["api_name"] == "partnerapi"
	}
	if !ownerSees {
		t.Error("the API's owner does not see the partner's subscription with the API's name")
	}
	// An internal user made not internal loses the intranet API.
	adm.do("PUT", "/api/v1/users/"+internalID, map[string]any{"internal": false}).want(http.StatusOK)
	internal.do("GET", "/api/v1/apis/"+intranet, nil).want(http.StatusNotFound)
	_ = pubID
}
