package portico_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestCanSeeAPI(t *testing.T) {
	admin := &portico.User{ID: "admin", Roles: []portico.Role{portico.RoleAdmin}}
	owner := &portico.User{ID: "owner", Roles: []portico.Role{portico.RolePublisher}}
	pub := &portico.User{ID: "pub", Roles: []portico.Role{portico.RolePublisher}}
	plain := &portico.User{ID: "plain", Roles: []portico.Role{portico.RoleSubscriber}}
	internal := &portico.User{ID: "internal", Roles: []portico.Role{portico.RoleSubscriber}, Internal: true}
	partner := &portico.User{ID: "partner", Roles: []portico.Role{portico.RoleSubscriber}}
	other := &portico.User{ID: "other", Roles: []portico.Role{portico.RoleSubscriber}}
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.Group{ID: "g1", Name: "acme", Members: []string{"partner"}}),
		portico.Put(&portico.Group{ID: "g2", Name: "globex", Members: []string{"other"}}),
	)
	api := func(v portico.Visibility, st portico.Lifecycle, groups ...string) *portico.API {
		return &portico.API{ID: "a", Owner: "owner", Visibility: v, State: st, Groups: groups}
	}
	for _, tc := range []struct {
		name string
		a    *portico.API
		sees []*portico.User // everyone else (and nil) does not
		anon bool
	}{
		{"public published", api(portico.Public, portico.Published), []*portico.User{admin, owner, pub, plain, internal, partner, other}, true},
		{"public deprecated", api(portico.Public, portico.Deprecated), []*portico.User{admin, owner, pub, plain, internal, partner, other}, true},
		{"public draft", api(portico.Public, portico.Draft), []*portico.User{admin, owner}, false},
		{"public retired", api(portico.Public, portico.Retired), []*portico.User{admin, owner}, false},
		{"no visibility (old data)", api("", portico.Published), []*portico.User{admin, owner, pub, plain, internal, partner, other}, true},
		{"intranet", api(portico.Intranet, portico.Published), []*portico.User{admin, owner, internal}, false},
		{"intranet draft", api(portico.Intranet, portico.Draft), []*portico.User{admin, owner}, false},
		{"partner", api(portico.Partner, portico.Published, "g1"), []*portico.User{admin, owner, partner}, false},
		{"partner of two groups", api(portico.Partner, portico.Published, "g1", "g2"), []*portico.User{admin, owner, partner, other}, false},
		{"partner without groups", api(portico.Partner, portico.Published), []*portico.User{admin, owner}, false},
		{"partner of a gone group", api(portico.Partner, portico.Published, "gone"), []*portico.User{admin, owner}, false},
		{"partner retired", api(portico.Partner, portico.Retired, "g1"), []*portico.User{admin, owner}, false},
		{"unknown visibility", api("secret", portico.Published), []*portico.User{admin, owner}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, u := range []*portico.User{admin, owner, pub, plain, internal, partner, other} {
				want := false
				for _, s := range tc.sees {
					want = want || s == u
				}
				if got := cfg.CanSeeAPI(u, tc.a); got != want {
					t.Errorf("CanSeeAPI(%s) = %v, want %v", u.ID, got, want)
				}
			}
			if got := cfg.CanSeeAPI(nil, tc.a); got != tc.anon {
				t.Errorf("CanSeeAPI(anonymous) = %v, want %v", got, tc.anon)
			}
		})
	}
}

func TestGroupValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     portico.Group
		field string // "" when valid
	}{
		{"ok", portico.Group{Name: "acme", Members: []string{"u1", "u2"}}, ""},
		{"no members", portico.Group{Name: "acme"}, ""},
		{"no name", portico.Group{}, "name"},
		{"blank name", portico.Group{Name: "  "}, "name"},
		{"long name", portico.Group{Name: strings.Repeat("é", portico.MaxGroupName+1)}, "name"},
		{"longest name", portico.Group{Name: strings.Repeat("é", portico.MaxGroupName)}, ""},
		{"long description", portico.Group{Name: "x", Description: strings.Repeat("d", portico.MaxGroupDescription+1)}, "description"},
		{"empty member", portico.Group{Name: "x", Members: []string{"u1", ""}}, "members[1]"},
		{"member twice", portico.Group{Name: "x", Members: []string{"u1", "u2", "u1"}}, "members[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.g.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if tc.g.Members == nil {
					t.Fatal("Members stayed nil")
				}
				return
			}
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != tc.field {
				t.Fatalf("Validate = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestCheckGroupAndAPIGroups(t *testing.T) {
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.User{ID: "u1", Username: "ann"}),
		portico.Put(&portico.Group{ID: "g1", Name: "Acme", Members: []string{"u1"}}),
	)
	if err := cfg.CheckGroup(&portico.Group{ID: "g2", Name: "ACME"}); portico.ErrorCodeOf(err) != portico.EConflict || portico.ErrorFieldOf(err) != "name" {
		t.Errorf("a taken name in another case: %v, want conflict on name", err)
	}
	if err := cfg.CheckGroup(&portico.Group{ID: "g1", Name: "acme", Members: []string{"u1"}}); err != nil {
		t.Errorf("renaming a group in case: %v", err)
	}
	if err := cfg.CheckGroup(&portico.Group{ID: "g2", Name: "b", Members: []string{"u1", "nobody"}}); portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != "members[1]" {
		t.Errorf("an unknown member: %v, want invalid members[1]", err)
	}
	if err := cfg.CheckAPIGroups(&portico.API{Groups: []string{"g1", "g9"}}); portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != "groups[1]" {
		t.Errorf("an unknown group: %v, want invalid groups[1]", err)
	}
	if err := cfg.CheckAPIGroups(&portico.API{Groups: []string{"g1"}}); err != nil {
		t.Errorf("a known group: %v", err)
	}
	cfg = cfg.With(2, portico.Put(&portico.API{ID: "a2", Groups: []string{"g1"}, CreatedAt: time.Unix(2, 0)}),
		portico.Put(&portico.API{ID: "a1", Groups: []string{"g1"}, CreatedAt: time.Unix(1, 0)}),
		portico.Put(&portico.API{ID: "a3"}))
	got := cfg.APIsOfGroup("g1")
	if len(got) != 2 || got[0].ID != "a1" || got[1].ID != "a2" {
		t.Errorf("APIsOfGroup = %v, want a1, a2", got)
	}
}
