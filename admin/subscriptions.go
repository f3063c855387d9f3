package admin

import (
	"context"
	"fmt"
	"maps"
	"net/http"

	"github.com/portico-gw/portico"
)

// subscriptionRequest is the body of POST /applications/{id}/subscriptions.
type subscriptionRequest struct {
	API  string `json:"api"`
	Plan string `json:"plan"`
}

func subCreated(s *portico.Subscription) (int64, string) { return s.CreatedAt.UnixNano(), s.ID }

// subscriptionView is a subscription as GET shows it: with the names of
// its API, application and plan, so that a list needs no further calls to
// show them. A name the caller may not see (an API hidden from it) is left
// out, as is the name of an entity that is gone.
type subscriptionView struct {
	*portico.Subscription
	APIName         string `json:"api_name,omitempty"`
	APIVersion      string `json:"api_version,omitempty"`
	ApplicationName string `json:"application_name,omitempty"`
	PlanName        string `json:"plan_name,omitempty"`
}

// viewSub returns sub as u sees it in cfg.
func viewSub(cfg *portico.Config, u *portico.User, sub *portico.Subscription) subscriptionView {
	v := subscriptionView{Subscription: sub}
	if a := cfg.APIs.Get(sub.APIID); a != nil && cfg.CanSeeAPI(u, a) {
		v.APIName, v.APIVersion = a.Name, a.Version
	}
	if a := cfg.Applications.Get(sub.ApplicationID); a != nil && canSeeApp(cfg, u, a) {
		v.ApplicationName = a.Name
	}
	if p := cfg.Plans.Get(sub.PlanID); p != nil { // every caller may read every plan
		v.PlanName = p.Name
	}
	return v
}

// sub returns the subscription id that u may see, or a not-found error.
func sub(cfg *portico.Config, u *portico.User, id string) (*portico.Subscription, error) {
	s := cfg.Subscriptions.Get(id)
	if s == nil || !canSeeSub(cfg, u, s) {
		return nil, notFound("subscription", id)
	}
	return s, nil
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	status := portico.SubscriptionStatus(q.Get("status"))
	if q.Has("status") {
		if err := oneOf("status", status, portico.Pending, portico.Approved, portico.Cancelled, portico.Evicted); err != nil {
			return err
		}
	}
	api, application, subscriber := q.Get("api"), q.Get("application"), q.Get("subscriber")
	search, err := searchOf(r)
	if err != nil {
		return err
	}
	view := func(sub *portico.Subscription) subscriptionView { return viewSub(c.cfg, c.user, sub) }
	found := func(sub *portico.Subscription) bool { return search.subscription(c.cfg, c.user, sub) }
	keep := func(sub *portico.Subscription) bool {
		return (status == "" || sub.Status == status) &&
			(api == "" || sub.APIID == api) &&
			(application == "" || sub.ApplicationID == application) &&
			(subscriber == "" || ownedBy(c.cfg, sub.ApplicationID, subscriber)) &&
			canSeeSub(c.cfg, c.user, sub) &&
			found(sub)
	}
	// Walk the fewest subscriptions that hold every one listed.
	switch {
	case application != "":
		return readPage(w, r, c.cfg.SubscriptionsOf(application), subCreated, keep, view)
	case api != "":
		return readPage(w, r, c.cfg.SubscriptionsTo(api), subCreated, keep, view)
	case subscriber != "":
		subs := map[string]*portico.Subscription{}
		for app := range c.cfg.ApplicationsOf(subscriber).Values() {
			maps.Insert(subs, c.cfg.SubscriptionsOf(app.ID).All())
		}
		return readPage(w, r, portico.TableOf(subs), subCreated, keep, view)
	case !isAdmin(c.user):
		return readPage(w, r, visibleSubs(c.cfg, c.user), subCreated, keep, view)
	case search.q == "" && status == "":
		return readOrdered(w, r, s.subOrder(c.cfg), nil, view)
	}
	all := s.subOrder(c.cfg)
	if search.q != "" {
		// The subscriptions found are those of the applications and APIs
		// whose names match: gather them when they are few, else look
		// each subscription's application and API up in those found.
		apps, apis := search.subscriptionMatches(c.cfg, s.appOrder(c.cfg), s.apiOrder(c.cfg), c.user)
		n := 0
		for id := range apps {
			n += c.cfg.SubscriptionsOf(id).Len()
		}
		for id := range apis {
			n += c.cfg.SubscriptionsTo(id).Len()
		}
		found = func(sub *portico.Subscription) bool { return apps[sub.ApplicationID] || apis[sub.APIID] }
		if n <= len(all.items)/8 {
			subs := make(map[string]*portico.Subscription, n)
			for id := range apps {
				maps.Insert(subs, c.cfg.SubscriptionsOf(id).All())
			}
			for id := range apis {
				maps.Insert(subs, c.cfg.SubscriptionsTo(id).All())
			}
			return readPage(w, r, portico.TableOf(subs), subCreated, keep, view)
		}
	}
	return readOrdered(w, r, all, func(sub *portico.Subscription, _ string) bool { return keep(sub) }, view)
}

