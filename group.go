package portico

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Group is a named set of users. A partner API lists the groups whose
// members may see it (API.Groups; see Config.CanSeeAPI).
type Group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"` // unique in any case
	Description string    `json:"description,omitempty"`
	Members     []string  `json:"members"` // user IDs
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Bounds of a group's text fields: those of the other entities' names and
// descriptions.
const (
	MaxGroupName        = 200
	MaxGroupDescription = 4000
)

// HasMember reports whether the user with ID user is a member of g.
func (g *Group) HasMember(user string) bool { return slices.Contains(g.Members, user) }

// Validate checks g's own fields: a name of 1 to MaxGroupName characters
// (not only spaces), a description of at most MaxGroupDescription, and
// members that are non-empty and listed once. A nil Members becomes
// empty. References are Config.CheckGroup's.
func (g *Group) Validate() error {
	if strings.TrimSpace(g.Name) == "" {
		return FieldErrorf(EInvalid, "name", "name is required")
	}
	if utf8.RuneCountInString(g.Name) > MaxGroupName {
		return FieldErrorf(EInvalid, "name", "name must be at most %d characters", MaxGroupName)
	}
	if utf8.RuneCountInString(g.Description) > MaxGroupDescription {
		return FieldErrorf(EInvalid, "description", "description must be at most %d characters", MaxGroupDescription)
	}
	if g.Members == nil {
		g.Members = []string{}
	}
	for i, m := range g.Members {
		f := fmt.Sprintf("members[%d]", i)
		if m == "" {
			return FieldErrorf(EInvalid, f, "%s is empty; members lists user ids", f)
		}
		if slices.Index(g.Members, m) != i {
			return FieldErrorf(EInvalid, f, "user %q is listed twice", m)
		}
	}
	return nil
}

// CheckGroup checks g, new or changed, against c: its name is not another
// group's in any case (EConflict, field "name") and every member is a user
// of c (EInvalid, field "members[i]").
func (c *Config) CheckGroup(g *Group) error {
	if o := c.GroupByName(g.Name); o != nil && o.ID != g.ID {
		return FieldErrorf(EConflict, "name", "group name %q is taken", o.Name)
	}
	for i, m := range g.Members {
		if c.Users.Get(m) == nil {
			return FieldErrorf(EInvalid, fmt.Sprintf("members[%d]", i), "no user with id %q", m)
		}
	}
	return nil
}

// GroupByName returns the group named name, in any case, or nil.
func (c *Config) GroupByName(name string) *Group {
	return c.index().groupByName.Get(strings.ToLower(name))
}

// GroupsOf returns the groups whose members include the user with ID user.
func (c *Config) GroupsOf(user string) Table[Group] { return inner(c.index().groupsOf, user) }

// APIsOfGroup returns the APIs that list group id, in creation order. It
// walks every API: deleting a group is rare.
func (c *Config) APIsOfGroup(id string) []*API {
	var out []*API
	for a := range c.APIs.Values() {
		if slices.Contains(a.Groups, id) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *API) int {
		if d := x.CreatedAt.Compare(y.CreatedAt); d != 0 {
			return d
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// CheckAPIGroups checks that every group a lists is a group of c
// (EInvalid, field "groups[i]").
func (c *Config) CheckAPIGroups(a *API) error {
	for i, id := range a.Groups {
		if c.Groups.Get(id) == nil {
			return FieldErrorf(EInvalid, fmt.Sprintf("groups[%d]", i), "no group with id %q", id)
		}
	}
	return nil
}

// CanSeeAPI reports whether user u may see API a: find it in lists and
// searches, read it, and subscribe to it. u nil is an anonymous visitor.
//
// Admins and a's owner always see it. Anyone else sees it only while it
// serves traffic (published or deprecated), and then by its visibility:
// public to everyone, anonymous visitors included; intranet to internal
// users (User.Internal, set by admins); partner to the members of one of
// the groups a lists. What a user may not see must answer as if it did
// not exist. Existing subscriptions are not affected: they keep working,
// only the API's name is no longer shown with them.
func (c *Config) CanSeeAPI(u *User, a *API) bool {
	if u != nil && (u.HasRole(RoleAdmin) || a.Owner == u.ID) {
		return true
	}
	if !a.State.Serves() {
		return false
	}
	switch a.Visibility {
	case Public, "": // "": stored before visibility had a default
		return true
	case Intranet:
		return u != nil && u.Internal
	case Partner:
		if u == nil {
			return false
		}
		mine := c.GroupsOf(u.ID)
		if mine.Len() == 0 {
			return false
		}
		for _, g := range a.Groups {
			if mine.Get(g) != nil {
				return true
			}
		}
	}
	return false
}
