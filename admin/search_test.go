package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// names returns the value of field key of each item of a list answer.
func names(t *testing.T, r *result, key string) (got []string, total int) {
	t.Helper()
	l := items[map[string]any](r)
	for _, it := range l.Items {
		s, _ := it[key].(string)
		got = append(got, s)
	}
	return got, l.Total
}

// TestListSearch: ?q= selects, in any case, the items one of whose
// searched fields holds the text, together with the other filters and
// paging; total counts the matches.
func TestListSearch(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, _ := e.addUser("Publisher-Paula", portico.RolePublisher)
	sub, subID := e.addUser("sam", portico.RoleSubscriber)
	adm.do("PUT", "/api/v1/users/"+subID, map[string]any{"email": "Sam@Example.COM"}).want(http.StatusOK)
	e.addUser("sandra", portico.RoleSubscriber)

	plan := goldPlan("Gold")
	plan["description"] = "For BIG customers"
	planID := pub.do("POST", "/api/v1/plans", plan).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/plans", goldPlan("Silver")).want(http.StatusCreated)

	weather := weatherAPI("/weather", planID)
	weather["description"] = "Forecasts für Städte" // not ASCII
	weatherID := pub.do("POST", "/api/v1/apis", weather).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+weatherID+"/publish", nil).want(http.StatusOK)
	maps := weatherAPI("/maps", planID)
	maps["name"], maps["version"] = "Maps", "v2"
	mapsID := pub.do("POST", "/api/v1/apis", maps).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+mapsID+"/publish", nil).want(http.StatusOK)
	secret := weatherAPI("/secret", planID)
	secret["name"] = "Hidden Tides"
	secretID := pub.do("POST", "/api/v1/apis", secret).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+secretID+"/publish", nil).want(http.StatusOK)

	app := func(name, desc string) string {
		return sub.do("POST", "/api/v1/applications", map[string]any{"name": name, "description": desc}).want(http.StatusCreated).str("id")
	}
	phone := app("Phone App", "ÉCLAIR mobile")
	web := app("web", "the phone site")
	adm.do("POST", "/api/v1/applications", map[string]any{"name": "phone of the admin"}).want(http.StatusCreated)
	subscribe := func(appID, apiID string) {
		sub.do("POST", "/api/v1/applications/"+appID+"/subscriptions", map[string]any{"api": apiID, "plan": planID}).want(http.StatusCreated)
	}
	subscribe(phone, weatherID)
	subscribe(web, mapsID)
	subscribe(web, secretID)
	// Retired, Hidden Tides is no longer the subscriber's to see.
	pub.do("POST", "/api/v1/apis/"+secretID+"/retire", nil).want(http.StatusOK)

	for _, c := range []struct {
		who   *client
		path  string
		key   string
		want  []string
		total int // when not len(want): a page of a longer list
	}{
		{adm, "/api/v1/users?q=SAM", "username", []string{"sam"}, 0},
		{adm, "/api/v1/users?q=example.com", "username", []string{"sam"}, 0},
		{adm, "/api/v1/users?q=sa", "username", []string{"sam", "sandra"}, 0},
		{adm, "/api/v1/users?q=sa&limit=1&offset=1", "username", []string{"sandra"}, 2},
		{adm, "/api/v1/users?q=", "username", []string{"admin", "Publisher-Paula", "sam", "sandra"}, 0},
		{adm, "/api/v1/subscribers?q=AND", "username", []string{"sandra"}, 0},
		{pub, "/api/v1/subscribers?q=sa", "username", []string{"sam"}, 0}, // sandra has no subscription to pub's APIs
		{sub, "/api/v1/plans?q=big", "name", []string{"Gold"}, 0},
		{sub, "/api/v1/plans?q=ILV", "name", []string{"Silver"}, 0},
		{sub, "/api/v1/plans?q=bronze", "name", nil, 0},
		{sub, "/api/v1/apis?q=V2", "name", []string{"Maps"}, 0},
		{sub, "/api/v1/apis?q=/WEA", "name", []string{"weather"}, 0},
		{sub, "/api/v1/apis?q=STÄDTE", "name", []string{"weather"}, 0},
		{sub, "/api/v1/apis?q=S", "name", []string{"weather", "Maps"}, 0}, // not the retired one
		{pub, "/api/v1/apis?q=S", "name", []string{"weather", "Maps", "Hidden Tides"}, 0},
		{pub, "/api/v1/apis?q=S&state=retired", "name", []string{"Hidden Tides"}, 0},
		{sub, "/api/v1/applications?q=PHONE", "name", []string{"Phone App", "web"}, 0},
		{sub, "/api/v1/applications?q=éclair", "name", []string{"Phone App"}, 0},
		{adm, "/api/v1/applications?q=phone", "name", []string{"Phone App", "web", "phone of the admin"}, 0},
		{adm, "/api/v1/applications?q=phone&limit=2", "name", []string{"Phone App", "web"}, 3},
		{sub, "/api/v1/subscriptions?q=WEATH", "api", []string{weatherID}, 0},
		{sub, "/api/v1/subscriptions?q=web", "api", []string{mapsID, secretID}, 0},
		{sub, "/api/v1/subscriptions?q=tides", "api", nil, 0}, // an API name it may not see
		{pub, "/api/v1/subscriptions?q=tides", "api", []string{secretID}, 0},
		{sub, "/api/v1/subscriptions?q=web&status=pending&api=" + mapsID, "api", []string{mapsID}, 0},
		{sub, "/api/v1/subscriptions?q=phone&application=" + web, "api", nil, 0},
		{adm, "/api/v1/subscriptions?subscriber=" + subID, "api", []string{weatherID, mapsID, secretID}, 0},
		{adm, "/api/v1/subscriptions?subscriber=" + subID + "&q=phone", "api", []string{weatherID}, 0},
		{pub, "/api/v1/subscriptions?subscriber=nobody", "api", nil, 0},
	} {
		t.Run(c.path, func(t *testing.T) {
			cl := *c.who
			cl.e = e.in(t)
			got, total := names(t, cl.do("GET", c.path, nil), c.key)
			if c.total == 0 {
				c.total = len(c.want)
			}
			if !slices.Equal(got, c.want) || total != c.total {
				t.Errorf("got %q (total %d), want %q (total %d)", got, total, c.want, c.total)
			}
		})
	}
}

