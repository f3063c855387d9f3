package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/browsertest"
)

// startAnalyticsNode runs a cluster node on the Redis at url with the
// embedded analytics store flushed every 200 ms, so that a run-time
// analytics address takes its records at once; it is closed when t ends.
func startAnalyticsNode(t *testing.T, url, name string) *Main {
	t.Helper()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	c := DefaultConfig()
	c.DataDir, c.GatewayAddr, c.AdminAddr, c.LogLevel = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "warn"
	c.Datastore, c.NodeName = url, name
	c.AnalyticsFlushInterval = 200 * time.Millisecond
	m := &Main{Config: c, Stdout: io.Discard, Stderr: testWriter{t}}
	t.Cleanup(func() { m.Close() })
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// buildInBackground starts building this command into a temporary
// directory while the test goes on, and returns a function that waits for
// the build and returns the binary's path. Unlike buildPortico the build
// runs beside the test's goroutine; the test waits for it before it ends.
func buildInBackground(t *testing.T) func() string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "portico")
	done := make(chan error, 1)
	go func() {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("build: %v\n%s", err, out)
		}
		done <- err
	}()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() { wait() }) // before the directory is removed
	return func() string {
		t.Helper()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		return bin
	}
}

// pollPage evaluates the JavaScript expression js (a boolean) in tab every
// 100 ms until it is true, and fails the test after limit, showing what
// the expression describe (a string) gave last.
func pollPage(t *testing.T, tab *browsertest.Tab, what string, limit time.Duration, js, describe string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		tab.Eval(js, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var last string
			tab.Eval(describe, &last)
			t.Fatalf("%s: not after %v; the page shows: %s", what, limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn signs user in through the console's sign-in form at base
// (http://host:port) and waits for the page it leads to.
func signIn(t *testing.T, tab *browsertest.Tab, base, user, pass string, checks *pageChecks) {
	t.Helper()
	tab.Go(base + "/console/login")
	if checks != nil {
		checks.check(t, tab, "login")
	}
	tab.SetValue("#username", user)
	tab.SetValue("#password", pass)
	tab.ClickAndWait(`form.login button[type="submit"]`)
	if strings.Contains(tab.URL(), "/console/login") {
		t.Fatalf("signing in %s: still on %s (status %d): %s", user, tab.URL(), tab.Status(), tab.Text("main"))
	}
}

// pageChecks runs the accessibility and policy checks of a page and
// remembers which console errors and CSP violations of each tab it has
// already reported, so that each is reported on the page that caused it.
type pageChecks struct {
	seenConsole, seenCSP map[*browsertest.Tab]int
	pages                []string
}

func newPageChecks() *pageChecks {
	return &pageChecks{seenConsole: map[*browsertest.Tab]int{}, seenCSP: map[*browsertest.Tab]int{}}
}

// check runs CheckLabels and CheckKeyboard on the page tab shows, named
// name, and reports each console error and CSP violation since the last
// check of tab.
func (c *pageChecks) check(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	c.pages = append(c.pages, name)
	browsertest.CheckLabels(t, tab)
	browsertest.CheckKeyboard(t, tab)
	c.reportNew(t, tab, name)
}

// reportNew reports the console errors and CSP violations of tab since
// the last call.
func (c *pageChecks) reportNew(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	errs, csp := tab.ConsoleErrors(), tab.CSPViolations()
	for _, e := range errs[c.seenConsole[tab]:] {
		t.Errorf("console error on the %s page (%s): %s", name, tab.URL(), e)
	}
	for _, v := range csp[c.seenCSP[tab]:] {
		t.Errorf("CSP violation on the %s page (%s): %s", name, tab.URL(), v)
	}
	c.seenConsole[tab], c.seenCSP[tab] = len(errs), len(csp)
}

// skip forgets the console errors and CSP violations of tab so far: those
// of pages that answer an error status on purpose.
func (c *pageChecks) skip(tab *browsertest.Tab) {
	c.seenConsole[tab], c.seenCSP[tab] = len(tab.ConsoleErrors()), len(tab.CSPViolations())
}

// docScreenshot writes the documentation's screenshot name.png of tab
// under docs/console when PORTICO_UPDATE_SCREENSHOTS=1, and fails the
// test when the file is over 300 KB.
func docScreenshot(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	path := filepath.Join("..", "..", "docs", "console", name+".png")
	if os.Getenv(browsertest.UpdateScreenshotsEnv) != "1" {
		return
	}
	tab.Eval(`document.activeElement?.blur()`, nil) // no focus ring left by the keyboard check
	if !browsertest.SaveScreenshot(t, tab, path) {
		return
	}
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if st.Size() > 300<<10 {
		t.Errorf("%s is %d KB, want at most 300 KB", path, st.Size()>>10)
	}
}

// navLinks returns the paths of the main menu's links on the page tab
// shows.
func navLinks(t *testing.T, tab *browsertest.Tab) []string {
	t.Helper()
	var links []string
	tab.Eval(`Array.from(document.querySelectorAll('nav[aria-label="Main"] a')).map(a => a.getAttribute("href"))`, &links)
	slices.Sort(links)
	return links
}
