package openapi

import (
	"net/url"
	"strings"

	"github.com/portico-gw/portico"
)

// maxContextBytes bounds a derived context path, well inside what the
// admin API takes (1000 bytes).
const maxContextBytes = 200

// Context returns a context path for the API the document describes: the
// path of its first server URL ("https://petstore.example.com/v1" gives
// "/v1"), or else its title made a path segment ("Swagger Petstore"
// gives "/swagger-petstore"), or else "/api". The result is a context
// the admin API accepts: below "/", clean, without a trailing "/", and
// in each segment only letters, digits and "-", ".", "_", "~" (other
// characters become "-"), not under portico.OAuth2Path (it is then put
// under "/api").
func (s *Spec) Context() string {
	if len(s.Servers) > 0 {
		if u, err := url.Parse(s.Servers[0]); err == nil {
			if c := contextOf(strings.Split(u.Path, "/"), false); c != "" {
				return c
			}
		}
	}
	if c := contextOf([]string{s.Title}, true); c != "" {
		return c
	}
	return "/api"
}

// contextOf joins the cleaned segments into a context path, "" if none
// is left; lower puts them in lower case.
func contextOf(segs []string, lower bool) string {
	var b strings.Builder
	for _, seg := range segs {
		if lower {
			seg = strings.ToLower(seg)
		}
		seg = cleanSegment(seg)
		if room := maxContextBytes - b.Len() - 1; len(seg) > room {
			seg = strings.Trim(seg[:max(room, 0)], "-.") // ASCII: any cut is a character boundary
		}
		if seg == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(seg)
	}
	c := b.String()
	if lc := strings.ToLower(c); lc == portico.OAuth2Path || strings.HasPrefix(lc, portico.OAuth2Path+"/") {
		c = "/api" + c
	}
	return c
}

// cleanSegment keeps the ASCII letters and digits of seg and ".", "_",
// "~" and "-"; it writes every run of other characters as one "-", a
// run of dots as one dot, and trims "-" and "." from both ends (so that
// no "." or ".." segment is left).
func cleanSegment(seg string) string {
	var b strings.Builder
	for _, r := range seg {
		var c byte
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '~':
			c = byte(r)
		case r == '.':
			c = '.'
		default:
			c = '-'
		}
		if s := b.String(); (c == '-' || c == '.') && len(s) > 0 && s[len(s)-1] == c {
			continue
		}
		b.WriteByte(c)
	}
	return strings.Trim(b.String(), "-.")
}
