package admin

import (
	"net/http"

	"github.com/portico-gw/portico"
)

// planRequest is the body of POST and PUT /api/v1/plans.
type planRequest struct {
	serverFields
	Name             string                       `json:"name"`
	Description      string                       `json:"description"`
	RateLimit        *portico.RateLimit           `json:"rate_limit"`
	Quota            *portico.Quota               `json:"quota"`
	AutoApprove      bool                         `json:"auto_approve"`
	OnDatastoreError portico.DatastoreErrorPolicy `json:"on_datastore_error"`
	Owner            string                       `json:"owner"`
	Shared           bool                         `json:"shared"`
}

// plan returns the validated plan the request describes, without server
// fields.
func (q *planRequest) plan() (*portico.Plan, error) {
	p := &portico.Plan{
		Name:             q.Name,
		Description:      q.Description,
		RateLimit:        q.RateLimit,
		Quota:            q.Quota,
		AutoApprove:      q.AutoApprove,
		OnDatastoreError: q.OnDatastoreError,
		Shared:           q.Shared,
	}
	return p, validatePlan(p)
}

func planCreated(p *portico.Plan) (int64, string) { return p.CreatedAt.UnixNano(), p.ID }

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := searchOf(r)
	if err != nil {
		return err
	}
	var keep func(*portico.Plan, string) bool
	if q.q != "" {
		keep = func(p *portico.Plan, text string) bool { return q.text(text, func() bool { return q.plan(p) }) }
	}
	if c.user == nil {
		offered := visitorPlans(c.cfg)
		text := keep
		keep = func(p *portico.Plan, t string) bool { return offered[p.ID] && (text == nil || text(p, t)) }
	}
	return readOrdered(w, r, s.planOrder(c.cfg), keep, same)
}

// visitorPlans returns the plans an anonymous visitor sees: those offered
// by the APIs it sees.
func visitorPlans(cfg *portico.Config) map[string]bool {
	offered := make(map[string]bool)
	for a := range cfg.APIs.Values() {
		if cfg.CanSeeAPI(nil, a) {
			for _, id := range a.Plans {
				offered[id] = true
			}
		}
	}
	return offered
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.cfg.Plans.Get(r.PathValue("id"))
	if p == nil || (c.user == nil && !visitorPlans(c.cfg)[p.ID]) {
		return notFound("plan", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only publishers and admins create plans")
	}
	var req planRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forCreate(); err != nil {
		return err
	}
	p, err := req.plan()
	if err != nil {
		return err
	}
	var out *portico.Plan
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		owner, err := ownerFor(t, req.Owner, t.me.ID, true)
		if err != nil {
			return err
		}
		n := *p
		n.ID, n.Owner, n.CreatedAt, n.UpdatedAt = portico.NewID(), owner, t.now, t.now
		if err := t.cfg.CheckPlanName(&n); err != nil {
			return err
		}
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/plans/"+out.ID, out)
	return nil
}

// updatePlan replaces a plan's settings; fields left out get their
// defaults.
func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	var req planRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forUpdate(id); err != nil {
		return err
	}
	p, err := req.plan()
	if err != nil {
		return err
	}
	var out *portico.Plan
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		old := t.cfg.Plans.Get(id)
		if old == nil {
			return notFound("plan", id)
		}
		if !canManagePlan(t.me, old) {
			return forbidden("only the plan's owner or an admin may change it")
		}
		owner, err := ownerFor(t, req.Owner, old.Owner, true)
		if err != nil {
			return err
		}
		n := *p
		n.ID, n.Owner, n.CreatedAt, n.UpdatedAt = old.ID, owner, old.CreatedAt, t.now
		if err := t.cfg.CheckPlanName(&n); err != nil {
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

// deletePlan deletes a plan that may be deleted
// (portico.Config.CheckDeletePlan: no API offers it, no pending or
// approved subscription uses it).
func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		p := t.cfg.Plans.Get(id)
		if p == nil {
			return notFound("plan", id)
		}
		if !canManagePlan(t.me, p) {
			return forbidden("only the plan's owner or an admin may delete it")
		}
		if err := t.cfg.CheckDeletePlan(p); err != nil {
			return err
		}
		t.del(portico.KindPlan, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
