package admin

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSearch: a search matches a field exactly when the lowered field
// contains the lowered text, the in-place ASCII comparison included.
func FuzzSearch(f *testing.F) {
	for _, s := range [][2]string{
		{"Weather API", "API"}, {"weather", "THER"}, {"ab", "abc"}, {"", "a"},
		{"ÉCLAIR", "éclair"}, {"\u212a", "k"}, {"İstanbul", "i"}, {"aaab", "aab"}, {"x\xffy", "y"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, field, q string) {
		r := httptest.NewRequest("GET", "/api/v1/apis?q="+url.QueryEscape(q), nil)
		s, err := searchOf(r)
		if err != nil {
			return // too long or not UTF-8: refused
		}
		want := strings.Contains(strings.ToLower(field), strings.ToLower(q))
		if got := s.match(field); got != want {
			t.Fatalf("search %q in %q = %v, want %v", q, field, got, want)
		}
	})
}
