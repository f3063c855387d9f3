package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/consoletest"
)

// TestPortalVisitor: a visitor (no session) browses the catalog of
// public APIs — not an intranet or partner API, nor a draft — and their
// pages with their plans; it reaches the sign-in and sign-up pages; the
// pages of a signed-in user send it to the sign-in page, to come back.
func TestPortalVisitor(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	for _, vis := range []string{"intranet", "partner"} {
		st, b := e.API(t, pubName, pubPW, "POST", "/apis", `{"name":"hidden-`+vis+`","version":"v1","context":"/hidden-`+vis+`",
			"visibility":"`+vis+`","auth":["api_key"],"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:9"}]},"plans":["`+f.Free+`"]}`)
		var a struct{ ID string }
		if st != http.StatusCreated || json.Unmarshal([]byte(b), &a) != nil {
			t.Fatalf("creating the %s API: %d %s", vis, st, b)
		}
		if st, b := e.API(t, pubName, pubPW, "POST", "/apis/"+a.ID+"/publish", ""); st != http.StatusOK {
			t.Fatalf("publishing the %s API: %d %s", vis, st, b)
		}
	}
	cl := e.NewClient(t)
	st, body := cl.Get("/portal/")
	if st != http.StatusOK || strings.Contains(body, "Sign in to browse the APIs") {
		t.Errorf("the catalog for a visitor: %d, want 200 listing the public APIs\n%s", st, mainOf(body))
	}
	for id, want := range map[string]bool{f.Weather: true, f.Old: true, f.Basic: true, f.Draft: false} {
		if got := strings.Contains(body, `data-api="`+id+`"`); got != want {
			t.Errorf("the visitor's catalog lists %s: %v, want %v", id, got, want)
		}
	}
	if !strings.Contains(body, `<ul class="tags" aria-label="Tags"><li><a href="/portal/?q=g%c3%a9o">géo</a></li>`) {
		t.Errorf("the catalog does not show the tags\n%s", mainOf(body))
	}
	if st, body := cl.Get("/portal/?q=basicapi+tag"); st != http.StatusOK || !strings.Contains(body, `data-api="`+f.Basic+`"`) || strings.Contains(body, `data-api="`+f.Weather+`"`) {
		t.Errorf("a search by tag: %d\n%s", st, mainOf(body))
	}
	if strings.Contains(body, "hidden-intranet") || strings.Contains(body, "hidden-partner") {
		t.Error("the visitor's catalog lists an intranet or partner API")
	}
	if st, body := cl.Get("/portal/?q=hidden"); st != http.StatusOK || strings.Contains(body, "data-api=") {
		t.Errorf("a visitor's search finds a hidden API: %d\n%s", st, mainOf(body))
	}
	if !strings.Contains(body, `href="/portal/signup"`) || strings.Contains(body, `action="/portal/logout"`) {
		t.Error("a visitor's header lacks the sign-up link or has a sign-out form")
	}
	// An API's page, with its plans in words.
	if st, body := cl.Get("/portal/apis/" + f.Weather); st != http.StatusOK || !strings.Contains(body, "Free") || !strings.Contains(body, "10,000") {
		t.Errorf("a public API's page for a visitor: %d, want its plans\n%s", st, mainOf(body))
	}
	if st, _ := cl.Get("/portal/apis/" + f.Draft); st != http.StatusNotFound {
		t.Errorf("a draft's page for a visitor: %d, want 404", st)
	}
	for _, p := range []string{"/portal/apps", "/portal/usage"} {
		st, _, loc := cl.Do(mustGet(t, e.URL+p))
		if st != http.StatusSeeOther || loc != "/portal/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s as a visitor: %d to %q, want 303 to the sign-in page", p, st, loc)
		}
	}
	if st, _ := cl.Get("/portal/signup"); st != http.StatusOK {
		t.Errorf("the sign-up page: %d", st)
	}
	// The assets are served, their folders not listed.
	for p, want := range map[string]int{"/portal/static/portal.css": 200, "/portal/static/": 404, "/console/static/": 404, "/console/static/console.css": 200} {
		if st, _ := cl.Get(p); st != want {
			t.Errorf("GET %s: %d, want %d", p, st, want)
		}
	}
	// A form of the signed-in pages, sent without a session, changes
	// nothing.
	if st, _, _ := cl.Post("/portal/apps", url.Values{"name": {"x"}}); st != http.StatusSeeOther {
		t.Errorf("POST /portal/apps without a session: %d, want 303 to the sign-in page", st)
	}
}

