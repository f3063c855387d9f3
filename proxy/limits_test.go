package proxy

import (
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestResourceKeysFollowPatterns: a resource override's counter key is
// named by its method and path pattern, not by its position, so
// reordering, adding or removing overrides never hands one resource's
// counter to another. Equivalent spellings of a pattern share the key;
// no key looks like the quota's.
func TestResourceKeysFollowPatterns(t *testing.T) {
	keys := func(patterns ...string) map[string]string {
		p := &portico.Plan{RateLimit: &portico.RateLimit{Limit: 10, Per: portico.Second}}
		for _, pat := range patterns {
			p.RateLimit.Resources = append(p.RateLimit.Resources, portico.ResourceLimit{Pattern: pat, Limit: 1, Per: portico.Second})
		}
		_, res := compilePlan(p).forSubscription("app-1", "api-1")
		m := make(map[string]string)
		for i, specs := range res {
			m[patterns[i]] = specs[0].Key
		}
		return m
	}
	before := keys("GET /orders/*", "POST /orders/*", "/quota")
	after := keys("/reports/**", "/quota", "POST /orders/*", "GET /orders/*")
	for pat, k := range before {
		if after[pat] != k {
			t.Errorf("%q: key %q, then %q after reordering", pat, k, after[pat])
		}
		if !strings.HasPrefix(k, "app-1/api-1/res-") || strings.HasSuffix(k, "/quota") {
			t.Errorf("%q: key %q", pat, k)
		}
	}
	seen := map[string]string{}
	for pat, k := range after {
		if seen[k] != "" {
			t.Errorf("%q and %q share the key %q", pat, seen[k], k)
		}
		seen[k] = pat
	}
	if a, b := keys("get  orders/*")["get  orders/*"], before["GET /orders/*"]; a != b {
		t.Errorf("spellings of one pattern: %q and %q", a, b)
	}
}
