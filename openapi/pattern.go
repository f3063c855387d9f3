package openapi

import (
	"net/url"
	"strings"
	"unicode"
)

// patternOf returns the resource pattern the gateway matches for path
// template t (which starts with "/" and passed checkTemplate): each
// segment holding a template expression becomes "*", as does a segment
// a pattern cannot hold literally — one that decodes to spaces, control
// characters, "*", "/" or does not decode. Literal segments are written
// decoded, since the gateway matches the decoded path. A query or
// fragment written into the path ("/search?q={q}") is cut off.
func patternOf(t string) string {
	if i := strings.IndexAny(t, "?#"); i >= 0 {
		t = t[:i]
	}
	segs := strings.Split(t, "/")
	for i := 1; i < len(segs); i++ {
		segs[i] = patternSegment(segs[i])
	}
	return strings.Join(segs, "/")
}

func patternSegment(s string) string {
	if strings.ContainsAny(s, "{}") {
		return "*"
	}
	d, err := url.PathUnescape(s)
	if err != nil || strings.ContainsAny(d, "*/?#") ||
		strings.ContainsFunc(d, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "*"
	}
	return d
}
