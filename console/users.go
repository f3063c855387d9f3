package console

import (
	"net/http"
	"strings"

	"github.com/portico-gw/portico"
)

// userForm is what the user forms send to POST and PUT /users.
type userForm struct {
	Username        string          `json:"username,omitempty"`
	Password        string          `json:"password,omitempty"`
	CurrentPassword string          `json:"current_password,omitempty"`
	Email           *string         `json:"email,omitempty"`
	Roles           *[]portico.Role `json:"roles,omitempty"`
	Disabled        *bool           `json:"disabled,omitempty"`
}

var allRoles = []string{string(portico.RoleAdmin), string(portico.RolePublisher), string(portico.RoleSubscriber)}

type usersData struct {
	Users []portico.User
	Pager pager
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, p := listQuery(r)
	var l list[portico.User]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/users", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	s.render(w, r, http.StatusOK, "users", &page{Title: "Users", Session: ss, Data: usersData{Users: l.Items, Pager: p}})
}

type userData struct {
	User  portico.User
	Roles []string
	New   bool
	Self  bool // the signed-in user's own account
	Admin bool // the signed-in user is an admin: roles and disabled are shown
}

func (s *Server) newUserPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.render(w, r, http.StatusOK, "user", &page{Title: "New user", Session: ss,
		Data: userData{New: true, Roles: allRoles, Admin: ss.has(portico.RoleAdmin), User: portico.User{Roles: []portico.Role{portico.RoleSubscriber}}}})
}

// readUserForm reads the user form; roles come from its checkboxes.
func readUserForm(r *http.Request) userForm {
	email := strings.TrimSpace(r.PostFormValue("email"))
	f := userForm{
		Username:        strings.TrimSpace(r.PostFormValue("username")),
		Password:        r.PostFormValue("password"),
		CurrentPassword: r.PostFormValue("current_password"),
		Email:           &email,
	}
	if r.PostFormValue("roles_shown") != "" {
		roles := []portico.Role{}
		for _, role := range r.PostForm["roles"] {
			roles = append(roles, portico.Role(role))
		}
		f.Roles = &roles
	}
	if r.PostFormValue("disabled_shown") != "" {
		disabled := r.PostFormValue("disabled") != ""
		f.Disabled = &disabled
	}
	if f.Password == "" {
		f.CurrentPassword = ""
	}
	return f
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, ss *session) {
	f := readUserForm(r)
	var u portico.User
	err := s.do(r, apiCall{method: http.MethodPost, path: "/users", token: ss.token, body: f}, &u)
	var roles []portico.Role
	if f.Roles != nil {
		roles = *f.Roles
	}
	if s.formFailed(w, r, ss, err, "user", "New user", userData{New: true, Roles: allRoles, Admin: ss.has(portico.RoleAdmin),
		User: portico.User{Username: f.Username, Email: *f.Email, Roles: roles}}) {
		return
	}
	done(w, r, "/console/users/"+u.ID+"?saved=1")
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var u portico.User
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/users/" + r.PathValue("id"), token: ss.token}, &u); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p := &page{Title: "User " + u.Username, Session: ss, Data: s.userData(ss, u)}
	switch {
	case r.URL.Query().Get("saved") != "":
		p.Message = "Saved."
	case r.URL.Query().Get("signedout") != "":
		p.Message = "Every session and token of this user has been revoked, on every node."
	}
	s.render(w, r, http.StatusOK, "user", p)
}

// updateUser changes roles, email, the disabled flag and, when a new one
// is given, the password (an admin resetting it).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	f := readUserForm(r)
	f.Username = ""
	err := s.do(r, apiCall{method: http.MethodPut, path: "/users/" + id, token: ss.token, body: f}, nil)
	if err != nil {
		var u portico.User
		if gerr := s.do(r, apiCall{method: http.MethodGet, path: "/users/" + id, token: ss.token}, &u); gerr != nil {
			s.fail(w, r, ss, 0, gerr)
			return
		}
		u.Email = *f.Email
		if f.Roles != nil {
			u.Roles = *f.Roles
		}
		if f.Disabled != nil {
			u.Disabled = *f.Disabled
		}
		if s.formFailed(w, r, ss, err, "user", "User "+u.Username, s.userData(ss, u)) {
			return
		}
	}
	done(w, r, "/console/users/"+id+"?saved=1")
}

// userData is what the user page shows u to the signed-in user.
func (s *Server) userData(ss *session, u portico.User) userData {
	return userData{User: u, Roles: allRoles, Self: u.ID == ss.user.ID, Admin: ss.has(portico.RoleAdmin)}
}

func (s *Server) signOutUser(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if err := s.do(r, apiCall{method: http.MethodDelete, path: "/users/" + id + "/tokens", token: ss.token}, nil); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/console/users/"+id+"?signedout=1")
}

// formFailed shows a form again with the admin API's error when err is a
// refusal the user can fix (4xx), and reports whether it wrote an answer.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, ss *session, err error, tmpl, title string, data any) bool {
	if err == nil {
		return false
	}
	e, ok := err.(*apiError)
	if !ok || e.Status >= 500 || e.Status == http.StatusUnauthorized {
		s.fail(w, r, ss, 0, err)
		return true
	}
	s.render(w, r, e.Status, tmpl, &page{Title: title, Session: ss, Error: e, Data: data})
	return true
}
