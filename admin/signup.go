package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// Self sign-up: POST /api/v1/signup creates a subscriber without
// authentication when the sign-up mode (portico.SettingSignup) allows it.

const (
	// maxSignups is how many sign-up attempts one client address (as
	// sign-in throttling counts it: an IPv4 address, an IPv6 /64) may
	// make per signupPeriod, successful or not: enough for an office
	// behind one address, few for a script creating accounts or probing
	// which user names are taken.
	maxSignups = 10

	// signupPeriod is the window of the sign-up counters: fixed clock
	// hours.
	signupPeriod = portico.Hour
)

// signupRequest is the body of POST /api/v1/signup.
type signupRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
}

// signupSettings is the body of GET and PUT /api/v1/settings/signup, and
// the stored value of portico.SettingSignup.
type signupSettings struct {
	Mode portico.SignupMode `json:"mode"`
}

// memSettings keeps settings in a Server's memory, for a Store that is
// not a portico.SettingStore.
type memSettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *memSettings) Setting(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[name], nil
}

func (m *memSettings) SetSetting(_ context.Context, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[name] = value
	return nil
}

// settings returns where the Server keeps run-time settings: the Store
// when it is a portico.SettingStore, shared by every node, else memory.
func (s *Server) settings() portico.SettingStore {
	if ss, ok := s.Store.(portico.SettingStore); ok {
		return ss
	}
	return &s.memSettings
}

// SignupMode returns the sign-up mode in force: what the data store holds
// (portico.SettingSignup), SignupOff when nothing was set. A stored value
// this Portico cannot read counts as off, and is logged. The store is
// read at each call, so that every node of a cluster applies a change at
// once.
func (s *Server) SignupMode(ctx context.Context) (portico.SignupMode, error) {
	s.init()
	v, err := s.settings().Setting(ctx, portico.SettingSignup)
	if err != nil {
		return "", s.storeError("reading the sign-up setting", err)
	}
	if v == "" {
		return portico.SignupOff, nil
	}
	var st signupSettings
	if err := json.Unmarshal([]byte(v), &st); err != nil || checkSignupMode(st.Mode) != nil {
		s.log.Warn("admin: the stored sign-up setting is not readable; sign-up is off", "value", v, "err", err)
		return portico.SignupOff, nil
	}
	return st.Mode, nil
}

func checkSignupMode(m portico.SignupMode) error {
	return oneOf("mode", m, portico.SignupOff, portico.SignupOpen, portico.SignupApproval)
}

func (s *Server) getSignupSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins read settings")
	}
	mode, err := s.SignupMode(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signupSettings{Mode: mode})
	return nil
}

func (s *Server) putSignupSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change settings")
	}
	var in signupSettings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := checkSignupMode(in.Mode); err != nil {
		return err
	}
	b, _ := json.Marshal(in)
	if err := s.settings().SetSetting(r.Context(), portico.SettingSignup, string(b)); err != nil {
		return s.storeError("writing the sign-up setting", err)
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

// signup answers POST /api/v1/signup, the one route without
// authentication besides /healthz: a new user with the subscriber role,
// disabled and pending approval in approval mode. Every attempt counts
// against the client address's sign-ups (429 once used up); the new
// user's password follows the rules of POST /users and its email is
// required. Admins get a notification.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if err := s.signupUser(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) signupUser(w http.ResponseWriter, r *http.Request) error {
	mode, err := s.SignupMode(r.Context())
	if err != nil {
		return err
	}
	if mode != portico.SignupOpen && mode != portico.SignupApproval {
		return forbidden("sign-up is off: ask an admin for an account")
	}
	if err := s.countSignup(r); err != nil {
		return err
	}
	var req signupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkUsername(req.Username); err != nil {
		return err
	}
	if err := checkPassword(req.Password); err != nil {
		return err
	}
	if req.Email == "" {
		return invalid("email", "email is required")
	}
	if err := checkEmail(req.Email); err != nil {
		return err
	}
	hash, err := s.hashPassword(req.Password)
	if err != nil {
		return err
	}
	var (
		out  *portico.User
		note *portico.Notification
	)
	err = s.update(r.Context(), "", func(t *tx) error {
		if other := t.cfg.UserByName(req.Username); other != nil {
			return portico.FieldErrorf(portico.EConflict, "username", "username %q is taken", req.Username)
		}
		pending := mode == portico.SignupApproval
		out = &portico.User{
			ID:              portico.NewID(),
			Username:        req.Username,
			Email:           req.Email,
			Roles:           []portico.Role{portico.RoleSubscriber},
			PasswordHash:    hash,
			Disabled:        pending,
			PendingApproval: pending,
			CreatedAt:       t.now,
			UpdatedAt:       t.now,
		}
		t.put(out)
		msg := fmt.Sprintf("user %q (%s) signed up", out.Username, out.Email)
		if pending {
			msg += fmt.Sprintf("; approve it with POST /api/v1/users/%s/approve", out.ID)
		}
		note = &portico.Notification{
			ID: portico.NewID(), Time: t.now, Kind: portico.NotifySignup, Message: msg,
			Subscriber: out.ID, Admins: enabledAdmins(t.cfg),
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.notify(r.Context(), note)
	writeCreated(w, "/api/v1/users/"+out.ID, viewUser(out))
	return nil
}

// countSignup counts a sign-up attempt from r's client address in
// Server.SignInLimiter and refuses it with 429 once the address used up
// its sign-ups. Without a limiter nothing is counted; when the limiter
// fails the attempt goes uncounted (and is logged), as a failed sign-in
// does.
func (s *Server) countSignup(r *http.Request) error {
	if s.SignInLimiter == nil {
		return nil
	}
	spec := []portico.LimitSpec{{Key: "signup/addr/" + s.clientAddr(r), Limit: maxSignups, Per: signupPeriod,
		Window: portico.Fixed, OnError: portico.DatastoreLocal}}
	d, err := s.SignInLimiter.Take(context.WithoutCancel(r.Context()), s.now(), spec)
	if err != nil {
		s.log.Warn("admin: counting a sign-up failed", "err", err)
		return nil
	}
	if !d.Allowed {
		wait := max(d.RetryAfter, time.Second)
		return &throttled{
			err:   portico.Errorf(portico.ERateLimited, "too many sign-ups from this address; try again in %s seconds", retryAfter(wait)),
			after: wait,
		}
	}
	return nil
}

// enabledAdmins returns the IDs of the admins who can sign in, in
// creation order.
func enabledAdmins(cfg *portico.Config) []string {
	var ids []string
	for _, u := range portico.Sorted(cfg.Users, userCreated) {
		if u.EnabledAdmin() {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// approveUser answers POST /api/v1/users/{id}/approve: an admin enables a
// user who signed up pending approval.
func (s *Server) approveUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins approve users")
	}
	id := r.PathValue("id")
	var out *portico.User
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if !isAdmin(t.me) {
			return forbidden("only admins approve users")
		}
		u := t.cfg.Users.Get(id)
		if u == nil {
			return notFound("user", id)
		}
		if !u.PendingApproval {
			return portico.Errorf(portico.EConflict, "user %q is not waiting for approval", u.Username)
		}
		n := *u
		n.SetDisabled(false, t.now)
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
