package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Tab is one page of a Browser in a browser context of its own: its
// cookies, storage and cache are its alone. Every method runs one step,
// bounded by Timeout, and fails the test with t.Fatalf when the step fails
// or times out. Selectors are CSS selectors; a step on an element waits
// until the first element that matches exists. Methods are for the test's
// goroutine.
type Tab struct {
	// Timeout bounds each step. Zero means DefaultTimeout.
	Timeout time.Duration
	// Name names the tab in the paths of its screenshots: "tab1", "tab2",
	// … in the order the browser opened them.
	Name string

	t      testing.TB
	ctx    context.Context
	cancel func()
	rec    recorder
}

// NewTab opens a tab in a new browser context, which shares nothing with
// the other tabs (two users can be signed in at once), at about:blank.
// The tab is closed when t ends; if t has failed by then, the tab first
// saves a screenshot (see ScreenshotDir) and logs its path.
func (b *Browser) NewTab(t testing.TB) *Tab {
	t.Helper()
	b.mu.Lock()
	b.tabs++
	n := b.tabs
	b.mu.Unlock()
	tab := &Tab{Name: fmt.Sprintf("tab%d", n), t: t}
	parent, cancelParent := context.WithCancel(b.ctx)
	ctx, cancel := chromedp.NewContext(parent,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tab.rec.listen))
	tab.ctx = ctx
	tab.cancel = func() { cancel(); cancelParent() }

	// The first Run opens the tab and binds it to ctx, which must not
	// carry a deadline: a timer closes it instead if it hangs.
	timer := time.AfterFunc(StartTimeout, cancelParent)
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(ViewportWidth, ViewportHeight),
		// A tab whose window is not in front still gets focus events, so
		// that keyboard tests work in every tab.
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			_, err := cdp.Call(ctx, tgt, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	)
	timer.Stop()
	if err != nil {
		tab.cancel()
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	tab.rec.mu.Lock()
	tab.rec.main = cdp.FrameID(chromedp.FromContext(ctx).Target.TargetID)
	tab.rec.mu.Unlock()
	t.Cleanup(tab.close)
	return tab
}

// close saves a screenshot if the test failed and closes the tab.
func (tab *Tab) close() {
	if tab.t.Failed() {
		if path, err := tab.saveFailure(); err != nil {
			tab.t.Logf("browsertest: no screenshot of %s: %v", tab.Name, err)
		} else {
			tab.t.Logf("browsertest: screenshot of %s at %s (%s)", tab.Name, tab.url(), path)
		}
	}
	tab.cancel()
}

// run runs one step bounded by the tab's timeout and fails the test with
// what (a description of the step) if it fails.
func run[T any](tab *Tab, what string, a chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.timeout())
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tab.t.Fatalf("browsertest: %s %s: %v", tab.Name, what, err)
	}
	return v
}

func (tab *Tab) timeout() time.Duration {
	if tab.Timeout > 0 {
		return tab.Timeout
	}
	return DefaultTimeout
}

// Go loads url and waits until the page has loaded. An HTTP error status
// is not a failure: read it with Status.
func (tab *Tab) Go(url string) {
	tab.t.Helper()
	resp := run(tab, "go to "+url, chromedp.NavigateResponse(url))
	if resp != nil {
		tab.setStatus(int(resp.Status))
	}
}