// TestPortalApplications: a subscriber creates an application, renames
// it, makes a key (shown once, with a copy button that only the script
// shows), revokes it, subscribes the application to an API on a plan that
// auto-approves and on one that waits (pending), cancels, and deletes the
// application; what users typed is escaped; another user's application
// cannot be managed through the portal.
func TestPortalApplications(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	cl := e.portalSignIn(t, subName, subPW)
	cl.Get("/portal/apps")
	st, body, _ := cl.Post("/portal/apps", url.Values{"name": {""}})
	if st != http.StatusBadRequest || !strings.Contains(body, "field-error") {
		t.Errorf("an application without a name: %d, want 400 with a field error", st)
	}
	st, _, loc := cl.Post("/portal/apps", url.Values{"name": {"<script>x</script>"}, "description": {"mine"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/apps/") {
		t.Fatalf("creating an application: %d to %q", st, loc)
	}
	appID := strings.TrimSuffix(strings.TrimPrefix(loc, "/portal/apps/"), "?created=1")
	st, body = cl.Get(loc)
	if st != http.StatusOK || !strings.Contains(body, "&lt;script&gt;x&lt;/script&gt;") || strings.Contains(body, "<script>x") {
		t.Fatalf("the application's page: %d, escaped name %v", st, strings.Contains(body, "&lt;script&gt;"))
	}
	if st, _, _ := cl.Post("/portal/apps/"+appID, url.Values{"name": {"renamed"}, "description": {"mine"}}); st != http.StatusSeeOther {
		t.Fatalf("renaming: %d", st)
	}
	if app := mustAPI(t, e.Console, subName, subPW, "GET", "/applications/"+appID, "", 200); app["name"] != "renamed" || app["description"] != "mine" {
		t.Errorf("after renaming: %v", app)
	}

	// A key, shown once.
	cl.Get("/portal/apps/" + appID)
	st, body, _ = cl.Post("/portal/apps/"+appID+"/keys", nil)
	key := between(body, `<code id="new-key-text" class="secret">`, "</code>")
	if st != http.StatusCreated || !strings.HasPrefix(key, "pk_") || len(key) < 40 {
		t.Fatalf("a new key: %d, key %q", st, key)
	}
	if !strings.Contains(body, `data-copy="new-key-text"`) || !strings.Contains(between(body, `data-copy="new-key-text"`, ">"), "hidden") {
		t.Error("the new key has no copy button hidden until the script shows it")
	}
	_, body = cl.Get("/portal/apps/" + appID)
	if strings.Contains(body, key) || !strings.Contains(body, key[:8]+"…") {
		t.Error("the application's page shows the key again, or not its prefix")
	}
	keys := mustAPI(t, e.Console, subName, subPW, "GET", "/applications/"+appID+"/keys", "", 200)["items"].([]any)
	keyID := keys[0].(map[string]any)["id"].(string)
	if st, _, _ := cl.Post("/portal/apps/"+appID+"/keys/"+keyID+"/revoke", nil); st != http.StatusSeeOther {
		t.Fatalf("revoking: %d", st)
	}
	if k := mustAPI(t, e.Console, subName, subPW, "GET", "/applications/"+appID+"/keys/"+keyID, "", 200); k["revoked_at"] == nil {
		t.Error("the key is not revoked")
	}
	if st, _, _ := cl.Post("/portal/apps/"+appID+"/keys/"+keyID+"/rotate", url.Values{"grace": {"86401"}}); st != http.StatusBadRequest {
		t.Errorf("a grace period over 24 hours: %d, want 400", st)
	}
	if st, _, _ := cl.Post("/portal/apps/"+appID+"/keys/"+keyID+"/explode", nil); st != http.StatusNotFound {
		t.Errorf("an unknown key action: %d, want 404", st)
	}

	// Subscriptions: Free approves at once, Gold waits.
	cl.Get("/portal/apis/" + f.Weather)
	st, _, loc = cl.Post("/portal/apis/"+f.Weather+"/subscribe", url.Values{"application": {appID}, "plan": {f.Free}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "subscribed=approved") {
		t.Fatalf("subscribing on Free: %d to %q", st, loc)
	}
	// A deprecated API takes no new subscriptions: the admin API's
	// refusal is shown.
	cl.Get("/portal/apis/" + f.Old)
	st, body, _ = cl.Post("/portal/apis/"+f.Old+"/subscribe", url.Values{"application": {appID}, "plan": {f.Gold}})
	if st != http.StatusConflict || !strings.Contains(body, "takes no new subscriptions") {
		t.Errorf("subscribing to a deprecated API: %d, want the admin API's 409", st)
	}
	cl.Get("/portal/apis/" + f.Basic)
	st, _, loc = cl.Post("/portal/apis/"+f.Basic+"/subscribe", url.Values{"application": {appID}, "plan": {f.Gold}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "subscribed=pending") {
		t.Fatalf("subscribing on Gold: %d to %q", st, loc)
	}
	_, body = cl.Get("/portal/apis/" + f.Basic)
	row := between(body, `<tr data-subscription="`, "</tr>")
	if !strings.Contains(row, "pending") || !strings.Contains(row, "Gold") || !strings.Contains(row, "renamed") {
		t.Errorf("the API's page does not show the pending subscription: %s", row)
	}
	st, body, _ = cl.Post("/portal/apis/"+f.Weather+"/subscribe", url.Values{"application": {appID}, "plan": {f.Gold}})
	if st != http.StatusConflict || !strings.Contains(body, `class="error"`) {
		t.Errorf("a second live subscription to the same API: %d, want the admin API's 409", st)
	}
	st, _, _ = cl.Post("/portal/apis/"+f.Weather+"/subscribe", url.Values{"application": {f.OtherApp}, "plan": {f.Free}})
	if st != http.StatusNotFound && st != http.StatusForbidden {
		t.Errorf("subscribing sue's application: %d, want the admin API's refusal", st)
	}
	_, body = cl.Get("/portal/apps/" + appID)
	subIDs := regexp.MustCompile(`<tr data-subscription="([0-9a-f]+)">`).FindAllStringSubmatch(body, -1)
	if len(subIDs) != 2 {
		t.Fatalf("the application's page lists %d subscriptions, want 2", len(subIDs))
	}
	if st, _, loc := cl.Post("/portal/subscriptions/"+subIDs[0][1]+"/cancel", nil); st != http.StatusSeeOther || !strings.Contains(loc, "cancelled=1") {
		t.Fatalf("cancelling: %d to %q", st, loc)
	}
	if s := mustAPI(t, e.Console, subName, subPW, "GET", "/subscriptions/"+subIDs[0][1], "", 200); s["status"] != "cancelled" {
		t.Errorf("after cancelling: %v", s["status"])
	}

	// Another user's application: not through the portal.
	other := e.portalSignIn(t, sub2Name, sub2PW)
	other.Get("/portal/apps")
	for _, p := range []string{"/portal/apps/" + appID, "/portal/apps/" + appID + "/delete", "/portal/apps/" + appID + "/keys",
		"/portal/subscriptions/" + subIDs[1][1] + "/cancel"} {
		st, _, _ := other.Post(p, url.Values{"name": {"taken"}})
		if st != http.StatusNotFound && st != http.StatusForbidden {
			t.Errorf("sue posting to %s: %d, want 404 or 403", p, st)
		}
	}
	if st, _ := other.Get("/portal/apps/" + appID); st != http.StatusNotFound {
		t.Errorf("sue reading sam's application page: %d, want 404", st)
	}
	// The admin sees sam's application in the admin API, but the portal
	// manages its own only: no eviction through a "cancel".
	adm := e.portalSignIn(t, admin, adminPW)
	adm.Get("/portal/apps")
	if st, _, _ := adm.Post("/portal/subscriptions/"+subIDs[1][1]+"/cancel", nil); st != http.StatusForbidden {
		t.Errorf("the admin cancelling sam's subscription in the portal: %d, want 403", st)
	}
	if s := mustAPI(t, e.Console, subName, subPW, "GET", "/subscriptions/"+subIDs[1][1], "", 200); s["status"] != "pending" {
		t.Errorf("after the admin's refused cancel: %v", s["status"])
	}

	if st, _, loc := cl.Post("/portal/apps/"+appID+"/delete", nil); st != http.StatusSeeOther || loc != "/portal/apps?deleted=1" {
		t.Fatalf("deleting: %d to %q", st, loc)
	}
	if st, _ := e.API(t, subName, subPW, "GET", "/applications/"+appID, ""); st != http.StatusNotFound {
		t.Errorf("after deleting, the application: %d", st)
	}
}

// TestPortalUsage: the usage page shows an application's requests and
// errors from the analytics store, and each live subscription's limits in
// words: a pending one waits for approval; for an approved one the page
// shows the use of the current windows as GET /subscriptions/{id}/usage
// answers it, here that it cannot (consoletest's admin API has no
// counters to read; TestPortalBrowser reads a node's).
func TestPortalUsage(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	mustAPI(t, e.Console, subName, subPW, "POST", "/applications/"+f.App+"/subscriptions", `{"api":"`+f.Weather+`","plan":"`+f.Free+`"}`, 201)
	// A subscription made before the API was deprecated lives on.
	mustAPI(t, e.Console, pubName, pubPW, "POST", "/apis/"+f.Old+"/publish", "", 200)
	mustAPI(t, e.Console, subName, subPW, "POST", "/applications/"+f.App+"/subscriptions", `{"api":"`+f.Old+`","plan":"`+f.Gold+`"}`, 201)
	mustAPI(t, e.Console, pubName, pubPW, "POST", "/apis/"+f.Old+"/deprecate", "", 200)
	me := mustAPI(t, e.Console, subName, subPW, "GET", "/users/me", "", 200)["id"].(string)
	sue := mustAPI(t, e.Console, sub2Name, sub2PW, "GET", "/users/me", "", 200)["id"].(string)
	now := time.Now().UTC()
	var recs []portico.Record
	for i := range 12 {
		st := 200
		if i%4 == 0 {
			st = 500
		}
		recs = append(recs, portico.Record{Time: now.Add(-time.Duration(i) * time.Minute), RequestID: fmt.Sprint("r", i), API: "weather", APIVersion: "v1",
			APIID: f.Weather, Subscriber: me, Application: f.App, Status: st, Method: "GET", Latency: time.Millisecond})
	}
	recs = append(recs, portico.Record{Time: now, RequestID: "other", API: "weather", APIVersion: "v1", APIID: f.Weather,
		Subscriber: sue, Application: f.OtherApp, Status: 200, Method: "GET"})
	if err := e.Analytics.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	cl := e.portalSignIn(t, subName, subPW)
	st, body := cl.Get("/portal/usage?range=hour")
	if st != http.StatusOK {
		t.Fatalf("usage: %d\n%s", st, mainOf(body))
	}
	if got := between(body, `id="usage-requests">`, "<"); got != "12" {
		t.Errorf("requests: %q, want 12 (sue's call not counted)", got)
	}
	if got := between(body, `id="usage-errors">`, "<"); got != "3" {
		t.Errorf("errors: %q, want 3", got)
	}
	if !strings.Contains(body, "<svg") || !strings.Contains(between(body, `id="usage-by-api"`, "</table>"), "weather") {
		t.Error("no chart, or no per-API row")
	}
	weather := between(body, `<section class="limits" aria-label="weather v1">`, "</section>")
	for _, want := range []string{"Rate limit: 100 requests a minute.", "Use is not available right now"} {
		if !strings.Contains(weather, want) {
			t.Errorf("weather's limits lack %q:\n%s", want, weather)
		}
	}
	old := between(body, `<section class="limits" aria-label="oldweather v1">`, "</section>")
	for _, want := range []string{"Quota: 10,000 requests a month.", "The subscription waits for approval."} {
		if !strings.Contains(old, want) {
			t.Errorf("oldweather's limits lack %q:\n%s", want, old)
		}
	}
	_, body = cl.Get("/portal/usage?range=hour&api=" + f.Weather + "&application=" + f.App)
	if got := between(body, `id="usage-requests">`, "<"); got != "12" {
		t.Errorf("requests of weather: %q, want 12", got)
	}
	if strings.Contains(body, `aria-label="oldweather v1"`) {
		t.Error("the usage of weather shows oldweather's limits")
	}
	// Another user's application is not shown, whatever the query says.
	_, body = e.portalSignIn(t, sub2Name, sub2PW).Get("/portal/usage?range=hour&application=" + f.App)
	if got := between(body, `id="usage-requests">`, "<"); got != "1" {
		t.Errorf("sue asking for sam's application's usage: %q requests, want her own 1", got)
	}
}

// TestPortalRotate: rotating a key shows the new key once and keeps the
// old one working for the grace period chosen (listed with its end, and
// taken by try-it), then not; a rotated key cannot be rotated again (the
// admin API's 409, shown on the page); no grace revokes the old key at
// once.
func TestPortalRotate(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newPortalWith(t, consoletest.Options{Now: clock})
	f := seedCatalog(t, e)
	mustAPI(t, e.Console, subName, subPW, "POST", "/applications/"+f.App+"/subscriptions", `{"api":"`+f.Weather+`","plan":"`+f.Free+`"}`, 201)
	keys := mustAPI(t, e.Console, subName, subPW, "GET", "/applications/"+f.App+"/keys", "", 200)["items"].([]any)
	oldID := keys[0].(map[string]any)["id"].(string)
	cl := e.portalSignIn(t, subName, subPW)
	cl.Get("/portal/apps/" + f.App)
	st, body, _ := cl.Post("/portal/apps/"+f.App+"/keys/"+oldID+"/rotate", url.Values{"grace": {"300"}})
	newKey := between(body, `<code id="new-key-text" class="secret">`, "</code>")
	if st != http.StatusCreated || !strings.HasPrefix(newKey, "pk_") || newKey == f.Key {
		t.Fatalf("rotating: %d, new key %q", st, newKey)
	}
	if !strings.Contains(body, "keeps working until "+now.Add(300*time.Second).Format("2006-01-02 15:04:05 UTC")) {
		t.Errorf("the page does not say until when the old key works:\n%s", between(body, `class="notice"`, "</p>"))
	}
	if row := between(body, `<tr data-key="`+oldID+`">`, "</tr>"); !strings.Contains(row, "rotated: works until") || strings.Contains(row, "Rotate</button>") {
		t.Errorf("the old key's row: %s", row)
	}
	try := func(key string) int {
		cl.Get("/portal/apis/" + f.Weather)
		st, _, _ := cl.Post("/portal/apis/"+f.Weather+"/try", tryForm(f, "key", key))
		return st
	}
	if st := try(f.Key); st != http.StatusOK {
		t.Errorf("try-it with the old key in its grace period: %d, want 200", st)
	}
	if st := try(newKey); st != http.StatusOK {
		t.Errorf("try-it with the new key: %d, want 200", st)
	}
	cl.Get("/portal/apps/" + f.App)
	if st, body, _ := cl.Post("/portal/apps/"+f.App+"/keys/"+oldID+"/rotate", url.Values{"grace": {"300"}}); st != http.StatusConflict || !strings.Contains(body, "rotated already") {
		t.Errorf("rotating a rotated key: %d, want the admin API's 409 on the page", st)
	}
	mu.Lock()
	now = now.Add(301 * time.Second)
	mu.Unlock()
	if st := try(f.Key); st != http.StatusForbidden {
		t.Errorf("try-it with the old key after its grace period: %d, want 403", st)
	}
	_, body = cl.Get("/portal/apps/" + f.App)
	if row := between(body, `<tr data-key="`+oldID+`">`, "</tr>"); !strings.Contains(row, "ended") {
		t.Errorf("the old key's row after its grace period: %s", row)
	}
	// No grace: the old key is revoked at once.
	keys = mustAPI(t, e.Console, subName, subPW, "GET", "/applications/"+f.App+"/keys", "", 200)["items"].([]any)
	var newID string
	for _, k := range keys {
		if m := k.(map[string]any); m["id"] != oldID {
			newID = m["id"].(string)
		}
	}
	st, body, _ = cl.Post("/portal/apps/"+f.App+"/keys/"+newID+"/rotate", url.Values{"grace": {"0"}})
	if st != http.StatusCreated || !strings.Contains(body, "The old key is revoked.") {
		t.Errorf("rotating without grace: %d", st)
	}
	if st := try(newKey); st != http.StatusForbidden {
		t.Errorf("try-it with a key rotated without grace: %d, want 403", st)
	}
}
