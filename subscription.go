package portico

// The rules of subscriptions: who may take a new one, and how a status
// moves. Who may act (the application's owner, the API's owner, an admin)
// is the front end's rule; what each act does is here, so that every front
// end (admin API, console, config apply) applies the same.

// SubscriptionAction is something a person does to a subscription.
type SubscriptionAction string

// Subscription actions. The API's owner or an admin approves, evicts and
// lifts; the application's owner cancels.
const (
	// ApproveSubscription grants access: pending → approved. On an evicted
	// subscription it lifts the eviction and reinstates the subscription
	// (evicted → approved), if its plan is still offered and the
	// application has no other live subscription to the API.
	ApproveSubscription SubscriptionAction = "approve"

	// EvictSubscription withdraws access for good: pending, approved or
	// cancelled → evicted. The application cannot subscribe to the API
	// again until the eviction is lifted.
	EvictSubscription SubscriptionAction = "evict"

	// LiftEviction lifts an eviction without granting access: evicted →
	// cancelled. The application may then subscribe again.
	LiftEviction SubscriptionAction = "lift"

	// CancelSubscription is the application owner's goodbye: pending or
	// approved → cancelled; a cancelled subscription stays cancelled. An
	// evicted one stays evicted: cancelling is no way out of an eviction.
	CancelSubscription SubscriptionAction = "cancel"
)

// Transition returns the status subscription s moves to by act in c, or
// an EConflict error when act does not apply to s as it stands. Returning
// s.Status means that nothing changes (a cancel of a cancelled
// subscription).
func (c *Config) Transition(s *Subscription, act SubscriptionAction) (SubscriptionStatus, error) {
	switch act {
	case ApproveSubscription:
		switch s.Status {
		case Pending:
			return Approved, nil
		case Evicted:
			if err := c.checkReinstate(s); err != nil {
				return "", err
			}
			return Approved, nil
		}
	case EvictSubscription:
		switch s.Status {
		case Pending, Approved, Cancelled:
			return Evicted, nil
		}
	case LiftEviction:
		if s.Status == Evicted {
			return Cancelled, nil
		}
	case CancelSubscription:
		switch s.Status {
		case Pending, Approved, Cancelled:
			return Cancelled, nil
		case Evicted:
			return "", Errorf(EConflict, "subscription %s was evicted by the API's publisher or an admin; "+
				"cancelling does not undo an eviction: only they can lift it", s.ID)
		}
	default:
		return "", Errorf(EInvalid, "unknown subscription action %q", act)
	}
	return "", Errorf(EConflict, "cannot %s a subscription that is %s", act, s.Status)
}

// checkReinstate checks that evicted subscription s can become approved
// again: its plan still exists and is offered by its API, and its
// application has no other live subscription to the API.
func (c *Config) checkReinstate(s *Subscription) error {
	a := c.APIs.Get(s.APIID)
	if a == nil {
		return Errorf(EConflict, "the API of subscription %s no longer exists", s.ID)
	}
	if c.Plans.Get(s.PlanID) == nil || !a.OffersPlan(s.PlanID) {
		return FieldErrorf(EConflict, "plan", "API %q no longer offers plan %s of subscription %s; "+
			"lift the eviction with POST /api/v1/subscriptions/%s/lift and let the application subscribe again", a.Name, s.PlanID, s.ID, s.ID)
	}
	for o := range c.SubscriptionsOf(s.ApplicationID).Values() {
		if o.APIID == s.APIID && o.ID != s.ID && o.Status.Live() {
			return FieldErrorf(EConflict, "api", "the application already has a %s subscription (%s) to API %q; "+
				"lift the eviction with POST /api/v1/subscriptions/%s/lift instead", o.Status, o.ID, a.Name, s.ID)
		}
	}
	return nil
}

// CheckSubscribe checks that application appID may take a new subscription
// to API a under plan planID: a is published (else EConflict, field
// "api": a deprecated API keeps its subscribers and takes no new ones), offers the plan (else EInvalid, field "plan"), and the
// application has neither a live subscription to a nor an eviction from it
// (EConflict, field "api"). Whether the caller may see a and manage the
// application is the caller's check.
func (c *Config) CheckSubscribe(appID string, a *API, planID string) error {
	switch a.State {
	case Published:
	case Deprecated:
		return FieldErrorf(EConflict, "api", "API %q is deprecated: it serves its subscribers until it is retired, and takes no new subscriptions", a.Name)
	default:
		return FieldErrorf(EConflict, "api", "API %q is %s; only published APIs take subscriptions", a.Name, a.State)
	}
	if c.Plans.Get(planID) == nil || !a.OffersPlan(planID) {
		return FieldErrorf(EInvalid, "plan", "API %q does not offer plan %q", a.Name, planID)
	}
	name := appID
	if app := c.Applications.Get(appID); app != nil {
		name = app.Name
	}
	var live *Subscription
	for s := range c.SubscriptionsOf(appID).Values() {
		if s.APIID != a.ID {
			continue
		}
		switch {
		case s.Status == Evicted:
			return FieldErrorf(EConflict, "api", "application %q was evicted from API %q (subscription %s); "+
				"it cannot subscribe again until the API's publisher or an admin lifts the eviction", name, a.Name, s.ID)
		case s.Status.Live():
			live = s
		}
	}
	if live != nil {
		return FieldErrorf(EConflict, "api", "application %q already has a %s subscription to API %q (%s)", name, live.Status, a.Name, live.ID)
	}
	return nil
}
