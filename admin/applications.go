package admin

import (
	"net/http"
	"time"

	"github.com/portico-gw/portico"
)

// applicationRequest is the body of POST and PUT /api/v1/applications.
type applicationRequest struct {
	serverFields
	Name        string `json:"name"`
	Description string `json:"description"`
	Owner       string `json:"owner"`
}

func (q *applicationRequest) check() error {
	if err := text("name", q.Name, true, maxName); err != nil {
		return err
	}
	return text("description", q.Description, false, maxDescription)
}

func appCreated(a *portico.Application) (int64, string) { return a.CreatedAt.UnixNano(), a.ID }
func keyCreated(k *portico.Key) (int64, string)         { return k.CreatedAt.UnixNano(), k.ID }

// deleteApp adds the changes that delete an application with its keys and
// subscriptions to t.
func deleteApp(t *tx, id string) {
	for _, k := range portico.Sorted(t.cfg.KeysOf(id), keyCreated) {
		t.del(portico.KindKey, k.ID)
	}
	for _, sub := range portico.Sorted(t.cfg.SubscriptionsOf(id), subCreated) {
		t.del(portico.KindSubscription, sub.ID)
	}
	t.del(portico.KindApplication, id)
}

// app returns the application id that u may see, or a not-found error.
func app(cfg *portico.Config, u *portico.User, id string) (*portico.Application, error) {
	a := cfg.Applications.Get(id)
	if a == nil || !canSeeApp(cfg, u, a) {
		return nil, notFound("application", id)
	}
	return a, nil
}

