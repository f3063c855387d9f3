package portico

import (
	"cmp"
	"slices"
	"strings"
)

// Names that tell entities apart. People, and a configuration file
// (package configfile), know entities by name, never by ID, so a name is
// never shared where it identifies: users by username and groups by name
// across the store (User.Username, Group.Name); APIs by name and version
// across the store, as their contexts are; plans and applications by name
// among those of one owner. Every comparison is in any case (by
// strings.ToLower): "Gold" and "gold" are one name.
//
// Plans and applications are unique per owner, not across the store, so
// that nobody takes a name another user needs: a publisher who names a
// plan "gold" takes no "gold" from any other publisher, and a subscriber's
// applications never collide with another's. APIs are unique across the
// store because subscribers and files name an API alone (as a context
// does): the first to take a name and version keeps it, and an admin
// renames an API that squats one.
//
// Every front end checks names with CheckAPIName, CheckPlanName and
// CheckApplicationName before it writes a new or renamed entity. A store
// written before names were unique may hold two entities of one name:
// they keep working, and each lookup below gives all of them.

// apiNameKey is the key of an API's name and version in any case.
func apiNameKey(a *API) string { return APINameKey(a.Name, a.Version) }

// APINameKey returns the key of an API's name and version in any case:
// two APIs whose keys are equal have the same name.
func APINameKey(name, version string) string {
	return strings.ToLower(name) + "\x00" + strings.ToLower(version)
}

// APIsNamed returns the APIs of name and version, in any case: one at
// most, unless the store was written before names were unique.
func (c *Config) APIsNamed(name, version string) Table[API] {
	return inner(c.index().apisByName, APINameKey(name, version))
}

// PlansOf returns the plans owned by the user with ID owner ("": those
// without an owner, stored before plans had owners).
func (c *Config) PlansOf(owner string) Table[Plan] { return inner(c.index().plansOf, owner) }

// PlansNamed returns the plans of owner named name in any case, in
// creation order: one at most, unless the store was written before names
// were unique.
func (c *Config) PlansNamed(owner, name string) []*Plan {
	var out []*Plan
	for p := range c.PlansOf(owner).Values() {
		if SameName(p.Name, name) {
			out = append(out, p)
		}
	}
	sortCreated(out, func(p *Plan) (int64, string) { return p.CreatedAt.UnixNano(), p.ID })
	return out
}

// ApplicationsNamed returns the applications of owner named name in any
// case, in creation order: one at most, unless the store was written
// before names were unique.
func (c *Config) ApplicationsNamed(owner, name string) []*Application {
	var out []*Application
	for a := range c.ApplicationsOf(owner).Values() {
		if SameName(a.Name, name) {
			out = append(out, a)
		}
	}
	sortCreated(out, func(a *Application) (int64, string) { return a.CreatedAt.UnixNano(), a.ID })
	return out
}

// SameName reports whether two names are one: equal in any case.
func SameName(a, b string) bool { return a == b || strings.ToLower(a) == strings.ToLower(b) }

func sortCreated[T any](s []*T, created func(*T) (int64, string)) {
	slices.SortFunc(s, func(x, y *T) int {
		tx, ix := created(x)
		ty, iy := created(y)
		return cmp.Or(cmp.Compare(tx, ty), strings.Compare(ix, iy))
	})
}

// CheckAPIName checks that no other API of c has a's name and version, in
// any case (else EConflict, field "name"). It names no other API: its
// caller may not see it.
func (c *Config) CheckAPIName(a *API) error {
	for o := range c.APIsNamed(a.Name, a.Version).Values() {
		if o.ID != a.ID {
			return FieldErrorf(EConflict, "name", "an API named %q with version %q exists already: "+
				"an API's name and version are unique in any case; choose another name or version", a.Name, a.Version)
		}
	}
	return nil
}

// CheckPlanName checks that p's owner has no other plan of p's name, in
// any case (else EConflict, field "name").
func (c *Config) CheckPlanName(p *Plan) error {
	for _, o := range c.PlansNamed(p.Owner, p.Name) {
		if o.ID != p.ID {
			return FieldErrorf(EConflict, "name", "plan %q (%s) of the same owner has this name: "+
				"the plans of one owner have names unique in any case; choose another name", o.Name, o.ID)
		}
	}
	return nil
}

// CheckApplicationName checks that a's owner has no other application of
// a's name, in any case (else EConflict, field "name").
func (c *Config) CheckApplicationName(a *Application) error {
	for _, o := range c.ApplicationsNamed(a.Owner, a.Name) {
		if o.ID != a.ID {
			return FieldErrorf(EConflict, "name", "application %q (%s) of the same owner has this name: "+
				"the applications of one owner have names unique in any case; choose another name", o.Name, o.ID)
		}
	}
	return nil
}