// ownedBy reports whether the application with ID app belongs to the user
// with ID owner.
func ownedBy(cfg *portico.Config, app, owner string) bool {
	a := cfg.Applications.Get(app)
	return a != nil && a.Owner == owner
}

func (s *Server) listApplicationSubscriptions(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := app(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	keep := func(sub *portico.Subscription) bool { return canSeeSub(c.cfg, c.user, sub) }
	view := func(sub *portico.Subscription) subscriptionView { return viewSub(c.cfg, c.user, sub) }
	return readPage(w, r, c.cfg.SubscriptionsOf(a.ID), subCreated, keep, view)
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, c *call) error {
	sub, err := sub(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewSub(c.cfg, c.user, sub))
	return nil
}

// createSubscription subscribes an application to a published or
// deprecated API under one of the plans the API offers. The subscription
// is approved at once if the plan auto-approves, else pending.
func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, c *call) error {
	appID := r.PathValue("id")
	var req subscriptionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.API == "" {
		return invalid("api", "api is required: the id of the API to subscribe to")
	}
	if req.Plan == "" {
		return invalid("plan", "plan is required: the id of one of the API's plans")
	}
	var (
		out *portico.Subscription
		n   *portico.Notification
	)
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		n = nil
		application, err := managedApp(t.cfg, t.me, appID)
		if err != nil {
			return err
		}
		a := t.cfg.APIs.Get(req.API)
		if a == nil || !t.cfg.CanSeeAPI(t.me, a) {
			return portico.FieldErrorf(portico.ENotFound, "api", "no API with id %q", req.API)
		}
		if err := t.cfg.CheckSubscribe(appID, a, req.Plan); err != nil {
			return err
		}
		p := t.cfg.Plans.Get(req.Plan)
		out = &portico.Subscription{
			ID:            portico.NewID(),
			ApplicationID: appID,
			APIID:         a.ID,
			PlanID:        p.ID,
			Status:        portico.Pending,
			CreatedAt:     t.now,
			UpdatedAt:     t.now,
		}
		if p.AutoApprove {
			out.Status = portico.Approved
		} else {
			n = &portico.Notification{
				ID:             portico.NewID(),
				Time:           t.now,
				Kind:           portico.NotifyPendingApprove,
				Message:        fmt.Sprintf("application %q asks to subscribe to API %q with plan %q", application.Name, a.Name, p.Name),
				APIID:          a.ID,
				ApplicationID:  appID,
				SubscriptionID: out.ID,
				Publisher:      a.Owner,
				Subscriber:     application.Owner,
			}
		}
		t.put(out)
		return nil
	})
	if err != nil {
		return err
	}
	if n != nil {
		s.notify(r.Context(), n)
	}
	writeCreated(w, "/api/v1/subscriptions/"+out.ID, out)
	return nil
}

// notify stores n; a failure is logged and does not fail the request, whose
// change is already saved.
func (s *Server) notify(ctx context.Context, n *portico.Notification) {
	if s.Notifications == nil {
		return
	}
	if err := s.Notifications.AddNotification(context.WithoutCancel(ctx), n); err != nil {
		s.log.Warn("admin: storing a notification failed", "kind", n.Kind, "err", err)
	}
}

// moderate returns the handler of approve, evict and lift: the API's
// owner or an admin moves a subscription as portico.Config.Transition says.
func (s *Server) moderate(act portico.SubscriptionAction) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id := r.PathValue("id")
		var out *portico.Subscription
		err := s.update(r.Context(), c.user.ID, func(t *tx) error {
			old, err := sub(t.cfg, t.me, id)
			if err != nil {
				return err
			}
			if !canModerateSub(t.cfg, t.me, old) {
				return forbidden("only the API's owner or an admin may %s a subscription", act)
			}
			to, err := t.cfg.Transition(old, act)
			if err != nil {
				return err
			}
			n := *old
			n.Status, n.UpdatedAt = to, t.now
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
}

// cancelSubscription ends a subscription. Its application's owner cancels
// it (cancelled: the application may subscribe again; an eviction stays
// an eviction, 409). Anyone else who sees it may moderate it, and evicts it
// (sticky), as POST /subscriptions/{id}/evict does. Ending an ended
// subscription changes nothing.
func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		old, err := sub(t.cfg, t.me, id)
		if err != nil {
			return err
		}
		act := portico.CancelSubscription
		if app := t.cfg.Applications.Get(old.ApplicationID); app == nil || app.Owner != t.me.ID {
			act = portico.EvictSubscription
			if old.Status == portico.Evicted {
				return nil
			}
		}
		to, err := t.cfg.Transition(old, act)
		if err != nil || to == old.Status {
			return err
		}
		n := *old
		n.Status, n.UpdatedAt = to, t.now
		t.put(&n)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
