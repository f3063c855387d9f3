package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// describeJS defines describe(e): an element's outer HTML, shortened, to
// name it in reports.
const describeJS = `const describe = e => {
	const h = e.outerHTML.replace(/\s+/g, " ");
	return h.length > 160 ? h.slice(0, 157) + "..." : h;
};`

// labelsJS lists the form fields of the page that have no accessible
// name: no <label for=id> and no wrapping <label> with text, no
// aria-label, no aria-labelledby pointing at text.
const labelsJS = `(() => {
	` + describeJS + `
	const buttons = new Set(["hidden", "submit", "button", "reset", "image"]);
	const text = n => (n.textContent || "").trim();
	// The text of a label without the fields inside it.
	const labelText = l => {
		const c = l.cloneNode(true);
		c.querySelectorAll("input, select, textarea, button").forEach(x => x.remove());
		return text(c);
	};
	const out = [];
	for (const e of document.querySelectorAll("input, select, textarea")) {
		if (e instanceof HTMLInputElement && buttons.has(e.type)) continue;
		if ((e.getAttribute("aria-label") || "").trim()) continue;
		const by = (e.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
		if (by.some(id => { const l = document.getElementById(id); return l && text(l); })) continue;
		if (Array.from(e.labels || []).some(l => labelText(l))) continue;
		out.push(describe(e));
	}
	return out;
})()`

// CheckLabels reports with t.Errorf each form field (input, select,
// textarea; not hidden inputs and buttons) of the page tab shows that has
// no accessible name: a <label for=id> or a wrapping <label>, with text,
// an aria-label or an aria-labelledby. It returns how many it reported.
func CheckLabels(t testing.TB, tab *Tab) int {
	t.Helper()
	offenders := run(tab, "check the labels", chromedp.Evaluate[[]string](labelsJS))
	if len(offenders) > 0 {
		url := tab.URL()
		for _, o := range offenders {
			t.Errorf("browsertest: CheckLabels: %s on %s has no label (<label for=id>, a wrapping <label> with text, aria-label or aria-labelledby)", o, url)
		}
	}
	return len(offenders)
}

// keyboardSetupJS lists the elements the keyboard must reach (visible,
// enabled links with href, buttons, inputs other than hidden, selects and
// textareas, in DOM order) with the group each belongs to (the radio
// buttons of one name and form form one group: Tab reaches one of them),
// keeps them in window.__browsertestKeyboard and moves the keyboard's
// starting point before the first element of the body.
const keyboardSetupJS = `(() => {
	` + describeJS + `
	const visible = e => {
		const s = getComputedStyle(e);
		return s.visibility !== "hidden" && s.display !== "none" && e.getClientRects().length > 0;
	};
	const els = Array.from(document.querySelectorAll("a[href], button, input, select, textarea")).filter(e =>
		!(e instanceof HTMLInputElement && e.type === "hidden") && !e.disabled && !e.closest("[inert]") && visible(e));
	window.__browsertestKeyboard = els;
	const groups = new Map();
	const out = els.map((e, i) => {
		let g = i;
		if (e instanceof HTMLInputElement && e.type === "radio" && e.name) {
			const key = (e.form ? Array.from(document.forms).indexOf(e.form) : -1) + " " + e.name;
			if (!groups.has(key)) groups.set(key, i);
			g = groups.get(key);
		}
		return {html: describe(e), group: g, tabIndex: e.tabIndex};
	});
	const start = document.createElement("span");
	start.id = "__browsertest-start";
	start.tabIndex = -1;
	document.body.prepend(start);
	start.focus();
	return out;
})()`

// keyboardElement is one element CheckKeyboard must reach.
type keyboardElement struct {
	HTML     string `json:"html"`
	Group    int    `json:"group"` // the index of the first element of its group
	TabIndex int    `json:"tabIndex"`
}

// CheckKeyboard presses Tab on the page tab shows, from its start, until
// the focus has reached every focusable element, or up to eight presses
// per element and five more (a date-and-time input takes one per part of
// the date and time, and its picker button), and reports with
// t.Errorf each visible, enabled link, button, input, select and textarea
// that the focus never reached, and each that it reached out of DOM order
// (a positive tabindex). Of a group of radio buttons, reaching one is
// enough. It returns how many problems it reported. The focus is left where
// the last Tab put it.
func CheckKeyboard(t testing.TB, tab *Tab) int {
	t.Helper()
	els := run(tab, "list the focusable elements", chromedp.Evaluate[[]keyboardElement](keyboardSetupJS))
	defer run(tab, "clean up after the keyboard check", chromedp.Evaluate[chromedp.Void](
		`document.getElementById("__browsertest-start")?.remove(), delete window.__browsertestKeyboard`))

	groups := map[int]bool{} // groups still to reach
	for _, e := range els {
		groups[e.Group] = true
	}
	var order []int // groups in the order the focus first reached them
	for i := 0; i < 8*len(els)+5 && len(groups) > 0; i++ {
		tab.Press("Tab")
		at := run(tab, "read the focused element", chromedp.Evaluate[int](
			`window.__browsertestKeyboard ? window.__browsertestKeyboard.indexOf(document.activeElement) : -1`))
		if at < 0 || at >= len(els) {
			continue
		}
		if g := els[at].Group; groups[g] {
			delete(groups, g)
			order = append(order, g)
		}
	}

	problems := 0
	url := ""
	report := func(format string, args ...any) {
		t.Helper()
		if url == "" {
			url = tab.URL()
		}
		problems++
		t.Errorf("browsertest: CheckKeyboard: "+format+" on %s", append(args, url)...)
	}
	reported := map[int]bool{}
	for i, e := range els {
		switch {
		case e.Group == i && groups[i]:
			report("Tab never reaches %s", e.HTML)
			reported[i] = true
		case e.TabIndex > 0:
			// Tab visits it before every element without one, wherever
			// it is; the order seen from the start may hide that.
			report("Tab reaches %s out of DOM order: its tabindex is positive", e.HTML)
			reported[i] = true
		}
	}
	inOrder := increasing(order)
	for i, g := range order {
		if !inOrder[i] && !reported[g] {
			before := "the start of the page"
			if i > 0 {
				before = els[order[i-1]].HTML
			}
			report("Tab reaches %s out of DOM order, after %s", els[g].HTML, before)
		}
	}
	return problems
}

// increasing marks the elements of a longest increasing subsequence of s:
// the largest set of elements in order, so that the others are the fewest
// that are out of it.
func increasing(s []int) []bool {
	n := len(s)
	length := make([]int, n) // of the longest such sequence ending at i
	prev := make([]int, n)
	best := -1
	for i := range s {
		length[i], prev[i] = 1, -1
		for j := 0; j < i; j++ {
			if s[j] < s[i] && length[j]+1 > length[i] {
				length[i], prev[i] = length[j]+1, j
			}
		}
		if best < 0 || length[i] > length[best] {
			best = i
		}
	}
	in := make([]bool, n)
	for i := best; i >= 0; i = prev[i] {
		in[i] = true
	}
	return in
}