// TestListSearchRefused: a ?q= over 200 bytes, or not UTF-8, answers 400
// naming q on every list that searches; 200 bytes are taken.
func TestListSearchRefused(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	long, ok := strings.Repeat("ab", 100), strings.Repeat("é", 100) // 200 bytes each
	for _, path := range []string{"/api/v1/users", "/api/v1/subscribers", "/api/v1/plans", "/api/v1/apis", "/api/v1/applications", "/api/v1/subscriptions"} {
		adm.do("GET", path+"?q="+url.QueryEscape(long+"c"), nil).wantErr(http.StatusBadRequest, "q")
		adm.do("GET", path+"?q="+url.QueryEscape(ok+"c"), nil).wantErr(http.StatusBadRequest, "q")
		adm.do("GET", path+"?q=%FF%FE", nil).wantErr(http.StatusBadRequest, "q")
		adm.do("GET", path+"?q="+url.QueryEscape(long), nil).want(http.StatusOK)
		adm.do("GET", path+"?q="+url.QueryEscape(ok), nil).want(http.StatusOK)
	}
}

// BenchmarkListSearch searches the names and descriptions of 100,000
// applications, as an admin, for a text that one in a thousand holds.
func BenchmarkListSearch(b *testing.B) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hash, _ := bcrypt.GenerateFromPassword([]byte(adminPW), bcrypt.MinCost)
	changes := []portico.Change{portico.Put(&portico.User{
		ID: "admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, PasswordHash: string(hash),
	})}
	for i := range 100_000 {
		changes = append(changes, portico.Put(&portico.Application{
			ID: fmt.Sprintf("app%06d", i), Name: fmt.Sprintf("Application Number %d", i),
			Description: "A client of the Weather and Maps APIs", Owner: "admin",
			CreatedAt: now.Add(time.Duration(i) * time.Second),
		}))
	}
	s := &admin.Server{Store: storeWith(portico.NewConfig().With(1, changes...)), PasswordCost: bcrypt.MinCost}
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // not the setup's garbage
	for _, q := range []string{"", "NUMBER 1234", "zzz"} {
		b.Run(q, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/applications?q="+url.QueryEscape(q), nil)
			req.SetBasicAuth("admin", adminPW)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