// Click clicks the first element that matches sel, with the mouse, once it
// is visible. It does not wait for a page the click may lead to; use
// ClickAndWait for that.
func (tab *Tab) Click(sel string) {
	tab.t.Helper()
	run(tab, "click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// ClickAndWait clicks the first element that matches sel, like Click, and
// waits until the page the click leads to has loaded.
func (tab *Tab) ClickAndWait(sel string) {
	tab.t.Helper()
	tab.navigate("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// navigate runs steps that load a page, waits until it has loaded and
// records its status, within one timeout.
func (tab *Tab) navigate(what string, steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.timeout())
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		tab.t.Fatalf("browsertest: %s %s and wait for the page it loads: %v", tab.Name, what, err)
	}
	if resp != nil {
		tab.setStatus(int(resp.Status))
	}
}

// SetValue sets the value of the form field that matches sel, without
// key events.
func (tab *Tab) SetValue(sel, value string) {
	tab.t.Helper()
	run(tab, "set the value of "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// Type focuses the element that matches sel and types text into it, one
// key event per character, after what it already holds.
func (tab *Tab) Type(sel, text string) {
	tab.t.Helper()
	run(tab, "type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// Submit submits the form that matches sel, or the form of the field or
// button that matches it, as a click on a submit button would (submit
// event and constraint validation included), and waits until the page it
// leads to has loaded. A form whose submission does not load a page makes
// Submit time out.
func (tab *Tab) Submit(sel string) {
	tab.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		const form = el instanceof HTMLFormElement ? el : el && el.form;
		if (!form) return false;
		form.requestSubmit();
		return true;
	})()`, jsString(sel))
	tab.navigate("submit "+sel,
		chromedp.Query(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			ok, err := chromedp.Evaluate[bool](js)(ctx, tgt)
			if err == nil && !ok {
				err = fmt.Errorf("no form at %s", sel)
			}
			return err
		}))
}

// Text returns the rendered text (innerText) of the first element that
// matches sel.
func (tab *Tab) Text(sel string) string {
	tab.t.Helper()
	return run(tab, "read the text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
}

// HTML returns the outer HTML of the document as it is now.
func (tab *Tab) HTML() string {
	tab.t.Helper()
	return run(tab, "read the HTML", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// URL returns the URL of the page the tab shows.
func (tab *Tab) URL() string {
	tab.t.Helper()
	return run(tab, "read the URL", chromedp.Location())
}

// url is URL for reports: it never fails the test.
func (tab *Tab) url() string {
	ctx, cancel := context.WithTimeout(tab.ctx, time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown URL"
	}
	return u
}

// WaitVisible waits until the first element that matches sel is visible.
func (tab *Tab) WaitVisible(sel string) {
	tab.t.Helper()
	run(tab, "wait until "+sel+" is visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitText waits until the rendered text of the first element that
// matches sel contains substr. It fails the test with the text it last saw.
func (tab *Tab) WaitText(sel, substr string) {
	tab.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : null; })()`, jsString(sel))
	var text *string // the text last seen, nil before any
	var lastErr error
	deadline := time.Now().Add(tab.timeout())
	for {
		ctx, cancel := context.WithDeadline(tab.ctx, deadline)
		// A page that is navigating has no document to ask for a moment:
		// such errors only mean "not yet".
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](js))
		cancel()
		if err == nil && v != nil {
			if strings.Contains(*v, substr) {
				return
			}
			text = v
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) || tab.ctx.Err() != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	switch {
	case text != nil:
		tab.t.Fatalf("browsertest: %s: the text of %s does not contain %q after %v; it is %q", tab.Name, sel, substr, tab.timeout(), *text)
	case lastErr != nil && !errors.Is(lastErr, context.DeadlineExceeded):
		tab.t.Fatalf("browsertest: %s: wait for %q in %s: %v", tab.Name, substr, sel, lastErr)
	default:
		tab.t.Fatalf("browsertest: %s: no element matches %s after %v (waiting for %q)", tab.Name, sel, tab.timeout(), substr)
	}
}

// Eval evaluates the JavaScript expression js in the page, awaits it if it
// is a promise, and decodes its JSON value into out (a pointer, as for
// json.Unmarshal). A nil out discards the value. A thrown exception fails
// the test.
func (tab *Tab) Eval(js string, out any) {
	tab.t.Helper()
	raw := run(tab, "evaluate "+abbrev(js), chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if out == nil {
		return
	}
	if len(raw) == 0 {
		raw = []byte("null") // undefined
	}
	if err := json.Unmarshal(raw, out); err != nil {
		tab.t.Fatalf("browsertest: %s: decode the value of %s into %T: %v", tab.Name, abbrev(js), out, err)
	}
}

// keys names the keys Press knows besides single characters.
var keys = map[string]string{
	"Tab":        kb.Tab,
	"Enter":      kb.Enter,
	"Escape":     kb.Escape,
	"Space":      " ",
	"Backspace":  kb.Backspace,
	"Delete":     kb.Delete,
	"ArrowUp":    kb.ArrowUp,
	"ArrowDown":  kb.ArrowDown,
	"ArrowLeft":  kb.ArrowLeft,
	"ArrowRight": kb.ArrowRight,
	"Home":       kb.Home,
	"End":        kb.End,
	"PageUp":     kb.PageUp,
	"PageDown":   kb.PageDown,
}

// Press presses and releases one key on the focused element: a name of
// the DOM's KeyboardEvent.key such as "Tab", "Enter", "Escape", "Space"
// or "ArrowDown", optionally with a "Shift+" prefix ("Shift+Tab"), or a
// single character. Press does not wait for a page the key may load.
func (tab *Tab) Press(key string) {
	tab.t.Helper()
	var opts []chromedp.KeyOption
	name := key
	if rest, ok := strings.CutPrefix(key, "Shift+"); ok {
		name = rest
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	k, ok := keys[name]
	if !ok {
		if len([]rune(name)) != 1 {
			names := make([]string, 0, len(keys))
			for n := range keys {
				names = append(names, n)
			}
			slices.Sort(names)
			tab.t.Fatalf("browsertest: Press(%q): want one character or one of %s, optionally with Shift+", key, strings.Join(names, ", "))
		}
		k = name
	}
	run(tab, "press "+key, chromedp.KeyEvent(k, opts...))
}

// Focused describes the element that has the keyboard focus: its id, or
// its outer HTML when it has no id; "" when nothing (the body) has focus.
func (tab *Tab) Focused() string {
	tab.t.Helper()
	return run(tab, "read the focused element", chromedp.Evaluate[string](`(() => {
		const e = document.activeElement;
		if (!e || e === document.body || e === document.documentElement) return "";
		return e.id || e.outerHTML;
	})()`))
}

// Status returns the HTTP status code of the last document the tab loaded
// in its main frame, by Go, ClickAndWait, Submit or any navigation the
// page made; 0 before the first. A redirect counts by its target.
func (tab *Tab) Status() int {
	tab.rec.mu.Lock()
	defer tab.rec.mu.Unlock()
	return tab.rec.status
}

func (tab *Tab) setStatus(code int) {
	tab.rec.mu.Lock()
	tab.rec.status = code
	tab.rec.mu.Unlock()
}

// ConsoleErrors returns the errors the tab's pages wrote to the console
// so far: console.error and console.assert calls, uncaught exceptions and
// the browser's own error messages (failed loads, CSP violations), each as
// "source: text".
func (tab *Tab) ConsoleErrors() []string {
	tab.t.Helper()
	tab.flush()
	tab.rec.mu.Lock()
	defer tab.rec.mu.Unlock()
	return slices.Clone(tab.rec.console)
}

// CSPViolations returns the Content Security Policy violations the
// browser reported for the tab's pages so far, as the browser's console
// words them ("Executing inline script violates the following Content
// Security Policy directive …"), enforced and report-only ones alike.
func (tab *Tab) CSPViolations() []string {
	tab.t.Helper()
	tab.flush()
	tab.rec.mu.Lock()
	defer tab.rec.mu.Unlock()
	return slices.Clone(tab.rec.csp)
}

// flush makes a round trip to the page, so that the events the browser
// sent before it have been recorded.
func (tab *Tab) flush() {
	tab.t.Helper()
	run(tab, "read the console", chromedp.Evaluate[chromedp.Void](`0`))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// abbrev shortens a script for messages.
func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
