package browsertest_test

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/browsertest"
)

// site serves the pages the tests drive.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><title>site</title></head><body>%s</body></html>", body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /form", page(`
		<h1>Sign up</h1>
		<form method="post" action="/posted">
			<label for="name">Name</label> <input id="name" name="name">
			<label>Email <input name="email" type="email"></label>
			<input name="q" aria-label="Search">
			<span id="role-label">Role</span>
			<select name="role" aria-labelledby="role-label"><option>admin</option><option>viewer</option></select>
			<input type="radio" name="plan" value="free" id="free" checked><label for="free">Free</label>
			<input type="radio" name="plan" value="paid" id="paid"><label for="paid">Paid</label>
			<textarea id="note" name="note"></textarea> <label for="note">Note</label>
			<input type="hidden" name="csrf" value="x">
			<button id="save" type="submit">Save</button>
		</form>
		<a id="other" href="/other">Other page</a>`))
	mux.Handle("GET /nolabel", page(`
		<form>
			<label for="ok">OK</label> <input id="ok" name="ok">
			<input name="nolabel">
			<label><input name="emptylabel"></label>
			<input type="hidden" name="h"> <input type="submit" value="Go">
		</form>`))
	mux.Handle("GET /keyboard-bad", page(`
		<a id="first" href="/a">First</a>
		<a id="skipped" href="/b" tabindex="-1">Skipped by Tab</a>
		<input id="field" aria-label="Field">
		<button id="jumper" tabindex="1">Jumps the queue</button>
		<button id="hidden" style="display:none">Hidden</button>
		<button id="disabled" disabled>Disabled</button>`))
	mux.HandleFunc("POST /posted", func(w http.ResponseWriter, r *http.Request) {
		page(`<h1 id="result">Hello `+html.EscapeString(r.FormValue("name"))+`</h1>`)(w, r)
	})
	mux.Handle("GET /other", page(`<h1 id="result">Other</h1>`))
	mux.HandleFunc("GET /forbidden", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<h1 id="result">Forbidden</h1>`)
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/other", http.StatusSeeOther)
	})
	csp := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
			h.ServeHTTP(w, r)
		})
	}
	mux.Handle("GET /csp-inline", csp(page(`<h1 id="result">CSP</h1><script>document.title = "inline ran"</script>`)))
	mux.Handle("GET /csp-external", csp(page(`<h1 id="result">CSP</h1><script src="/app.js"></script>`)))
	mux.HandleFunc("GET /csp-report-only", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy-Report-Only", "default-src 'self'")
		page(`<h1 id="result">CSP</h1><script>document.title = "inline ran"</script>`)(w, r)
	})
	mux.Handle("GET /csp-foreign", csp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// localhost is another origin than 127.0.0.1.
		_, port, _ := strings.Cut(r.Host, ":")
		page(`<h1 id="result">CSP</h1><script src="http://localhost:`+port+`/app.js"></script>`)(w, r)
	})))
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.title = "external ran";`)
	})
	mux.Handle("GET /console-error", page(`<script>console.error("boom", 42)</script>`))
	mux.Handle("GET /tall", page(`<div style="height:3000px;background:linear-gradient(#fff,#036)">tall</div>`))
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("set"); v != "" {
			http.SetCookie(w, &http.Cookie{Name: "user", Value: v, Path: "/"})
		}
		user := "nobody"
		if c, err := r.Cookie("user"); err == nil && r.URL.Query().Get("set") == "" {
			user = c.Value
		}
		page(`<h1 id="result">`+html.EscapeString(user)+`</h1>`)(w, r)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestBrowser runs the tests of a Tab on one browser, to keep the run
// short: a start costs about a second.
func TestBrowser(t *testing.T) {
	s := site(t)
	b := browsertest.New(t)
	t.Logf("browser started in %v", b.StartDuration)
	t.Run("NavigateAndRead", func(t *testing.T) { testNavigateAndRead(t, s, b) })
	t.Run("Status", func(t *testing.T) { testStatus(t, s, b) })
	t.Run("SubmitForm", func(t *testing.T) { testSubmitForm(t, s, b) })
	t.Run("TabsAreIsolated", func(t *testing.T) { testTabsAreIsolated(t, s, b) })
	t.Run("CheckLabels", func(t *testing.T) { testCheckLabels(t, s, b) })
	t.Run("CheckKeyboard", func(t *testing.T) { testCheckKeyboard(t, s, b) })
	t.Run("PressAndFocused", func(t *testing.T) { testPressAndFocused(t, s, b) })
	t.Run("CSPViolations", func(t *testing.T) { testCSPViolations(t, s, b) })
	t.Run("ConsoleErrors", func(t *testing.T) { testConsoleErrors(t, s, b) })
	t.Run("Screenshots", func(t *testing.T) { testScreenshots(t, s, b) })
	t.Run("FailedTestSavesScreenshots", func(t *testing.T) { testFailedTestSavesScreenshots(t, s, b) })
	t.Run("StepTimesOut", func(t *testing.T) { testStepTimesOut(t, s, b) })
}

func testNavigateAndRead(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)
	if got := tab.Status(); got != 0 {
		t.Errorf("Status() before any page = %d, want 0", got)
	}
	tab.Go(s.URL + "/form")
	if got := tab.Status(); got != http.StatusOK {
		t.Errorf("Status() = %d, want 200", got)
	}
	if got := tab.URL(); got != s.URL+"/form" {
		t.Errorf("URL() = %q, want %q", got, s.URL+"/form")
	}
	if got := tab.Text("h1"); got != "Sign up" {
		t.Errorf(`Text("h1") = %q, want "Sign up"`, got)
	}
	if got := tab.HTML(); !strings.Contains(got, `<a id="other" href="/other">Other page</a>`) {
		t.Errorf("HTML() lacks the link:\n%s", got)
	}
	tab.WaitVisible("#save")
	var title string
	tab.Eval(`document.title`, &title)
	if title != "site" {
		t.Errorf("Eval(document.title) = %q, want \"site\"", title)
	}
	var sum struct{ N int }
	tab.Eval(`Promise.resolve({N: 40 + 2})`, &sum)
	if sum.N != 42 {
		t.Errorf("Eval of a promise = %+v, want {N:42}", sum)
	}
	tab.Eval(`undefined`, nil)

	tab.ClickAndWait("#other")
	if got := tab.Text("#result"); got != "Other" {
		t.Errorf("after ClickAndWait, #result = %q, want \"Other\"", got)
	}
}

func testStatus(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)
	for _, tc := range []struct {
		path    string
		status  int
		wantURL string
	}{
		{"/forbidden", http.StatusForbidden, "/forbidden"},
		{"/missing", http.StatusNotFound, "/missing"},
		{"/redirect", http.StatusOK, "/other"},
		{"/form", http.StatusOK, "/form"},
	} {
		tab.Go(s.URL + tc.path)
		if got := tab.Status(); got != tc.status {
			t.Errorf("Go(%s): Status() = %d, want %d", tc.path, got, tc.status)
		}
		if got := tab.URL(); got != s.URL+tc.wantURL {
			t.Errorf("Go(%s): URL() = %q, want %q", tc.path, got, s.URL+tc.wantURL)
		}
	}
	// A navigation the page makes by itself is seen too.
	tab.Eval(`location.href = "/forbidden"`, nil)
	tab.WaitText("#result", "Forbidden")
	if got := tab.Status(); got != http.StatusForbidden {
		t.Errorf("after a navigation by script, Status() = %d, want 403", got)
	}
}

func testSubmitForm(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)

	tab.Go(s.URL + "/form")
	tab.SetValue("#name", "Ada <Lovelace>")
	tab.Submit("form")
	if got := tab.Text("#result"); got != "Hello Ada <Lovelace>" {
		t.Errorf("after Submit, #result = %q", got)
	}
	if got := tab.URL(); got != s.URL+"/posted" {
		t.Errorf("after Submit, URL() = %q", got)
	}
	if got := tab.Status(); got != http.StatusOK {
		t.Errorf("after Submit, Status() = %d, want 200", got)
	}

	tab.Go(s.URL + "/form")
	tab.Type("#name", "Grace")
	tab.ClickAndWait("#save")
	tab.WaitText("#result", "Hello Grace")

	// Enter in a field submits its form, as for a user.
	tab.Go(s.URL + "/form")
	tab.Type("#name", "Linus")
	tab.Press("Enter")
	tab.WaitText("#result", "Hello Linus")
}

func testTabsAreIsolated(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	alice, bob := b.NewTab(t), b.NewTab(t)
	alice.Go(s.URL + "/cookie?set=alice")
	bob.Go(s.URL + "/cookie?set=bob")
	alice.Go(s.URL + "/cookie")
	bob.Go(s.URL + "/cookie")
	if got := alice.Text("#result"); got != "alice" {
		t.Errorf("alice's tab sees the cookie of %q", got)
	}
	if got := bob.Text("#result"); got != "bob" {
		t.Errorf("bob's tab sees the cookie of %q", got)
	}
	if third := b.NewTab(t); true {
		third.Go(s.URL + "/cookie")
		if got := third.Text("#result"); got != "nobody" {
			t.Errorf("a new tab sees the cookie of %q", got)
		}
	}
}

func testCheckLabels(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)

	tab.Go(s.URL + "/form")
	good := &recorder{TB: t}
	if n := browsertest.CheckLabels(good, tab); n != 0 || len(good.errors) != 0 {
		t.Errorf("CheckLabels on a labelled form = %d, errors %q", n, good.errors)
	}

	tab.Go(s.URL + "/nolabel")
	bad := &recorder{TB: t}
	if n := browsertest.CheckLabels(bad, tab); n != 2 {
		t.Errorf("CheckLabels on /nolabel = %d, want 2", n)
	}
	if len(bad.errors) != 2 ||
		!strings.Contains(bad.errors[0], `<input name="nolabel">`) ||
		!strings.Contains(bad.errors[1], `<input name="emptylabel">`) {
		t.Errorf("CheckLabels on /nolabel reported %q, want the fields nolabel and emptylabel", bad.errors)
	}
	for _, e := range bad.errors {
		if !strings.Contains(e, s.URL+"/nolabel") {
			t.Errorf("report %q does not name the page", e)
		}
	}
}

func testCheckKeyboard(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)

	tab.Go(s.URL + "/form")
	good := &recorder{TB: t}
	if n := browsertest.CheckKeyboard(good, tab); n != 0 || len(good.errors) != 0 {
		t.Errorf("CheckKeyboard on /form = %d, errors %q", n, good.errors)
	}
	if got := tab.Focused(); got != "other" {
		t.Errorf("after CheckKeyboard on /form the focus is on %q, want the last element, #other", got)
	}

	tab.Go(s.URL + "/keyboard-bad")
	bad := &recorder{TB: t}
	n := browsertest.CheckKeyboard(bad, tab)
	if n != 2 || len(bad.errors) != 2 {
		t.Fatalf("CheckKeyboard on /keyboard-bad = %d, errors %q; want the skipped link and the jumping button", n, bad.errors)
	}
	if e := bad.errors[0]; !strings.Contains(e, "never reaches") || !strings.Contains(e, `id="skipped"`) {
		t.Errorf("first report %q, want the link with tabindex=-1", e)
	}
	if e := bad.errors[1]; !strings.Contains(e, "out of DOM order: its tabindex is positive") || !strings.Contains(e, `id="jumper"`) {
		t.Errorf("second report %q, want the button with tabindex=1", e)
	}
	for _, e := range bad.errors {
		if strings.Contains(e, `id="hidden"`) || strings.Contains(e, `id="disabled"`) {
			t.Errorf("report %q names a hidden or disabled button", e)
		}
	}
}

func testPressAndFocused(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)
	tab.Go(s.URL + "/form")
	if got := tab.Focused(); got != "" {
		t.Errorf("Focused() on a new page = %q, want \"\"", got)
	}
	tab.Press("Tab")
	if got := tab.Focused(); got != "name" {
		t.Errorf("after Tab, Focused() = %q, want \"name\"", got)
	}
	tab.Press("Tab")
	if got := tab.Focused(); !strings.HasPrefix(got, `<input name="email"`) {
		t.Errorf("after Tab Tab, Focused() = %q, want the email field's HTML", got)
	}
	tab.Press("Shift+Tab")
	if got := tab.Focused(); got != "name" {
		t.Errorf("after Shift+Tab, Focused() = %q, want \"name\"", got)
	}
	tab.Press("x")
	tab.Press("Space")
	var v string
	tab.Eval(`document.getElementById("name").value`, &v)
	if v != "x " {
		t.Errorf("after pressing x and Space the field holds %q", v)
	}
}

func testCSPViolations(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)

	tab.Go(s.URL + "/csp-external")
	var title string
	tab.Eval(`document.title`, &title)
	if title != "external ran" {
		t.Errorf("the same-origin script did not run: title %q", title)
	}
	if v := tab.CSPViolations(); len(v) != 0 {
		t.Errorf("CSPViolations() on a page that keeps its policy = %q", v)
	}

	tab.Go(s.URL + "/csp-inline")
	tab.Eval(`document.title`, &title)
	if title != "site" {
		t.Errorf("the inline script ran under default-src 'self': title %q", title)
	}
	v := tab.CSPViolations()
	if len(v) != 1 || !strings.Contains(v[0], "inline script") || !strings.Contains(v[0], "default-src 'self'") {
		t.Fatalf("CSPViolations() = %q, want the inline script", v)
	}
	if e := tab.ConsoleErrors(); !slices.Contains(e, "security: "+v[0]) {
		t.Errorf("ConsoleErrors() = %q, want the violation too", e)
	}

	tab.Go(s.URL + "/csp-foreign")
	tab.Eval(`document.title`, &title)
	if title != "site" {
		t.Errorf("a script of another origin ran under default-src 'self': title %q", title)
	}
	v = tab.CSPViolations()
	if len(v) != 2 || !strings.Contains(v[1], "http://localhost:") || !strings.Contains(v[1], "Content Security Policy") {
		t.Errorf("CSPViolations() = %q, want the inline script and the script of another origin", v)
	}

	tab.Go(s.URL + "/csp-report-only")
	tab.Eval(`document.title`, &title)
	if title != "inline ran" {
		t.Errorf("a report-only policy blocked the inline script: title %q", title)
	}
	if v = tab.CSPViolations(); len(v) != 3 || !strings.Contains(v[2], "inline script") {
		t.Errorf("CSPViolations() = %q, want the report-only violation third", v)
	}
}

func testConsoleErrors(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	tab := b.NewTab(t)
	tab.Go(s.URL + "/form")
	if e := tab.ConsoleErrors(); len(e) != 0 {
		t.Errorf("ConsoleErrors() on a clean page = %q", e)
	}
	tab.Go(s.URL + "/console-error")
	if e := tab.ConsoleErrors(); !slices.Contains(e, "console.error: boom 42") {
		t.Errorf("ConsoleErrors() = %q, want console.error: boom 42", e)
	}
	if v := tab.CSPViolations(); len(v) != 0 {
		t.Errorf("CSPViolations() without a policy = %q", v)
	}
}

func testScreenshots(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	dir := t.TempDir()
	t.Setenv(browsertest.ScreenshotsEnv, dir)
	tab := b.NewTab(t)
	tab.Go(s.URL + "/tall")

	path := tab.Screenshot("tall")
	if want := filepath.Join(dir, "TestBrowser_Screenshots-tall.png"); path != want {
		t.Errorf("Screenshot path %q, want %q", path, want)
	}
	w, h := pngSize(t, path)
	if w != browsertest.ViewportWidth || h < 3000 {
		t.Errorf("full-page screenshot is %dx%d, want %d wide and at least 3000 high", w, h, browsertest.ViewportWidth)
	}

	docs := filepath.Join(t.TempDir(), "docs", "tall.png")
	t.Setenv(browsertest.UpdateScreenshotsEnv, "")
	if browsertest.SaveScreenshot(t, tab, docs) {
		t.Error("SaveScreenshot wrote without " + browsertest.UpdateScreenshotsEnv)
	}
	if _, err := os.Stat(docs); !os.IsNotExist(err) {
		t.Errorf("SaveScreenshot without %s left a file: %v", browsertest.UpdateScreenshotsEnv, err)
	}
	t.Setenv(browsertest.UpdateScreenshotsEnv, "1")
	if !browsertest.SaveScreenshot(t, tab, docs) {
		t.Error("SaveScreenshot did not write with " + browsertest.UpdateScreenshotsEnv + "=1")
	}
	pngSize(t, docs)
}

func testFailedTestSavesScreenshots(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	dir := t.TempDir()
	t.Setenv(browsertest.ScreenshotsEnv, dir)

	passed := &recorder{TB: t}
	b.NewTab(passed).Go(s.URL + "/form")
	passed.cleanup()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a passing test left screenshots: %v", entries)
	}

	failed := &recorder{TB: t}
	one, two := b.NewTab(failed), b.NewTab(failed)
	one.Go(s.URL + "/form")
	two.Go(s.URL + "/tall")
	failed.Errorf("the test fails")
	failed.cleanup()
	for _, tab := range []*browsertest.Tab{one, two} {
		path := filepath.Join(dir, "TestBrowser_FailedTestSavesScreenshots-"+tab.Name+".png")
		pngSize(t, path)
		if !slices.ContainsFunc(failed.logs, func(l string) bool { return strings.Contains(l, path) }) {
			t.Errorf("the path %s is not logged: %q", path, failed.logs)
		}
	}
}

func testStepTimesOut(t *testing.T, s *httptest.Server, b *browsertest.Browser) {
	t.Setenv(browsertest.ScreenshotsEnv, t.TempDir()) // the failures are made up
	r := &recorder{TB: t}
	tab := b.NewTab(r)
	tab.Go(s.URL + "/form") // at the default timeout: a loaded machine takes more than 300ms to load it
	tab.Timeout = 300 * time.Millisecond
	start := time.Now()
	r.do(func() { tab.WaitText("h1", "never there") })
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("WaitText gave up after %v, want about 300ms", took)
	}
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `does not contain "never there"`) || !strings.Contains(r.errors[0], `"Sign up"`) {
		t.Errorf("WaitText failure = %q, want the text it saw", r.errors)
	}
	r.errors = nil
	r.do(func() { tab.Click("#no-such-element") })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "#no-such-element") {
		t.Errorf("Click on a missing element: %q", r.errors)
	}
	r.errors = nil
	r.do(func() { tab.Press("NoSuchKey") })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "NoSuchKey") {
		t.Errorf("Press of an unknown key: %q", r.errors)
	}
	r.cleanup()
}

func TestNoChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	r.do(func() { browsertest.New(r) })
	if !r.skipped || len(r.errors) != 0 {
		t.Errorf("without chromium and CI: skipped %v, errors %q; want a skip", r.skipped, r.errors)
	}

	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	r.do(func() { browsertest.New(r) })
	if r.skipped || len(r.errors) != 1 || !strings.Contains(r.errors[0], "apt-get install -y chromium") {
		t.Errorf("without chromium and with CI=true: skipped %v, errors %q; want a failure", r.skipped, r.errors)
	}
}

func TestNoOrphans(t *testing.T) {
	if _, err := exec.LookPath("pgrep"); err != nil {
		t.Skip("pgrep is not installed")
	}
	s := site(t)
	var dir string
	t.Run("browser", func(t *testing.T) {
		b := browsertest.New(t)
		dir = b.UserDataDir
		tab := b.NewTab(t)
		tab.Go(s.URL + "/form")
		if out, _ := exec.Command("pgrep", "-f", "--", "--user-data-dir="+dir).Output(); len(bytes.Fields(out)) < 2 {
			t.Errorf("pgrep finds %q for the running browser, want it and its children", out)
		}
	})
	out, err := exec.Command("pgrep", "-f", "--", "--user-data-dir="+dir).Output()
	if err == nil || len(out) != 0 {
		t.Errorf("processes of the browser left after its test: %q", out)
	}
}

// recorder is a testing.TB that records failures, skips, logs and
// cleanups instead of acting on them; Fatal and Skip end the goroutine, so
// call what may use them in do.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	logs     []string
	failed   bool
	skipped  bool
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	r.failed = true
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) { r.Skip() }
func (r *recorder) SkipNow()                         { r.Skip() }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Log(args ...any) { r.Logf("%s", fmt.Sprint(args...)) }

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// cleanup runs the recorded cleanups, last first.
func (r *recorder) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// do runs f on a goroutine of its own, which Fatal and Skip may end.
func (r *recorder) do(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// pngSize decodes the PNG at path and returns its size.
func pngSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.Width, cfg.Height
}
