package admin

import (
	"net/http"
	"slices"
	"time"

	"github.com/portico-gw/portico"
)

// groupRequest is the body of POST and PUT /api/v1/groups. In a PUT,
// members left out (or null) keep their value: the member routes change
// them one at a time.
type groupRequest struct {
	serverFields
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     *[]string `json:"members"`
}

// memberRequest is the body of POST /api/v1/groups/{id}/members.
type memberRequest struct {
	User string `json:"user"` // a user ID or username
}

func groupCreated(g *portico.Group) (int64, string) { return g.CreatedAt.UnixNano(), g.ID }

// groupListing is a group as a publisher sees it: its name, to list it on
// an API, without its members (who belongs to a group is the admins'
// business).
type groupListing struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// viewGroup returns g as u sees it: whole for an admin, as a groupListing
// for a publisher.
func viewGroup(u *portico.User, g *portico.Group) any {
	if isAdmin(u) {
		return g
	}
	return groupListing{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

// withoutMember returns a copy of g without the user with ID user.
func withoutMember(g *portico.Group, user string, now time.Time) *portico.Group {
	n := *g
	n.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == user })
	n.UpdatedAt = now
	return &n
}

// userRef returns the user whose ID, else username, is ref, or nil.
func userRef(cfg *portico.Config, ref string) *portico.User {
	if u := cfg.Users.Get(ref); u != nil {
		return u
	}
	return cfg.UserByName(ref)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only admins and publishers list groups")
	}
	q, err := searchOf(r)
	if err != nil {
		return err
	}
	keep := func(g *portico.Group) bool { return q.match(g.Name, g.Description) }
	view := func(g *portico.Group) any { return viewGroup(c.user, g) }
	return readPage(w, r, c.cfg.Groups, groupCreated, keep, view)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only admins and publishers see groups")
	}
	id := r.PathValue("id")
	g := c.cfg.Groups.Get(id)
	if g == nil {
		return notFound("group", id)
	}
	writeJSON(w, http.StatusOK, viewGroup(c.user, g))
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins create groups")
	}
	var req groupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forCreate(); err != nil {
		return err
	}
	g := portico.Group{Name: req.Name, Description: req.Description}
	if req.Members != nil {
		g.Members = *req.Members
	}
	if err := g.Validate(); err != nil {
		return err
	}
	var out *portico.Group
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins create groups")
		}
		n := g
		n.ID, n.CreatedAt, n.UpdatedAt = portico.NewID(), t.now, t.now
		if err := t.cfg.CheckGroup(&n); err != nil {
			return err
		}
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/groups/"+out.ID, out)
	return nil
}

// updateGroup replaces a group's name and description, and its members
// when the body has them.
func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change groups")
	}
	id := r.PathValue("id")
	var req groupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forUpdate(id); err != nil {
		return err
	}
	var out *portico.Group
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins change groups")
		}
		old := t.cfg.Groups.Get(id)
		if old == nil {
			return notFound("group", id)
		}
		n := *old
		n.Name, n.Description, n.UpdatedAt = req.Name, req.Description, t.now
		if req.Members != nil {
			n.Members = *req.Members
		}
		if err := n.Validate(); err != nil {
			return err
		}
		if err := t.cfg.CheckGroup(&n); err != nil {
			return err
		}
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteGroup deletes a group that no API lists.
func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins delete groups")
	}
	id := r.PathValue("id")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins delete groups")
		}
		g := t.cfg.Groups.Get(id)
		if g == nil {
			return notFound("group", id)
		}
		if err := t.cfg.CheckDeleteGroup(g); err != nil {
			return err
		}
		t.del(portico.KindGroup, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addGroupMember adds a user to a group; a member already changes
// nothing.
func (s *Server) addGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change groups")
	}
	id := r.PathValue("id")
	var req memberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.User == "" {
		return invalid("user", "user is required: the id or username of the user to add")
	}
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins change groups")
		}
		g := t.cfg.Groups.Get(id)
		if g == nil {
			return notFound("group", id)
		}
		u := userRef(t.cfg, req.User)
		if u == nil {
			return invalid("user", "no user %q", req.User)
		}
		if g.HasMember(u.ID) {
			return nil
		}
		n := *g
		n.Members = append(slices.Clone(g.Members), u.ID)
		n.UpdatedAt = t.now
		t.put(&n)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeGroupMember takes a user out of a group; one that is not a member
// changes nothing.
func (s *Server) removeGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change groups")
	}
	id, user := r.PathValue("id"), r.PathValue("user")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins change groups")
		}
		g := t.cfg.Groups.Get(id)
		if g == nil {
			return notFound("group", id)
		}
		if !g.HasMember(user) {
			return nil
		}
		t.put(withoutMember(g, user, t.now))
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