// managedApp returns the application id that u may change, or an error.
func managedApp(cfg *portico.Config, u *portico.User, id string) (*portico.Application, error) {
	a, err := app(cfg, u, id)
	if err != nil {
		return nil, err
	}
	if !canManageApp(u, a) {
		return nil, forbidden("only the application's owner or an admin may change it")
	}
	return a, nil
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := searchOf(r)
	if err != nil {
		return err
	}
	if isAdmin(c.user) {
		var keep func(*portico.Application, string) bool
		if q.q != "" {
			keep = func(a *portico.Application, text string) bool {
				return q.text(text, func() bool { return q.application(a) })
			}
		}
		return readOrdered(w, r, s.appOrder(c.cfg), keep, same)
	}
	apps := c.cfg.ApplicationsOf(c.user.ID).Map()
	for id := range appsSeenBy(c.cfg, c.user) {
		if a := c.cfg.Applications.Get(id); a != nil {
			apps[id] = a
		}
	}
	return readPage(w, r, portico.TableOf(apps), appCreated, q.application, same)
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := app(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	var req applicationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forCreate(); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	var out *portico.Application
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		owner, err := ownerFor(t, req.Owner, t.me.ID, false)
		if err != nil {
			return err
		}
		out = &portico.Application{
			ID:          portico.NewID(),
			Name:        req.Name,
			Description: req.Description,
			Owner:       owner,
			CreatedAt:   t.now,
			UpdatedAt:   t.now,
		}
		if err := t.cfg.CheckApplicationName(out); err != nil {
			return err
		}
		t.put(out)
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/applications/"+out.ID, out)
	return nil
}

// updateApplication replaces an application's name and description; only
// an admin may give it another owner.
func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	var req applicationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forUpdate(id); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	var out *portico.Application
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		old, err := managedApp(t.cfg, t.me, id)
		if err != nil {
			return err
		}
		owner, err := ownerFor(t, req.Owner, old.Owner, false)
		if err != nil {
			return err
		}
		n := *old
		n.Name, n.Description, n.Owner, n.UpdatedAt = req.Name, req.Description, owner, t.now
		if err := t.cfg.CheckApplicationName(&n); err != nil {
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

// deleteApplication deletes an application with its keys and
// subscriptions, in one write.
func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if _, err := managedApp(t.cfg, t.me, id); err != nil {
			return err
		}
		deleteApp(t, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keyView is a key as lists show it: never its text or hash.
type keyView struct {
	ID          string     `json:"id"`
	Application string     `json:"application"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	ExpiresAt   time.Time  `json:"expires_at,omitzero"`
}

func viewKey(k *portico.Key) keyView {
	return keyView{ID: k.ID, Application: k.ApplicationID, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, ExpiresAt: k.ExpiresAt}
}

// newKeyResponse is the answer to POST /applications/{id}/keys and to a
// rotation: the only time the key's text is shown. Rotated is the key the
// rotation replaced, with its expiry.
type newKeyResponse struct {
	ID          string    `json:"id"`
	Key         string    `json:"key"`
	Prefix      string    `json:"prefix"`
	Application string    `json:"application"`
	CreatedAt   time.Time `json:"created_at"`
	Rotated     *keyView  `json:"rotated,omitempty"`
}

// rotateRequest is the body of POST /applications/{id}/keys/{key}/rotate.
type rotateRequest struct {
	GraceSeconds *int64 `json:"grace_seconds"`
}

// keyPrefixLen is how many leading characters of a key are kept in clear.
const keyPrefixLen = 8

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := app(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	return readPage(w, r, c.cfg.KeysOf(a.ID), keyCreated, nil, viewKey)
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := app(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	k := c.cfg.Keys.Get(r.PathValue("key"))
	if k == nil || k.ApplicationID != a.ID {
		return notFound("key", r.PathValue("key"))
	}
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}

// newKeyText returns the text of a new random API key, "pk_" and 43
// base62 characters (256 bits).
func newKeyText() string { return "pk_" + randomBase62(43) }

// newKey returns a key of application appID with text, created at now;
// only its hash is stored.
func newKey(appID, text string, now time.Time) *portico.Key {
	return &portico.Key{
		ID:            portico.NewID(),
		ApplicationID: appID,
		Prefix:        text[:keyPrefixLen],
		Hash:          portico.HashKey(text),
		CreatedAt:     now,
	}
}

// createKey makes a new random API key and stores only its hash.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, c *call) error {
	appID := r.PathValue("id")
	text := newKeyText()
	var out *portico.Key
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if _, err := managedApp(t.cfg, t.me, appID); err != nil {
			return err
		}
		out = newKey(appID, text, t.now)
		t.put(out)
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/applications/"+appID+"/keys/"+out.ID, newKeyResponse{
		ID: out.ID, Key: text, Prefix: out.Prefix, Application: appID, CreatedAt: out.CreatedAt,
	})
	return nil
}

// rotateKey replaces a key: a new key, valid at once, and the old one
// ending after grace_seconds (0 to portico.MaxRotationGrace; 0 revokes it
// at once). A key that is revoked, or already ending, is not rotated
// (409): rotate the key that replaced it.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, c *call) error {
	appID, keyID := r.PathValue("id"), r.PathValue("key")
	var req rotateRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	maxGrace := int64(portico.MaxRotationGrace / time.Second)
	switch {
	case req.GraceSeconds == nil:
		return invalid("grace_seconds", "grace_seconds is required: how long the old key keeps working, 0 to %d seconds", maxGrace)
	case *req.GraceSeconds < 0 || *req.GraceSeconds > maxGrace:
		return invalid("grace_seconds", "grace_seconds must be from 0 to %d (24 hours)", maxGrace)
	}
	grace := time.Duration(*req.GraceSeconds) * time.Second
	text := newKeyText()
	var out, old *portico.Key
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if _, err := managedApp(t.cfg, t.me, appID); err != nil {
			return err
		}
		k := t.cfg.Keys.Get(keyID)
		if k == nil || k.ApplicationID != appID {
			return notFound("key", keyID)
		}
		if k.RevokedAt != nil {
			return portico.Errorf(portico.EConflict, "key %s is revoked; create a new key instead", keyID)
		}
		if !k.ExpiresAt.IsZero() {
			return portico.Errorf(portico.EConflict, "key %s was rotated already and ends at %s; rotate the key that replaced it",
				keyID, k.ExpiresAt.Format(time.RFC3339))
		}
		n := *k
		n.ExpiresAt = t.now.Add(grace)
		if grace == 0 {
			now := t.now
			n.RevokedAt = &now
		}
		out, old = newKey(appID, text, t.now), &n
		t.put(out)
		t.put(old)
		return nil
	})
	if err != nil {
		return err
	}
	rotated := viewKey(old)
	writeCreated(w, "/api/v1/applications/"+appID+"/keys/"+out.ID, newKeyResponse{
		ID: out.ID, Key: text, Prefix: out.Prefix, Application: appID, CreatedAt: out.CreatedAt, Rotated: &rotated,
	})
	return nil
}

// revokeKey marks a key revoked; revoking a revoked key changes nothing.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, c *call) error {
	appID, keyID := r.PathValue("id"), r.PathValue("key")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		if _, err := managedApp(t.cfg, t.me, appID); err != nil {
			return err
		}
		k := t.cfg.Keys.Get(keyID)
		if k == nil || k.ApplicationID != appID {
			return notFound("key", keyID)
		}
		if k.RevokedAt != nil {
			return nil
		}
		n := *k
		now := t.now
		n.RevokedAt = &now
		t.put(&n)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
