package browsertest

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

// recorder keeps what a tab's pages told the browser: the status of the
// last main-frame document, console errors and CSP violations. Its listen
// method runs on chromedp's reader goroutine; the Tab reads it on the
// test's goroutine.
type recorder struct {
	mu      sync.Mutex
	main    cdp.FrameID // the tab's main frame: its target ID
	status  int
	console []string
	csp     []string
}

// listen is a chromedp listener. It must return fast and call nothing of
// chromedp's.
func (r *recorder) listen(ev any) {
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument || ev.Response == nil {
			return
		}
		r.mu.Lock()
		if ev.FrameID == r.main {
			r.status = int(ev.Response.Status)
		}
		r.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			r.add("console."+string(ev.Type)+": "+argsText(ev.Args), "")
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			r.add("exception: "+text, "")
		}
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil {
			if e.Source == log.EntrySourceNetwork && strings.HasSuffix(e.URL, "/favicon.ico") {
				return // the browser's own request, not the page's
			}
			var csp string
			if isCSPViolation(e) {
				csp = e.Text
			}
			if e.Level == log.EntryLevelError || csp != "" {
				r.add(string(e.Source)+": "+e.Text, csp)
			}
		}
	}
}

// add records a console error and, when csp is not empty, a violation.
func (r *recorder) add(console, csp string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.console = append(r.console, console)
	if csp != "" {
		r.csp = append(r.csp, csp)
	}
}

// isCSPViolation reports whether an entry of the browser's log is a
// Content Security Policy violation, enforced or report-only. Older
// Chromium words them "Refused to execute inline script because it
// violates the following Content Security Policy directive …", Chromium
// 156 "Executing inline script violates the following Content Security
// Policy directive …" and "Loading the script '…' violates …"; they come
// from the source "security".
func isCSPViolation(e *log.Entry) bool {
	if !strings.Contains(e.Text, "Content Security Policy") {
		return false
	}
	return e.Source == log.EntrySourceSecurity ||
		strings.HasPrefix(strings.TrimPrefix(e.Text, "[Report Only] "), "Refused to ")
}

// argsText renders the arguments of a console call as the console shows
// them: strings as they are, other values by their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			if json.Unmarshal(a.Value, &s) != nil {
				s = string(a.Value)
			}
		case a.Description != "":
			s = a.Description
		case len(a.Value) > 0:
			s = string(a.Value)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
