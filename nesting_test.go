package portico_test

import (
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestNestingOf(t *testing.T) {
	for _, c := range []struct {
		ctx, other string
		want       portico.Nesting
	}{
		{"/a", "/a", portico.Same},
		{"/a/b", "/a", portico.Under},
		{"/a/b/c", "/a", portico.Under},
		{"/a", "/a/b", portico.Over},
		{"/ab", "/a", portico.Apart},
		{"/a", "/ab", portico.Apart},
		{"/a/b", "/a/c", portico.Apart},
		{"/a/bc", "/a/b", portico.Apart},
	} {
		if got := portico.NestingOf(c.ctx, c.other); got != c.want {
			t.Errorf("NestingOf(%s, %s) = %d, want %d", c.ctx, c.other, got, c.want)
		}
	}
}

// TestContextClash: the same context clashes with any owner's; under and
// over only with another owner's, unless nesting is allowed; an API that
// keeps its context and owner is not checked again.
func TestContextClash(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.API{ID: "t1", Context: "/theirs/v1", Owner: "them", CreatedAt: at(1)}),
		portico.Put(&portico.API{ID: "t2", Context: "/x/y/z", Owner: "them", CreatedAt: at(3)}),
		portico.Put(&portico.API{ID: "t3", Context: "/x/y/w", Owner: "them", CreatedAt: at(2)}),
		portico.Put(&portico.API{ID: "m1", Context: "/x/y/mine", Owner: "me", CreatedAt: at(4)}),
		portico.Put(&portico.API{ID: "n1", Context: "/theirs/v1/nested", Owner: "me", CreatedAt: at(5)}), // allowed by an admin once
	)
	for _, c := range []struct {
		name    string
		api     portico.API
		allow   bool
		other   string
		nesting portico.Nesting
	}{
		{"same", portico.API{ID: "new", Context: "/theirs/v1", Owner: "them"}, false, "t1", portico.Same},
		{"same, allowed", portico.API{ID: "new", Context: "/theirs/v1", Owner: "me"}, true, "t1", portico.Same},
		{"under", portico.API{ID: "new", Context: "/theirs/v1/orders", Owner: "me"}, false, "t1", portico.Under},
		{"under, own", portico.API{ID: "new", Context: "/theirs/v1/orders", Owner: "them"}, false, "", 0},
		{"under, allowed", portico.API{ID: "new", Context: "/theirs/v1/orders", Owner: "me"}, true, "", 0},
		{"over: the earliest", portico.API{ID: "new", Context: "/x", Owner: "me"}, false, "t3", portico.Over},
		{"over, own", portico.API{ID: "new", Context: "/theirs", Owner: "them"}, false, "n1", portico.Over},
		{"apart", portico.API{ID: "new", Context: "/theirs/v10", Owner: "me"}, false, "", 0},
		{"unchanged", portico.API{ID: "n1", Context: "/theirs/v1/nested", Owner: "me"}, false, "", 0},
		{"moved", portico.API{ID: "n1", Context: "/theirs/v1/moved", Owner: "me"}, false, "t1", portico.Under},
		{"given away", portico.API{ID: "m1", Context: "/x/y/mine", Owner: "you"}, false, "", 0},
		{"given away, nested", portico.API{ID: "n1", Context: "/theirs/v1/nested", Owner: "you"}, false, "t1", portico.Under},
		{"itself is no clash", portico.API{ID: "t1", Context: "/theirs/v1/deeper", Owner: "them"}, false, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cfg.ContextClash(&c.api, c.allow)
			switch {
			case c.other == "" && got != nil:
				t.Errorf("clash with %s (%d), want none", got.API.ID, got.Nesting)
			case c.other != "" && (got == nil || got.API.ID != c.other || got.Nesting != c.nesting):
				t.Errorf("clash %+v, want %s (%d)", got, c.other, c.nesting)
			}
		})
	}
}
