package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/portico-gw/portico"
)

// userView is a user as the admin API shows it: never with its password
// hash. Only admins and the user itself see its webhook_url, disabled,
// internal, pending_approval, tokens_not_before and notifications_read_at
// (see viewUserBy).
type userView struct {
	ID                  string         `json:"id"`
	Username            string         `json:"username"`
	Email               string         `json:"email,omitempty"`
	Roles               []portico.Role `json:"roles"`
	WebhookURL          string         `json:"webhook_url,omitempty"`
	Disabled            bool           `json:"disabled,omitempty"`
	Internal            bool           `json:"internal,omitempty"`
	PendingApproval     bool           `json:"pending_approval,omitempty"`
	TokensNotBefore     time.Time      `json:"tokens_not_before,omitzero"`
	NotificationsReadAt time.Time      `json:"notifications_read_at,omitzero"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
}

func viewUser(u *portico.User) userView {
	roles := u.Roles
	if roles == nil {
		roles = []portico.Role{}
	}
	return userView{
		ID:                  u.ID,
		Username:            u.Username,
		Email:               u.Email,
		Roles:               roles,
		WebhookURL:          u.WebhookURL,
		Disabled:            u.Disabled,
		Internal:            u.Internal,
		PendingApproval:     u.PendingApproval,
		TokensNotBefore:     u.TokensNotBefore,
		NotificationsReadAt: u.NotificationsReadAt,
		CreatedAt:           u.CreatedAt,
		UpdatedAt:           u.UpdatedAt,
	}
}

// viewUserBy is u as viewer sees it: whole for an admin and for u itself;
// for others without what is u's own business (a webhook_url may carry a
// secret).
func viewUserBy(viewer, u *portico.User) userView {
	v := viewUser(u)
	if !isAdmin(viewer) && viewer.ID != u.ID {
		v.WebhookURL, v.Disabled, v.Internal, v.PendingApproval = "", false, false, false
		v.TokensNotBefore, v.NotificationsReadAt = time.Time{}, time.Time{}
	}
	return v
}

// userRequest is the body of POST /users and /subscribers and of PUT
// /users/{id} and /users/me. In a PUT, fields left out keep their value.
type userRequest struct {
	serverFields
	Username *string `json:"username"`
	Password *string `json:"password"`
	// CurrentPassword must come with a password change by the user
	// itself, and only then.
	CurrentPassword *string         `json:"current_password"`
	Email           *string         `json:"email"`
	Roles           *[]portico.Role `json:"roles"`
	WebhookURL      *string         `json:"webhook_url"`
	// Disabled is for admins only.
	Disabled *bool `json:"disabled"`
	// Internal is for admins only; others may echo their own value.
	Internal *bool `json:"internal"`

	// Read-only: a PUT may echo them, they change nothing (approve a
	// pending user with POST /users/{id}/approve, or by enabling it).
	TokensNotBefore     json.RawMessage `json:"tokens_not_before"`
	NotificationsReadAt json.RawMessage `json:"notifications_read_at"`
	PendingApproval     json.RawMessage `json:"pending_approval"`
}

// forCreate rejects the server-set fields in a create body.
func (q *userRequest) forCreate() error {
	if err := q.serverFields.forCreate(); err != nil {
		return err
	}
	if given(q.TokensNotBefore) {
		return invalid("tokens_not_before", "tokens_not_before is set by the server")
	}
	if given(q.NotificationsReadAt) {
		return invalid("notifications_read_at", "notifications_read_at is set by the server")
	}
	if given(q.PendingApproval) {
		return invalid("pending_approval", "pending_approval is set by the server")
	}
	return nil
}

// check validates the fields present and returns the checked roles (nil
// when absent).
func (q *userRequest) check() (roles []portico.Role, err error) {
	if q.Username != nil {
		if err := checkUsername(*q.Username); err != nil {
			return nil, err
		}
	}
	if q.Password != nil {
		if err := checkPassword(*q.Password); err != nil {
			return nil, err
		}
	}
	if q.Roles != nil {
		if roles, err = checkRoles(*q.Roles); err != nil {
			return nil, err
		}
	}
	if q.Email != nil {
		if err := checkEmail(*q.Email); err != nil {
			return nil, err
		}
	}
	if q.WebhookURL != nil {
		if err := checkWebhook(*q.WebhookURL); err != nil {
			return nil, err
		}
	}
	return roles, nil
}

// errInternalAdminOnly refuses a change of "internal" by a non-admin.
var errInternalAdminOnly = portico.FieldErrorf(portico.EForbidden, "internal", "only admins make users internal (internal users see intranet APIs)")

func userCreated(u *portico.User) (int64, string) { return u.CreatedAt.UnixNano(), u.ID }

// disablesSelf reports whether a change that leaves user n (nil:
// deleted) disables the caller me: no admin locks itself out.
func disablesSelf(me, n *portico.User) bool {
	return n != nil && n.ID == me.ID && n.Disabled && !me.Disabled
}

func sameRoles(a, b []portico.Role) bool {
	for _, r := range a {
		if !slices.Contains(b, r) {
			return false
		}
	}
	for _, r := range b {
		if !slices.Contains(a, r) {
			return false
		}
	}
	return true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins list users")
	}
	q, err := searchOf(r)
	if err != nil {
		return err
	}
	var keep func(*portico.User, string) bool
	if q.q != "" {
		keep = func(u *portico.User, text string) bool { return q.text(text, func() bool { return q.user(u) }) }
	}
	return readOrdered(w, r, s.userOrder(c.cfg), keep, viewUser)
}

// listSubscribers lists users with the subscriber role: all of them for
// admins; for publishers only those who own an application subscribed (in
// any status) to one of their APIs, the users behind the applications and
// subscriptions they see.
func (s *Server) listSubscribers(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only admins and publishers list subscribers")
	}
	q, err := searchOf(r)
	if err != nil {
		return err
	}
	var seen map[string]bool
	if !isAdmin(c.user) {
		seen = subscribersSeenBy(c.cfg, c.user)
	}
	keep := func(u *portico.User, text string) bool {
		return u.HasRole(portico.RoleSubscriber) && (seen == nil || seen[u.ID]) &&
			q.text(text, func() bool { return q.user(u) })
	}
	view := func(u *portico.User) userView { return viewUserBy(c.user, u) }
	return readOrdered(w, r, s.userOrder(c.cfg), keep, view)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, viewUser(c.user))
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if !isAdmin(c.user) && id != c.user.ID {
		return forbidden("only admins see other users")
	}
	u := c.cfg.Users.Get(id)
	if u == nil {
		return notFound("user", id)
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.newUser(w, r, c, false)
}

// createSubscriber creates a user with the subscriber role only.
func (s *Server) createSubscriber(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.newUser(w, r, c, true)
}

func (s *Server) newUser(w http.ResponseWriter, r *http.Request, c *call, subscriber bool) error {
	if !isAdmin(c.user) {
		return forbidden("only admins create users")
	}
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forCreate(); err != nil {
		return err
	}
	if req.CurrentPassword != nil {
		return invalid("current_password", "current_password is only for changing your own password")
	}
	if req.Username == nil {
		return invalid("username", "username is required")
	}
	if req.Password == nil {
		return invalid("password", "password is required")
	}
	if req.Roles == nil && !subscriber {
		return invalid("roles", "roles must name at least one of admin, publisher, subscriber")
	}
	roles, err := req.check()
	if err != nil {
		return err
	}
	if err := s.checkWebhookURL(r.Context(), req.WebhookURL); err != nil {
		return err
	}
	if subscriber {
		if roles != nil && !sameRoles(roles, []portico.Role{portico.RoleSubscriber}) {
			return invalid("roles", "a subscriber has only the subscriber role; create other users with POST /api/v1/users")
		}
		roles = []portico.Role{portico.RoleSubscriber}
	}
	hash, err := s.hashPassword(*req.Password)
	if err != nil {
		return err
	}
	var out *portico.User
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins create users")
		}
		if other := t.cfg.UserByName(*req.Username); other != nil {
			return portico.FieldErrorf(portico.EConflict, "username", "username %q is taken", other.Username)
		}
		out = &portico.User{
			ID:           portico.NewID(),
			Username:     *req.Username,
			Email:        deref(req.Email),
			Roles:        roles,
			WebhookURL:   deref(req.WebhookURL),
			Disabled:     req.Disabled != nil && *req.Disabled,
			Internal:     req.Internal != nil && *req.Internal,
			PasswordHash: hash,
			CreatedAt:    t.now,
			UpdatedAt:    t.now,
		}
		t.put(out)
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/users/"+out.ID, viewUser(out))
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.changeUser(w, r, c, r.PathValue("id"))
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.changeUser(w, r, c, c.user.ID)
}

// changeUser changes the fields present in the body. Users may change
// their own password, email and webhook_url; only admins change other
// users, usernames and roles.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	if !isAdmin(c.user) && id != c.user.ID {
		return forbidden("only admins change other users")
	}
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forUpdate(id); err != nil {
		return err
	}
	if req.Disabled != nil && !isAdmin(c.user) {
		return portico.FieldErrorf(portico.EForbidden, "disabled", "only admins enable and disable users")
	}
	if req.Internal != nil && !isAdmin(c.user) && *req.Internal != c.user.Internal {
		return errInternalAdminOnly
	}
	roles, err := req.check()
	if err != nil {
		return err
	}
	if err := s.checkWebhookURL(r.Context(), req.WebhookURL); err != nil {
		return err
	}
	// Users changing their own password prove they know the current one:
	// a stolen bearer token, or a browser left signed in, must not be
	// enough to take the account over for good.
	self := id == c.user.ID
	switch {
	case req.CurrentPassword != nil && (!self || req.Password == nil):
		return invalid("current_password", "current_password goes only with a change of your own password")
	case self && req.Password != nil && req.CurrentPassword == nil:
		return invalid("current_password", "current_password is required to change your own password")
	case self && req.Password != nil:
		if err := s.checkOwnPassword(r, c.user, *req.CurrentPassword); err != nil {
			return err
		}
	}
	var hash string
	if req.Password != nil {
		if hash, err = s.hashPassword(*req.Password); err != nil {
			return err
		}
	}
	var out *portico.User
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		old := t.cfg.Users.Get(id)
		if old == nil {
			return notFound("user", id)
		}
		admin := isAdmin(t.me)
		if !admin && t.me.ID != id {
			return forbidden("only admins change other users")
		}
		n := *old
		if req.Username != nil && *req.Username != old.Username {
			if !admin {
				return forbidden("only admins change usernames")
			}
			if other := t.cfg.UserByName(*req.Username); other != nil && other.ID != id {
				return portico.FieldErrorf(portico.EConflict, "username", "username %q is taken", other.Username)
			}
			n.Username = *req.Username
		}
		if roles != nil && !sameRoles(roles, old.Roles) {
			if !admin {
				return forbidden("only admins change roles")
			}
			n.Roles = roles
		}
		if req.Disabled != nil && *req.Disabled != old.Disabled {
			if !admin {
				return portico.FieldErrorf(portico.EForbidden, "disabled", "only admins enable and disable users")
			}
			n.SetDisabled(*req.Disabled, t.now)
			if disablesSelf(t.me, &n) {
				return portico.FieldErrorf(portico.EConflict, "disabled", "you cannot disable yourself")
			}
		}
		if req.Internal != nil && *req.Internal != old.Internal {
			if !admin {
				return errInternalAdminOnly
			}
			n.Internal = *req.Internal
		}
		if old.EnabledAdmin() && !n.EnabledAdmin() && t.cfg.With(t.cfg.Version, portico.Put(&n)).CheckEnabledAdmin() != nil {
			if n.Disabled {
				return portico.FieldErrorf(portico.EConflict, "disabled", "%q is the last enabled admin; enable or make another admin first", old.Username)
			}
			return portico.FieldErrorf(portico.EConflict, "roles", "%q is the last admin; make another user an admin first", old.Username)
		}
		if req.Email != nil {
			n.Email = *req.Email
		}
		if req.WebhookURL != nil {
			n.WebhookURL = *req.WebhookURL
		}
		if hash != "" {
			if self && old.PasswordHash != c.user.PasswordHash {
				return portico.FieldErrorf(portico.EConflict, "current_password", "the password was changed meanwhile; sign in with the new one")
			}
			n.PasswordHash = hash
		}
		n.UpdatedAt = t.now
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(out))
	return nil
}

// deleteUser deletes a user with its applications, their keys and their
// subscriptions, and takes it out of its groups. Users who own APIs or plans, and the last admin, stay.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins delete users")
	}
	id := r.PathValue("id")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		u := t.cfg.Users.Get(id)
		if u == nil {
			return notFound("user", id)
		}
		if !isAdmin(t.me) {
			return forbidden("only admins delete users")
		}
		if u.EnabledAdmin() && t.cfg.With(t.cfg.Version, portico.Delete(portico.KindUser, id)).CheckEnabledAdmin() != nil {
			return portico.Errorf(portico.EConflict, "%q is the last admin and cannot be deleted", u.Username)
		}
		if err := t.cfg.CheckDeleteUser(u); err != nil {
			return err
		}
		for _, app := range portico.Sorted(t.cfg.ApplicationsOf(id), appCreated) {
			deleteApp(t, app.ID)
		}
		for _, g := range portico.Sorted(t.cfg.GroupsOf(id), groupCreated) {
			t.put(withoutMember(g, id, t.now))
		}
		t.del(portico.KindUser, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkWebhookURL asks Server.CheckWebhookURL whether a webhook_url the
// request sets may be used.
func (s *Server) checkWebhookURL(ctx context.Context, u *string) error {
	if s.CheckWebhookURL == nil || u == nil || *u == "" {
		return nil
	}
	if err := s.CheckWebhookURL(ctx, *u); err != nil {
		return invalid("webhook_url", "webhook_url refused: %v", err)
	}
	return nil
}
